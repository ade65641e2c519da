"""Document 000's claims, quoted word for word, and the checks that run them."""

# Document 000_573c4e67482a2f4b.txt: "Why does a TensorFlow 'Variable' have no trainable parameters?"

import numpy as np
import tensorflow as tf

from .common import Claim, Seen, code, leaf, outcome, ran, same, val, watching

# The document's three Python examples, exactly as written in 000_573c4e67482a2f4b.txt
# (tests/test_claims.py compares them with the document where it is at hand).

EXAMPLE_1 = """\
import tensorflow as tf

# Create a variable that won't be trained
non_trainable_var = tf.Variable(initial_value=tf.constant([1.0, 2.0]), trainable=False, name="non_trainable")

# Define a simple operation using the variable
x = tf.constant([3.0, 4.0])
y = x + non_trainable_var

# Define optimizer; this will not update non_trainable_var
optimizer = tf.keras.optimizers.Adam(learning_rate=0.01)

# Training step (this won't change non_trainable_var)
with tf.GradientTape() as tape:
    loss = tf.reduce_sum(y)
grads = tape.gradient(loss, [x, non_trainable_var])
optimizer.apply_gradients(zip(grads, [x, non_trainable_var]))

print(non_trainable_var.numpy())  # Output: [1. 2.]  - unchanged
"""

EXAMPLE_2 = """\
import tensorflow as tf

# Create a simple dense layer
model = tf.keras.Sequential([
    tf.keras.layers.Dense(units=1, input_shape=(2,), kernel_initializer='ones')
])

# Access the trainable variables within the layer
trainable_weights = model.trainable_variables

# Print the trainable variables (weights and biases)
for var in trainable_weights:
    print(var.name, var.shape)

# Define optimizer and training loop. Note that the optimizer implicitly handles the gradient calculations for these variables
optimizer = tf.keras.optimizers.SGD(learning_rate=0.01)

#Dummy data and training loop - this will update the layer's variables
x_train = tf.constant([[1.0, 2.0], [3.0, 4.0]])
y_train = tf.constant([[5.0], [7.0]])

for epoch in range(10):
  with tf.GradientTape() as tape:
      predictions = model(x_train)
      loss = tf.reduce_mean(tf.square(predictions - y_train))
  gradients = tape.gradient(loss, model.trainable_variables)
  optimizer.apply_gradients(zip(gradients, model.trainable_variables))


"""

EXAMPLE_3 = """\
import tensorflow as tf

# Create a variable, but it won't participate in training
intermediate_var = tf.Variable(initial_value=tf.constant([0.0]), name="intermediate")

# Calculation where the variable stores intermediate results
x = tf.constant([2.0])
y = x * x
intermediate_var.assign(y)  # Assign the value, but it won't affect gradients

# Actual training variable
trainable_var = tf.Variable(initial_value=tf.constant([1.0]), trainable=True)

# Define the loss function (not dependent on intermediate_var)
loss = trainable_var - 1.0

# Optimizer
optimizer = tf.keras.optimizers.Adam(learning_rate=0.1)

# Training
with tf.GradientTape() as tape:
    l = loss
grads = tape.gradient(l, [trainable_var])
optimizer.apply_gradients(zip(grads, [trainable_var]))

print(intermediate_var.numpy()) # Output will be [4.] - not updated during training
print(trainable_var.numpy())  # Output will be close to [0.] - updated during training.
"""

EXAMPLES = (EXAMPLE_1, EXAMPLE_2, EXAMPLE_3)


def trainable_is_a_flag_of_the_variable():
    """Is `trainable` missing from the variable (and held by its tensor instead)?"""
    v = tf.Variable([1.0, 2.0], trainable=False)
    tensor = v.read_value()
    return Seen(
        not hasattr(v, "trainable"),
        f"`tf.Variable([1.0, 2.0], trainable=False).trainable` is `{v.trainable}`; the tensor it "
        f"holds (`{type(tensor).__name__}`) has a `trainable` attribute: `{hasattr(tensor, 'trainable')}`",
    )


def unused_variable_is_left_alone():
    """Does `apply_gradients` leave alone a trainable variable the loss does not use?"""
    used, unused = tf.Variable(1.0, name="used"), tf.Variable(5.0, name="unused")
    with tf.GradientTape() as tape:
        loss = used * 3.0
    grads = tape.gradient(loss, [used, unused])
    with watching() as log:
        tf.keras.optimizers.SGD(0.1).apply_gradients(zip(grads, [used, unused], strict=True))
    return Seen(
        float(unused.numpy()) == 5.0 and float(used.numpy()) != 1.0,
        f"the gradient for a trainable variable the loss does not use is `{grads[1]}`; "
        f"`apply_gradients` moved the used one from `1.0` to `{val(used)}` and left the unused one at "
        f"`{val(unused)}`" + "".join(f"; warned {code(w)}" for w in log["warnings"]),
    )


def ex1_prints_unchanged_value():
    """Does 000's Example 1 print `[1. 2.]`?"""
    r = ran(EXAMPLE_1)
    return Seen(
        r.printed.strip() == "[1. 2.]",
        f"Example 1 {outcome(r)}; `non_trainable_var` still holds `{r.names['non_trainable_var'].numpy()}`",
    )


def ex1_gradient_for_constant():
    """Does 000's Example 1 get a gradient for the constant `x`?"""
    grads = ran(EXAMPLE_1).names["grads"]
    x = tf.constant([3.0, 4.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(x + tf.constant([1.0, 2.0]))
    return Seen(
        grads[0] is not None,
        f"in Example 1 `grads` is `{list(grads)}`; only with `tape.watch(x)` and the sum computed "
        f"inside the tape is the gradient for `x` `{tape.gradient(loss, x).numpy()}`",
    )


def ex2_lists_kernel_and_bias():
    """Does 000's Example 2 print exactly the kernel and the bias?"""
    r = ran(EXAMPLE_2)
    found = sorted(leaf(v) for v in r.names["trainable_weights"])
    return Seen(found == ["bias", "kernel"], f"Example 2 {outcome(r)}")


def ex2_training_updates_the_layer():
    """Does 000's Example 2 move the kernel and bias away from their initial values?"""
    r = ran(EXAMPLE_2)
    kernel, bias = r.names["model"].layers[0].weights
    return Seen(
        not r.error
        and not same(kernel, np.ones((2, 1), "float32"))
        and not same(bias, np.zeros(1, "float32")),
        f"after the 10 steps the kernel (initialised to ones) is `{val(kernel, 3)}` "
        f"and the bias (zeros) is `{val(bias, 3)}`",
    )


def ex3_prints_intermediate():
    """Does 000's Example 3 print `[4.]` first?"""
    r = ran(EXAMPLE_3)
    return Seen(
        r.printed.splitlines()[:1] == ["[4.]"],
        f"Example 3 {outcome(r)}; `intermediate_var` holds `{r.names['intermediate_var'].numpy()}`",
    )


def ex3_trains_towards_zero():
    """Does 000's Example 3 print a trained value close to `[0.]`?"""
    r = ran(EXAMPLE_3)
    v = tf.Variable([1.0])
    with tf.GradientTape() as tape:
        loss = v - 1.0
    tf.keras.optimizers.Adam(learning_rate=0.1).apply_gradients(
        zip(tape.gradient(loss, [v]), [v], strict=True)
    )
    lines = r.printed.splitlines()
    return Seen(
        len(lines) == 2 and abs(float(lines[1].strip("[]"))) < 0.1,
        f"Example 3 {outcome(r)}: `loss` was computed before the tape started, so `grads` is "
        f"`{r.names['grads']}`; with the loss inside the tape, one Adam step gives `{val(v)}`",
    )


CLAIMS = (
    Claim(
        "000-trainable-flag",
        "the `Variable` object itself doesn't intrinsically define whether its contained tensor is trainable or not",
        "Whether a variable is trainable is not a property of the `tf.Variable` object.",
        trainable_is_a_flag_of_the_variable,
        "Trainability is a flag of the `tf.Variable` itself, set with `trainable=` when it is created and read with `v.trainable`; the tensor it holds has no such flag.",
    ),
    Claim(
        "000-unused-ignored",
        "it will not be updated during training. The optimizer simply ignores it.",
        "A variable the loss does not use gets no update.",
        unused_variable_is_left_alone,
        "True: its gradient is `None`, and `apply_gradients` skips a `None` gradient with a warning (it raises an error only when every gradient is `None`).",
    ),
    Claim(
        "000-ex1-output",
        "print(non_trainable_var.numpy()) # Output: [1. 2.] - unchanged",
        "Example 1 runs and prints `[1. 2.]`.",
        ex1_prints_unchanged_value,
        "Example 1 crashes in `apply_gradients` (it hands the optimizer a constant, `x`, and two `None` gradients) before it prints anything, although the variable does keep `[1. 2.]`.",
    ),
    Claim(
        "000-ex1-gradient-x",
        "The optimizer will compute gradients with respect to `x`",
        "In Example 1 there is a gradient for `x`.",
        ex1_gradient_for_constant,
        "The tape, not the optimizer, computes gradients, and it returns `None` for `x`: a tape follows only trainable variables and what you pass to `tape.watch`, and `y` was computed before the tape started.",
    ),
    Claim(
        "000-ex2-weights-biases",
        "# Print the trainable variables (weights and biases)",
        "Example 2 prints the Dense layer's kernel and bias, the model's two trainable variables.",
        ex2_lists_kernel_and_bias,
        "True; Keras 3 names them `kernel` and `bias` and warns that `input_shape=` is deprecated in favour of a `tf.keras.Input(shape=...)` first layer, while Keras 2 names them `dense/kernel:0` and `dense/bias:0`.",
    ),
    Claim(
        "000-ex2-updates",
        "#Dummy data and training loop - this will update the layer's variables",
        "Example 2's training loop changes the Dense layer's kernel and bias.",
        ex2_training_updates_the_layer,
        "True: both move away from their initial values.",
    ),
    Claim(
        "000-ex3-intermediate",
        "print(intermediate_var.numpy()) # Output will be [4.] - not updated during training",
        "Example 3 prints `[4.]` for `intermediate_var`.",
        ex3_prints_intermediate,
        "Example 3 crashes before this line (see 000-ex3-trained), although `intermediate_var` does hold `[4.]`: `assign` stores a value and has nothing to do with training.",
    ),
    Claim(
        "000-ex3-trained",
        "print(trainable_var.numpy()) # Output will be close to [0.] - updated during training.",
        "Example 3 trains `trainable_var` to about `[0.]` and prints it.",
        ex3_trains_towards_zero,
        "The loss is computed before the `GradientTape` starts, so there is no gradient and `apply_gradients` raises `ValueError`; with the loss inside the tape, one Adam step moves the variable by about the learning rate, to `[0.9]`.",
    ),
)
