"""Document 001's claims, quoted word for word, and the checks that run them."""

# Document 001_ee1eae99ef4df45e.txt: "How can I create non-trainable variables in TensorFlow v2?"

from functools import cache

import numpy as np
import tensorflow as tf

from .common import Claim, Seen, code, leaf, outcome, printed_value, ran, run, same, split, val

# The document's three Python examples, exactly as written in 001_ee1eae99ef4df45e.txt
# (tests/test_claims.py compares them with the document where it is at hand). Two lines end
# in two spaces in the document, written `\x20\x20` here so that no editor strips them.

EXAMPLE_1 = """\
import tensorflow as tf

# Create a non-trainable scalar variable
non_trainable_scalar = tf.Variable(5.0, trainable=False, name="non_trainable_constant")

# Verify trainable status
print(f"Is the variable trainable? {non_trainable_scalar.trainable}")

# Observe that attempting to assign a new value won't trigger errors.
non_trainable_scalar.assign(10.0) # No error, value changes directly
print(f"Value of non-trainable scalar: {non_trainable_scalar.numpy()}")


#Attempting to access gradients will show lack of update.
with tf.GradientTape() as tape:
  loss = non_trainable_scalar * 2

grads = tape.gradient(loss, non_trainable_scalar)
print(f"Gradient of non-trainable scalar: {grads}") # Output: None
"""

EXAMPLE_2 = """\
import tensorflow as tf

class MyModel(tf.keras.Model):
    def __init__(self):
        super(MyModel, self).__init__()
        self.embedding_matrix = tf.Variable(tf.random.normal([10, 5]), trainable=False, name="embedding_matrix")
        self.dense_layer = tf.keras.layers.Dense(1)

    def call(self, inputs):
        embedded = tf.nn.embedding_lookup(self.embedding_matrix, inputs)
        return self.dense_layer(embedded)

# Initialize the model
model = MyModel()

# Verify the embedding matrix's trainable status
print(f"Is the embedding matrix trainable? {model.embedding_matrix.trainable}")

# Compile and train (embedding_matrix will remain unchanged). This example is simplified for demonstration.\x20\x20
optimizer = tf.keras.optimizers.Adam()
loss_fn = tf.keras.losses.MeanSquaredError()

for i in range(10):
  with tf.GradientTape() as tape:
    outputs = model(tf.constant([0,1,2,3,4,5,6,7,8,9])) #Example input
    loss = loss_fn(outputs, tf.constant([[1],[2],[3],[4],[5],[6],[7],[8],[9],[10]]))
  grads = tape.gradient(loss, model.trainable_variables)
  optimizer.apply_gradients(zip(grads, model.trainable_variables))
"""

EXAMPLE_3 = """\
import tensorflow as tf

learning_rate = tf.Variable(0.001, trainable=False, name="learning_rate")

#Define the optimizer with a non-trainable learning rate.

optimizer = tf.keras.optimizers.Adam(learning_rate=learning_rate)

#Demonstrating the ability to change non-trainable hyperparameters during training
learning_rate.assign(0.0001)

#Rest of training loop would proceed using the updated learning rate.  This is an illustrative example.\x20\x20
#A more realistic scenario would involve conditional changes in learning rate based on performance.
"""

EXAMPLES = (EXAMPLE_1, EXAMPLE_2, EXAMPLE_3)


def trainable_is_the_default():
    """Are a new `tf.Variable` and a new Keras weight trainable?"""
    variable = tf.Variable(1.0)
    layer = tf.keras.layers.Dense(1)
    layer.build((None, 2))
    return Seen(
        variable.trainable and layer.kernel.trainable,
        f"`tf.Variable(1.0).trainable` is `{variable.trainable}`; a Dense layer's kernel has "
        f"`trainable` `{layer.kernel.trainable}`",
    )


def ex1_prints_status():
    """Does 001's Example 1 print that its variable is not trainable?"""
    r = ran(EXAMPLE_1)
    line = "Is the variable trainable?"
    return Seen(printed_value(r, line) == "False", f"Example 1 {outcome(r, line)}")


def ex1_assign_works():
    """Does `assign` on 001's non-trainable variable work and print the new value?"""
    r = ran(EXAMPLE_1)
    line = "Value of non-trainable scalar:"
    return Seen(not r.error and printed_value(r, line) == "10.0", f"Example 1 {outcome(r, line)}")


def ex1_gradient_is_none():
    """Does 001's Example 1 print a `None` gradient?"""
    r = ran(EXAMPLE_1)
    line = "Gradient of non-trainable scalar:"
    v = tf.Variable(5.0, trainable=False)
    with tf.GradientTape() as tape:
        tape.watch(v)
        loss = v * 2
    return Seen(
        printed_value(r, line) == "None",
        f"Example 1 {outcome(r, line)}; with `tape.watch(non_trainable_scalar)` the gradient is "
        f"`{tape.gradient(loss, v).numpy()}`: the tape, not the variable, decides",
    )


def could_is_untestable():
    """A claim with "could" and no condition: nothing to run."""
    return Seen(
        None,
        "a “could” with no condition attached: no run can show it false. What running code does "
        "show is that Keras changes non-trainable variables in every training step on purpose "
        "(see 001-initial-value) and that `assign` on one works (001-ex1-assign)",
    )


def non_trainable_values_can_change():
    """Do a model's non-trainable variables keep their values during `fit`?"""
    layer = tf.keras.layers.BatchNormalization()
    model = tf.keras.Sequential([tf.keras.Input((2,)), layer])
    model.compile(optimizer="sgd", loss="mse")
    before = [v.numpy().copy() for v in layer.non_trainable_weights]
    x = np.repeat(np.arange(8.0)[:, None], 2, axis=1)
    model.fit(x, np.zeros_like(x), batch_size=8, epochs=1, shuffle=False, verbose=0)
    moved = [
        leaf(v) for v, b in zip(layer.non_trainable_weights, before, strict=True) if not same(v, b)
    ]
    return Seen(
        not moved,
        f"`BatchNormalization` keeps {', '.join(code(leaf(v)) for v in layer.non_trainable_weights)} "
        f"as non-trainable variables; one `fit` step moved `moving_mean` from `{val(before[0], 3)}` to "
        f"`{val(layer.moving_mean, 3)}` (changed: {', '.join(moved) or 'none'})",
    )


@cache
def _embedding_example():
    """Run 001's Example 2, keeping a copy of the embedding matrix from before the loop."""
    head, loop = split(EXAMPLE_2, "for i in range(10):")
    names = {}
    run(head, names)
    before = names["model"].embedding_matrix.numpy().copy()
    return run(loop, names), before


def ex2_embedding_unchanged():
    """Does 001's Example 2 leave its embedding matrix bit-identical?"""
    r, before = _embedding_example()
    after = r.names["model"].embedding_matrix
    return Seen(
        same(after, before),
        f"the training loop {outcome(r)}; `embedding_matrix` bit-identical afterwards: "
        f"`{same(after, before)}`",
    )


def ex2_dense_layer_trained():
    """Does 001's Example 2 run its 10 training steps?"""
    r, _ = _embedding_example()
    steps = int(r.names["optimizer"].iterations.numpy())
    return Seen(
        not r.error and steps == 10,
        f"the training loop {outcome(r)}; the optimizer applied {steps} updates; the loss is "
        f"`{r.names['loss'].dtype.name}` (`loss_fn(outputs, targets)` passes the model's outputs as `y_true`)",
    )


def ex2_model_tracks_embedding():
    """Is a `tf.Variable` attribute of a Keras model among the model's weights?"""
    r, _ = _embedding_example()
    model = r.names["model"]
    tracked = any(w is model.embedding_matrix for w in model.weights)
    return Seen(
        tracked,
        f"`model.weights` is `{[leaf(w) for w in model.weights]}`; "
        f"`model.non_trainable_weights` is `{[leaf(w) for w in model.non_trainable_weights]}`",
    )


def ex3_assign_reaches_optimizer():
    """Does assigning to 001's learning-rate variable change the optimizer's rate?"""
    r = ran(EXAMPLE_3)
    if r.error:
        return Seen(False, f"Example 3 {outcome(r)}")
    rate = float(tf.convert_to_tensor(r.names["optimizer"].learning_rate))
    return Seen(
        abs(rate - 0.0001) < 1e-9,
        f"Example 3 {outcome(r)}; after `learning_rate.assign(0.0001)` the optimizer's learning "
        f"rate is `{rate:.6g}`: Adam copied the variable's value when it was built",
    )


CLAIMS = (
    Claim(
        "001-default-trainable",
        "the default behavior where `trainable` is implicitly set to `True`",
        "Variables are trainable unless told otherwise.",
        trainable_is_the_default,
        "True for `tf.Variable` and for the weights Keras layers create.",
    ),
    Claim(
        "001-ex1-status",
        "The output explicitly confirms its non-trainable status",
        "Example 1 prints that the variable is not trainable.",
        ex1_prints_status,
        "True: it prints `False`.",
    ),
    Claim(
        "001-ex1-assign",
        "attempting to assign a new value won't trigger errors",
        "`assign` works on a non-trainable variable.",
        ex1_assign_works,
        "True: `trainable=False` only keeps gradients away; the value can be assigned at any time.",
    ),
    Claim(
        "001-ex1-gradient-none",
        'print(f"Gradient of non-trainable scalar: {grads}") # Output: None',
        "The tape gives no gradient for a non-trainable variable.",
        ex1_gradient_is_none,
        "True, because the tape does not watch non-trainable variables; after `tape.watch(v)` it computes their gradient like any other.",
    ),
    Claim(
        "001-unpredictable",
        "Attempting to modify a non-trainable variable during training, even indirectly, could lead to unpredictable results or errors.",
        "Changing a non-trainable variable during training can cause errors.",
        could_is_untestable,
        "Nothing here is specific to non-trainable variables: assigning to them is an ordinary, deterministic operation, and Keras does it in every training step (batch-normalization statistics, step counters).",
    ),
    Claim(
        "001-initial-value",
        "preserving its initial value throughout the model's training lifetime",
        "A non-trainable variable keeps its initial value during training.",
        non_trainable_values_can_change,
        "`trainable=False` only means no gradient updates: `BatchNormalization`'s non-trainable moving mean and variance change in every training step, and any code may `assign` to such a variable.",
    ),
    Claim(
        "001-ex2-embedding-unchanged",
        "embedding_matrix will remain unchanged",
        "Example 2's training loop leaves `embedding_matrix` unchanged.",
        ex2_embedding_unchanged,
        "True under both, but under Keras 2 only because the loop crashes in its first step (see 001-ex2-dense-trained).",
    ),
    Claim(
        "001-ex2-dense-trained",
        "The training loop updates only the trainable dense layer weights",
        "Example 2's training loop updates the Dense layer.",
        ex2_dense_layer_trained,
        "Only under Keras 3: the loop calls `loss_fn(outputs, targets)` with the arguments swapped, and Keras 2 casts `y_true` (here the model's outputs) to the integer targets' dtype, which cuts the gradient, so the first `apply_gradients` raises `ValueError`; write `loss_fn(targets, outputs)`.",
    ),
    Claim(
        "001-ex2-tracked",
        "a pre-trained word embedding matrix (`embedding_matrix`) is incorporated as a non-trainable variable within a Keras model",
        "The model lists `embedding_matrix` among its (non-trainable) weights.",
        ex2_model_tracks_embedding,
        "Only Keras 2 tracks a `tf.Variable` stored as a model attribute; Keras 3 ignores it (so `model.weights` and saved weights leave it out): create it with `self.add_weight(..., trainable=False)` instead.",
    ),
    Claim(
        "001-ex3-learning-rate",
        "Modifying the `learning_rate` variable directly updates the optimizer",
        "After `learning_rate.assign(0.0001)` the optimizer uses 0.0001.",
        ex3_assign_reaches_optimizer,
        "Keras 3 rejects a `tf.Variable` learning rate with `ValueError`, and Keras 2 copies its value when the optimizer is built, so `assign` never reaches the optimizer; set `optimizer.learning_rate = 0.0001` or use a learning-rate schedule.",
    ),
)
