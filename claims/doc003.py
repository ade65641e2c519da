"""Document 003's claims, quoted word for word, and the checks that run them."""

# Document 003_cb960b49ea4d6ef6.txt: "Why is a TensorFlow variable unfrozen within a graph?"

import numpy as np
import tensorflow as tf

from .common import Claim, Seen, outcome, printed_value, ran, run, same, split
from .doc002 import optimizer_ignores_non_trainable  # 003-apply-ignores states the same fact

# The document's three Python examples, exactly as written in 003_cb960b49ea4d6ef6.txt
# (tests/test_claims.py compares them with the document where it is at hand).

EXAMPLE_1 = """\
import tensorflow as tf

# Create a trainable variable
var1 = tf.Variable(initial_value=1.0, trainable=True, name="trainable_var")
print(f"var1 is trainable: {var1.trainable}")  # Output: True

# Create a frozen variable
var2 = tf.Variable(initial_value=2.0, trainable=False, name="frozen_var")
print(f"var2 is trainable: {var2.trainable}")  # Output: False

# Demonstrate how a frozen variable is not updated during an optimization
optimizer = tf.optimizers.SGD(learning_rate=0.1)

with tf.GradientTape() as tape:
    loss = tf.square(var1 - 3) + tf.square(var2 - 5)
gradients = tape.gradient(loss, [var1, var2])
optimizer.apply_gradients(zip(gradients, [var1, var2]))

print(f"var1 value after update: {var1.numpy()}") # var1 will change
print(f"var2 value after update: {var2.numpy()}") # var2 will NOT change
"""

EXAMPLE_2 = """\
import tensorflow as tf

# Create a frozen variable
var3 = tf.Variable(initial_value=3.0, trainable=False, name="initially_frozen_var")
print(f"var3 initially trainable: {var3.trainable}")  # Output: False

# Make it trainable
var3.trainable = True
print(f"var3 now trainable: {var3.trainable}") # Output: True

# Demonstrate the effect of making a variable trainable
optimizer = tf.optimizers.SGD(learning_rate=0.1)
with tf.GradientTape() as tape:
    loss = tf.square(var3 - 1)
gradients = tape.gradient(loss, var3)
optimizer.apply_gradients(zip([gradients], [var3]))

print(f"var3 value after update: {var3.numpy()}") # var3 will change
"""

EXAMPLE_3 = """\
import tensorflow as tf
from tensorflow import keras
import numpy as np

# Example with a Keras Model
input_shape = (10,)
model = keras.Sequential([
    keras.layers.Dense(units=5, activation='relu', input_shape=input_shape),
    keras.layers.Dense(units=2, activation='softmax')
])
# Initial training of entire model
X_train = np.random.rand(100, 10)
y_train = np.random.randint(0, 2, size=(100))
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
              loss='sparse_categorical_crossentropy',
              metrics=['accuracy'])
model.fit(X_train, y_train, epochs = 5, verbose = 0) # trained on the sample data

# Freeze the first layer
model.layers[0].trainable = False
print(f"First layer trainable: {model.layers[0].trainable}")

# Demonstrate how to train a later layer of a network
X_train_2 = np.random.rand(100, 10)
y_train_2 = np.random.randint(0, 2, size=(100))
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
              loss='sparse_categorical_crossentropy',
              metrics=['accuracy'])

# Train the last layer while the first one stays frozen, for 5 epochs
model.fit(X_train_2, y_train_2, epochs=5, verbose = 0)

# Unfreeze the first layer
model.layers[0].trainable = True
print(f"First layer trainable: {model.layers[0].trainable}")
# Now the entire model is trainable
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
              loss='sparse_categorical_crossentropy',
              metrics=['accuracy'])
# Train the whole model for another 5 epochs.
model.fit(X_train_2, y_train_2, epochs = 5, verbose = 0)

"""

EXAMPLES = (EXAMPLE_1, EXAMPLE_2, EXAMPLE_3)


def case1_var1_changes():
    """Does 003's Case 1 print a new value for `var1`?"""
    r = ran(EXAMPLE_1)
    line = "var1 value after update:"
    return Seen(printed_value(r, line) not in (None, "1.0"), f"Case 1 {outcome(r, line)}")


def case1_var2_unchanged():
    """Does 003's Case 1 print `2.0` for `var2`?"""
    r = ran(EXAMPLE_1)
    line = "var2 value after update:"
    return Seen(printed_value(r, line) == "2.0", f"Case 1 {outcome(r, line)}")


def case1_gradient_for_var2():
    """Does 003's Case 1 compute a gradient for the frozen `var2`?"""
    r = ran(EXAMPLE_1)
    grads = r.names["gradients"]
    shown = [None if g is None else float(g.numpy()) for g in grads]
    return Seen(grads[1] is not None, f"in Case 1 `gradients` is `{shown}` for `[var1, var2]`")


def case2_trainable_can_be_set():
    """Does 003's Case 2 make `var3` trainable by assigning to `trainable`?"""
    r = ran(EXAMPLE_2)
    line = "var3 now trainable:"
    return Seen(printed_value(r, line) == "True", f"Case 2 {outcome(r)}")


def _fit_moves_first_layer(frozen_at_compile, frozen_then, recompile):
    """Compile and fit, change the first layer's `trainable`, fit again: did the layer's kernel move?"""
    x = np.random.default_rng(0).random((32, 10), dtype="float32")
    y = np.arange(32) % 2
    keras = tf.keras
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(5), keras.layers.Dense(2)])
    model.layers[0].trainable = not frozen_at_compile
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    model.layers[0].trainable = not frozen_then
    if recompile:
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    before = model.layers[0].kernel.numpy().copy()
    model.fit(x, y, epochs=1, verbose=0)
    return not same(model.layers[0].kernel, before)


def case3_trainable_needs_compile():
    """Does `fit` ignore a change of `trainable` until the next `compile`?"""
    freeze = _fit_moves_first_layer(False, True, recompile=False)
    unfreeze = _fit_moves_first_layer(True, False, recompile=False)
    freeze_compiled = _fit_moves_first_layer(False, True, recompile=True)
    unfreeze_compiled = _fit_moves_first_layer(True, False, recompile=True)
    word = {True: "moved", False: "stayed bit-identical"}
    return Seen(
        freeze and not unfreeze and not freeze_compiled and unfreeze_compiled,
        f"changing the first layer's `trainable` after `compile`, then `fit` again: without a new "
        f"`compile`, a layer frozen this way {word[freeze]} and a layer unfrozen this way "
        f"{word[unfreeze]}; after a new `compile`, the frozen layer {word[freeze_compiled]} and "
        f"the unfrozen one {word[unfreeze_compiled]}",
    )


def case3_first_layer_stays_frozen():
    """In 003's Case 3, does the second `fit` leave the frozen layer alone and train the last?"""
    head, middle, _ = split(EXAMPLE_3, "# Train the last layer", "# Unfreeze the first layer")
    first = run(head)
    model = first.names["model"]
    before = [w.numpy().copy() for w in model.weights]
    second = run(middle, first.names)
    moved = [not same(w, b) for w, b in zip(model.weights, before, strict=True)]
    n = len(model.layers[0].weights)
    return Seen(
        not second.error and not any(moved[:n]) and all(moved[n:]),
        f"Case 3 up to the unfreezing {outcome(first)}; during the second `fit` the first layer's "
        f"weights stayed bit-identical: `{not any(moved[:n])}`, the last layer's all moved: `{all(moved[n:])}`",
    )


CLAIMS = (
    Claim(
        "003-case1-var1",
        'print(f"var1 value after update: {var1.numpy()}") # var1 will change',
        "Case 1 prints a new value for `var1`.",
        case1_var1_changes,
        "True: one SGD step moves `var1` from 1.0 to 1.4.",
    ),
    Claim(
        "003-case1-var2",
        'print(f"var2 value after update: {var2.numpy()}") # var2 will NOT change',
        "Case 1 prints `var2` unchanged.",
        case1_var2_unchanged,
        "True: it prints `2.0`.",
    ),
    Claim(
        "003-gradients-calculated",
        "The key here is not that gradients are never *calculated* for `var2` – they are –",
        "The tape computes a gradient for the frozen `var2`.",
        case1_gradient_for_var2,
        "The tape computes no gradient for `var2` (it returns `None`), because it does not watch non-trainable variables; `apply_gradients` then skips the `None` with a warning.",
    ),
    Claim(
        "003-apply-ignores",
        "those gradients are ignored when `apply_gradients` updates the variable's value",
        "`apply_gradients` ignores gradients for non-trainable variables.",
        optimizer_ignores_non_trainable,
        "`apply_gradients` applies a gradient to any variable, trainable or not; a frozen variable is safe only because the tape gives it no gradient.",
    ),
    Claim(
        "003-case2-set-trainable",
        "by accessing its `trainable` attribute, its value is changed dynamically",
        "`var3.trainable = True` makes a `tf.Variable` trainable.",
        case2_trainable_can_be_set,
        "A `tf.Variable`'s `trainable` is read-only (`AttributeError`), fixed when it is created: make a new variable with `tf.Variable(var3, trainable=True)`, or use `tape.watch(var3)`; a Keras layer's `trainable`, by contrast, can be changed.",
    ),
    Claim(
        "003-case3-recompile",
        "`model.compile` needs to be re-invoked for the new `trainable` status to take effect in the optimizer",
        "After changing a layer's `trainable`, `fit` ignores the change until `compile` is called again.",
        case3_trainable_needs_compile,
        "True under both: `fit` reuses the training function built at `compile` time, so call `compile` again after freezing or unfreezing.",
    ),
    Claim(
        "003-case3-frozen",
        "# Train the last layer while the first one stays frozen, for 5 epochs",
        "In Case 3, the second `fit` leaves the frozen first layer unchanged and trains the last layer.",
        case3_first_layer_stays_frozen,
        "True, because the model was compiled again after freezing; Keras 3 also warns that `input_shape=` is deprecated in favour of a `keras.Input(shape=...)` first layer.",
    ),
)
