"""Document 002's claims, quoted word for word, and the checks that run them."""

# Document 002_2e3c18d1a8a51326.txt: "How can TensorFlow operations be made non-trainable?"

import statistics
import time

import tensorflow as tf

from .common import Claim, Seen, leaf, outcome, ran, same, val

# The document's three Python examples, exactly as written in 002_2e3c18d1a8a51326.txt
# (tests/test_claims.py compares them with the document where it is at hand).

EXAMPLE_1 = """\
import tensorflow as tf

# Assume 'embedding_matrix' is a pre-trained embedding matrix loaded from a file.
embedding_matrix = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=tf.float32)

# Input indices
input_indices = tf.constant([0, 1])

# Embedding lookup
embedded_vectors = tf.nn.embedding_lookup(embedding_matrix, input_indices)

# Apply stop_gradient to prevent the embedding from being updated
frozen_embeddings = tf.stop_gradient(embedded_vectors)

# Use the frozen embeddings in subsequent layers
# ... further model layers ...

# Define optimizer and loss
optimizer = tf.keras.optimizers.Adam()
# ...loss calculation...

# Training loop
with tf.GradientTape() as tape:
  # ...forward pass using frozen_embeddings...
  loss = ...

gradients = tape.gradient(loss, model.trainable_variables) # model.trainable_variables excludes frozen_embeddings.
optimizer.apply_gradients(zip(gradients, model.trainable_variables))
"""

EXAMPLE_2 = """\
import tensorflow as tf

# Create a non-trainable bias term
bias = tf.Variable(tf.zeros([1]), trainable=False)

# Create a trainable weight matrix
weights = tf.Variable(tf.random.normal([10, 1]), trainable=True)

# Define a simple linear layer
def linear_layer(x):
  return tf.matmul(x, weights) + bias

# ... rest of the model ...
# ... optimizer and training loop ...
"""

EXAMPLE_3 = """\
import tensorflow as tf

# Pre-trained convolutional layer
conv_layer = tf.keras.layers.Conv2D(32, (3, 3), weights=[tf.Variable(tf.random.normal([3,3,3,32]), trainable=False), tf.Variable(tf.zeros([32]), trainable=False)]) # weights set as non-trainable

# Input tensor
input_tensor = tf.random.normal([1, 28, 28, 3])

# Feature extraction using the pre-trained layer
features = conv_layer(input_tensor)

# Subsequent layers
dense_layer = tf.keras.layers.Dense(10)
# only dense_layer weights will be updated

# prevent further gradient updates
frozen_features = tf.stop_gradient(features)

output = dense_layer(frozen_features)

#loss and training loop
#...
"""

EXAMPLES = (EXAMPLE_1, EXAMPLE_2, EXAMPLE_3)


def stop_gradient_blocks():
    """Is the gradient through `tf.stop_gradient` `None`?"""
    w = tf.Variable(3.0)
    with tf.GradientTape(persistent=True) as tape:
        blocked, plain = tf.stop_gradient(w * 2.0), w * 2.0
    g_blocked, g_plain = tape.gradient(blocked, w), tape.gradient(plain, w)
    return Seen(
        g_blocked is None and g_plain is not None,
        f"the gradient of `tf.stop_gradient(w * 2.0)` for `w` is `{g_blocked}`; without "
        f"`tf.stop_gradient` it is `{g_plain.numpy()}`",
    )


def optimizer_ignores_non_trainable():
    """Does an optimizer refuse to update a `trainable=False` variable it is handed a gradient for?"""
    v = tf.Variable(1.0, trainable=False)
    tf.keras.optimizers.SGD(learning_rate=0.1).apply_gradients([(tf.constant(1.0), v)])
    return Seen(
        float(v.numpy()) == 1.0,
        f"`SGD(learning_rate=0.1).apply_gradients([(1.0, v)])` on a `trainable=False` variable "
        f"moved it from `1.0` to `{val(v)}`",
    )


SPEED_MARGIN, SPEED_REPEATS, SPEED_STEPS = 0.10, 5, 120
SPEED_RULE = (
    f"true only if the `trainable=False` step is more than {SPEED_MARGIN:.0%} faster (median time "
    f"per step) than the `tf.stop_gradient` step in each of {SPEED_REPEATS} repeats, run eagerly "
    "or inside `tf.function`"
)


def _frozen_layer_step(freeze_with, compiled):
    """One SGD step of a 256-256-10 network whose first layer is frozen by `freeze_with`."""
    w1 = tf.Variable(
        tf.random.normal((256, 256), seed=1) * 0.05, trainable=freeze_with == "stop_gradient"
    )
    w2 = tf.Variable(tf.random.normal((256, 10), seed=2) * 0.05)
    x, y = tf.random.normal((64, 256), seed=3), tf.random.normal((64, 10), seed=4)
    optimizer = tf.keras.optimizers.SGD(0.01)

    def step():
        with tf.GradientTape() as tape:
            hidden = tf.nn.relu(x @ w1)
            if freeze_with == "stop_gradient":
                hidden = tf.stop_gradient(hidden)
            loss = tf.reduce_mean(tf.square(hidden @ w2 - y))
        optimizer.apply_gradients(zip(tape.gradient(loss, [w2]), [w2], strict=True))

    step = tf.function(step) if compiled else step
    step()  # build the optimizer (and trace) before timing
    return step


def trainable_false_is_faster(steps=SPEED_STEPS, repeats=SPEED_REPEATS):
    """Does freezing with `trainable=False` train faster than with `tf.stop_gradient`? (See SPEED_RULE.)"""
    figures, met = [], False
    for mode in ("eager", "tf.function"):
        frozen, stopped = (
            _frozen_layer_step(f, mode != "eager") for f in ("trainable=False", "stop_gradient")
        )
        medians, speedups = [], []
        for _ in range(repeats):
            times = ([], [])
            for i in range(steps):  # alternate, so a busy moment slows both alike
                for k in (0, 1) if i % 2 else (1, 0):
                    start = time.perf_counter()
                    (frozen, stopped)[k]()
                    times[k].append(time.perf_counter() - start)
            a, b = statistics.median(times[0]), statistics.median(times[1])
            medians.append((a, b))
            speedups.append(1 - a / b)
        met = met or min(speedups) > SPEED_MARGIN
        figures.append(
            f"{mode}: median ms per step (trainable=False vs stop_gradient) "
            + ", ".join(f"{a * 1e3:.3f} vs {b * 1e3:.3f}" for a, b in medians)
            + "; speed-up of trainable=False "
            + ", ".join(f"{s:+.1%}" for s in speedups)
        )
    return Seen(
        met,
        f"rule: {SPEED_RULE}. Measured on a 256-256-10 network with its first layer frozen, "
        f"batch 64, SGD, {steps} alternating steps of each variant per repeat: the rule was "
        f"{'met' if met else 'not met'} (the exact figures of each run are in `--json`, field `measurements`)",
        "; ".join(figures),
    )


def ex1_stop_gradient_output_is_a_tensor():
    """Is 002's `frozen_embeddings` something a variable list could hold?"""
    r = ran(EXAMPLE_1)
    frozen = r.names["frozen_embeddings"]
    return Seen(
        not isinstance(frozen, tf.Variable),
        f"`frozen_embeddings` is of type `{type(frozen).__name__}`, not a variable, and so is "
        f"`embedding_matrix`: `{type(r.names['embedding_matrix']).__name__}`, a constant; Example 1 {outcome(r)}",
    )


def stop_gradient_also_freezes_the_matrix():
    """Does a trainable matrix still get a gradient through `tf.stop_gradient` on its lookup?"""
    matrix, scale = tf.Variable([[1.0, 2.0], [3.0, 4.0]]), tf.Variable(1.0)
    with tf.GradientTape() as tape:
        frozen = tf.stop_gradient(tf.nn.embedding_lookup(matrix, [0, 1]))
        loss = tf.reduce_sum(frozen * scale)
    grads = tape.gradient(loss, [matrix, scale])
    return Seen(
        grads[0] is not None,
        f"with `embedding_matrix` a trainable `tf.Variable`, the gradient for it through "
        f"`tf.stop_gradient(tf.nn.embedding_lookup(...))` is `{grads[0]}`, so no optimizer step can change it",
    )


def ex2_bias_stays():
    """Does training 002's `linear_layer` change `weights` and leave `bias` alone?"""
    r = ran(EXAMPLE_2)
    weights, bias, linear_layer = (r.names[n] for n in ("weights", "bias", "linear_layer"))
    w0, b0 = weights.numpy().copy(), bias.numpy().copy()
    optimizer = tf.keras.optimizers.SGD(0.1)
    for _ in range(3):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(linear_layer(tf.ones((4, 10))) - 1.0))
        grads = tape.gradient(loss, [weights, bias])
        optimizer.apply_gradients(
            [(g, v) for g, v in zip(grads, [weights, bias], strict=True) if g is not None]
        )
    return Seen(
        same(bias, b0) and not same(weights, w0),
        f"Example 2 ran; in 3 SGD steps on its `linear_layer` the gradient for `bias` is `{grads[1]}` and "
        f"`bias` stays `{val(bias)}`; `weights` changed: `{not same(weights, w0)}`",
    )


def ex3_conv_weights_frozen():
    """Does 002's `Conv2D(weights=[...])` give a layer with no trainable weights?"""
    r = ran(EXAMPLE_3)
    if r.error:
        return Seen(False, f"Example 3 {outcome(r)}")
    layer = r.names["conv_layer"]
    given = [
        tf.Variable(tf.ones((1, 1, 1, 1)), trainable=False),
        tf.Variable([0.5], trainable=False),
    ]
    probe = tf.keras.layers.Conv2D(1, 1, weights=given)
    probe(tf.ones((1, 2, 2, 1)))
    copied = all(w is not g and same(w, g) for w, g in zip(probe.weights, given, strict=True))
    return Seen(
        not layer.trainable_weights,
        f"Example 3 ran; `conv_layer.trainable_weights` is `{[leaf(w) for w in layer.trainable_weights]}`; "
        f"a small `Conv2D(weights=given)` holds new variables with the given values: `{copied}`",
    )


CLAIMS = (
    Claim(
        "002-stop-gradient",
        "This function is applied to a tensor to prevent its gradients from propagating backward during backpropagation.",
        "No gradient flows back through `tf.stop_gradient`.",
        stop_gradient_blocks,
        "True: everything upstream of `tf.stop_gradient` gets a `None` gradient from that path.",
    ),
    Claim(
        "002-optimizer-ignores",
        "This directly informs the optimizer to ignore this variable during optimization.",
        "An optimizer will not update a `trainable=False` variable.",
        optimizer_ignores_non_trainable,
        "The optimizer never looks at `trainable` and updates any variable it is handed a gradient for; what leaves a non-trainable variable alone is the tape, which does not watch it, and Keras, which leaves it out of `trainable_variables`.",
    ),
    Claim(
        "002-speed",
        "better performance compared to `tf.stop_gradient` in many scenarios",
        "Freezing with `trainable=False` trains faster than freezing with `tf.stop_gradient`.",
        trainable_false_is_faster,
        "Both ways skip the same backward computation, so they train at about the same speed: choose by meaning (a variable that never trains, or a path that gradients must not take), not by speed.",
    ),
    Claim(
        "002-ex1-excludes",
        "model.trainable_variables excludes frozen_embeddings.",
        "`model.trainable_variables` does not contain `frozen_embeddings`.",
        ex1_stop_gradient_output_is_a_tensor,
        "True but empty: `frozen_embeddings` is a tensor, and variable lists hold only variables; the example's embedding matrix is a constant that could never train, and the example stops with `NameError` because it never defines `model`.",
    ),
    Claim(
        "002-ex1-only-output",
        "only the *output* of the embedding lookup is frozen, not the `embedding_matrix` itself",
        "`tf.stop_gradient` on the lookup's output still lets the embedding matrix train.",
        stop_gradient_also_freezes_the_matrix,
        "Blocking the output's gradient also blocks the only path to the matrix, so the matrix gets a `None` gradient and is frozen too.",
    ),
    Claim(
        "002-ex2-bias",
        "During training, the optimizer will only update `weights`, leaving `bias` unchanged.",
        "Training Example 2's `linear_layer` changes `weights` and leaves `bias` alone.",
        ex2_bias_stays,
        "True, because the tape gives `bias` a `None` gradient; the optimizer itself would update `bias` if handed a gradient for it (see 002-optimizer-ignores).",
    ),
    Claim(
        "002-ex3-conv-weights",
        "# weights set as non-trainable",
        "Passing `trainable=False` variables as `weights=` to `Conv2D` gives a layer with frozen weights.",
        ex3_conv_weights_frozen,
        "Keras 3 rejects the `weights=` argument, and Keras 2 copies the values into the layer's own trainable variables; freeze a layer with `conv_layer.trainable = False`.",
    ),
)
