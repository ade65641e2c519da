"""Lesson 04's own claims, quoted word for word from the lesson, and the checks that run them.

Lesson 04 (notebooks/04_transfer_learning.ipynb) answers no document: its claims are its own
sentences. They are checked like the documents' claims, under Keras 3 and legacy Keras 2, on
small models built here (a Dense base with a BatchNormalization layer, or the lesson's own
convolutional base where a count depends on it), so the ledger needs nothing outside this package.
"""

import contextlib
import io
import os
import tempfile

import numpy as np
import tensorflow as tf

from .common import Claim, Seen, same

# The lesson's notebook and title; the ledger's page puts these claims in a section of their own.
LESSON = ("04_transfer_learning.ipynb", "Transfer learning end to end, offline")


class LessonClaim(Claim):
    """A claim of lesson 04: its source is the lesson's notebook, not a document."""

    __slots__ = ()

    @property
    def seed(self):
        """The lesson's notebook file name."""
        return LESSON[0]


def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 6)).astype("float32"), np.arange(n) % 2


def _base():
    """A small base like the lesson's: a layer, BatchNormalization, two more layers."""
    keras = tf.keras
    return keras.Sequential(
        [
            keras.Input(shape=(6,)),
            keras.layers.Dense(4, name="d1"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.Dense(4, name="d2"),
            keras.layers.Dense(4, name="d3"),
        ],
        name="base",
    )


def _model(base, training_false=False):
    """The base under a 2-way Dense head, as a functional model."""
    keras = tf.keras
    inputs = keras.Input(shape=(6,))
    features = base(inputs, training=False) if training_false else base(inputs)
    return keras.Model(inputs, keras.layers.Dense(2, name="head")(features))


def _compile(model, optimizer=None):
    model.compile(
        optimizer=optimizer or tf.keras.optimizers.SGD(learning_rate=0.05),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )


def _values(variables):
    return [np.array(v.numpy()) for v in variables]


def _moved(variables, before):
    return [not same(v.numpy(), b) for v, b in zip(variables, before, strict=True)]


def _inner(variable):
    """The tf.Variable holding the value: the variable itself (Keras 2) or the one inside (Keras 3)."""
    return variable if isinstance(variable, tf.Variable) else variable.value


def _statistics(bn):
    return [bn.moving_mean, bn.moving_variance]


def freezing_a_model_freezes_its_layers():
    """Does `base.trainable = False` set every inner layer's flag to False?"""
    base = _base()
    base.trainable = False
    flags = [layer.trainable for layer in base.layers]
    return Seen(
        not any(flags), f"after `base.trainable = False` the inner layers' flags are `{flags}`"
    )


def summary_counts():
    """Does `model.summary()` count 18 trainable and 1,280 non-trainable parameters for the lesson's model?"""
    keras = tf.keras
    base = keras.Sequential(
        [
            keras.Input(shape=(12, 12, 1)),
            keras.layers.Conv2D(8, 3, activation="relu", name="conv1"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.Conv2D(8, 3, activation="relu", name="conv2"),
            keras.layers.Conv2D(8, 3, activation="relu", name="conv3"),
        ],
        name="base",
    )
    base.trainable = False
    inputs = keras.Input(shape=(12, 12, 1))
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(base(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2, name="head")(pooled))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        model.summary(print_fn=lambda text, **_: print(text))
    lines = [" ".join(x.split()) for x in printed.getvalue().splitlines() if "params:" in x]
    counts = [x for x in lines if x.startswith(("Trainable params:", "Non-trainable params:"))]
    numbers = [int(c.split(":")[1].split()[0].replace(",", "")) for c in counts]
    shown = " / ".join(c.split(" (")[0] for c in counts)
    return Seen(
        numbers == [18, 1280], f"the lesson's model (base frozen) has a summary that says `{shown}`"
    )


def frozen_layer_keeps_trainable_tf_variable():
    """Is the tf.Variable inside a frozen layer still trainable=True, and watched by a tape?"""
    base = _base()
    base.trainable = False
    layer = base.get_layer("d1")
    inner = _inner(layer.kernel)
    x, _ = _data()
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x))
    gradient = tape.gradient(loss, inner)
    return Seen(
        inner.trainable and gradient is not None,
        f"in a frozen layer, the kernel's `tf.Variable` has `trainable={inner.trainable}`; "
        f"a tape without `watch` gives it a gradient: `{gradient is not None}`",
    )


def head_training_keeps_base():
    """Does fit() with the base frozen leave every base variable bit-identical, BN statistics included?"""
    base = _base()
    base.trainable = False
    model = _model(base)
    _compile(model)
    before, head_before = _values(base.weights), _values(model.get_layer("head").weights)
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    base_moved = sum(_moved(base.weights, before))
    head_moved = all(_moved(model.get_layer("head").weights, head_before))
    return Seen(
        base_moved == 0 and head_moved,
        f"4 `fit()` steps with the base frozen: {base_moved} of the base's "
        f"{len(base.weights)} variables changed, the head's all moved: `{head_moved}`",
    )


def bn_changes_statistics_in_forward_pass():
    """Does one call of a trainable BN layer with training=True, no tape, change its moving statistics?"""
    bn = tf.keras.layers.BatchNormalization()
    x, _ = _data()
    bn.build(x.shape)
    before = _values(_statistics(bn))
    bn(x + 3.0, training=True)
    moved = _moved(_statistics(bn), before)
    flags = [v.trainable for v in _statistics(bn)]
    return Seen(
        all(moved),
        f"one call with `training=True`, no tape, no optimizer: moving mean and variance "
        f"changed `{moved}`; their flags are `{flags}`",
    )


def frozen_bn_is_in_inference_mode():
    """Does a frozen BN layer called with training=True give the inference output and keep its statistics?"""
    bn = tf.keras.layers.BatchNormalization()
    x, _ = _data()
    bn.build(x.shape)
    bn(x + 3.0, training=True)  # statistics away from their initial values
    bn.trainable = False
    before = _values(_statistics(bn))
    as_training = bn(x, training=True).numpy()
    as_inference = bn(x, training=False).numpy()
    moved = any(_moved(_statistics(bn), before))
    alike = same(as_training, as_inference)
    return Seen(
        alike and not moved,
        f"a frozen layer called with `training=True`: output bit-identical to `training=False`: "
        f"`{alike}`; moving statistics changed: `{moved}`",
    )


def fit_overrides_training_false():
    """With base(inputs, training=False) in a functional model and the base unfrozen, does fit() change BN's statistics?"""
    base = _base()
    model = _model(base, training_false=True)
    _compile(model, tf.keras.optimizers.SGD(learning_rate=1e-4))
    statistics = _statistics(base.get_layer("bn"))
    before = _values(statistics)
    x, y = _data()
    model.fit(x + 3.0, y, batch_size=32, epochs=1, verbose=0)
    moved = any(_moved(statistics, before))
    return Seen(
        moved,
        f"base unfrozen, model built with `base(inputs, training=False)`, one `fit()` step: "
        f"BatchNormalization's moving statistics changed: `{moved}`",
    )


def direct_training_false_holds():
    """Does calling an unfrozen base directly with training=False leave BN's statistics alone?"""
    base = _base()
    statistics = _statistics(base.get_layer("bn"))
    before = _values(statistics)
    x, _ = _data()
    base(x + 3.0, training=False)
    moved = any(_moved(statistics, before))
    with_true = _base()
    with_true(x + 3.0, training=True)
    control = any(_moved(_statistics(with_true.get_layer("bn")), before))
    return Seen(
        not moved and control,
        f"an unfrozen base called directly: with `training=False` the moving statistics changed: "
        f"`{moved}`; with `training=True`: `{control}`",
    )


def fine_tuning_moves_exactly_the_top():
    """Unfreeze the top two layers of a frozen base, recompile, fit: do exactly they and the head move?"""
    base = _base()
    base.trainable = False
    model = _model(base)
    _compile(model)
    x, y = _data()
    base.trainable = True
    for layer in base.layers[:-2]:
        layer.trainable = False
    _compile(model, tf.keras.optimizers.SGD(learning_rate=0.005, momentum=0.9))
    expected = [w for layer in base.layers[-2:] for w in layer.weights]
    expected += model.get_layer("head").weights
    before = _values(model.weights)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    moved = _moved(model.weights, before)
    wanted = [any(w is e for e in expected) for w in model.weights]
    return Seen(
        moved == wanted,
        f"after recompiling, `fit()` moved {sum(moved)} variables; exactly the top two layers' "
        f"and the head's ({sum(wanted)}): `{moved == wanted}`",
    )


def true_again_changes_nothing():
    """Frozen inner layers, then model.trainable = True while it already says True: do they stay frozen?"""
    base = _base()
    for layer in base.layers[:2]:
        layer.trainable = False
    base.trainable = True
    again = [layer.trainable for layer in base.layers]
    base.trainable = False
    base.trainable = True
    through_false = [layer.trainable for layer in base.layers]
    return Seen(
        again[:2] == [False, False] and all(through_false),
        f"two inner layers frozen, then `base.trainable = True`: flags `{again}`; "
        f"then `= False` and `= True`: `{through_false}`",
    )


def _step(model, optimizer, x, y):
    """One hand-written step over the model's trainable variables."""
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    variables = model.trainable_variables
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))


def _head_trained_then_unfrozen():
    """A compiled model whose optimizer has trained the head (two steps), then its top layer unfrozen."""
    base = _base()
    base.trainable = False
    model = _model(base)
    _compile(model)
    x, y = _data()
    for _ in range(2):
        _step(model, model.optimizer, x, y)
    base.trainable = True
    for layer in base.layers[:-1]:
        layer.trainable = False
    return model, x, y


def _refusal(action):
    """(the optimizer refused with Keras 3's `Unknown variable`?, how `action` failed, in words)."""
    try:
        action()
    except Exception as e:  # what fails, and how, is the evidence
        kind, message = type(e).__name__, str(e)
    else:
        return False, "no error"
    if "Unknown variable" in message:
        return kind == "ValueError", f"`{kind}: Unknown variable`"
    if "cannot recognize variable" in message:
        return False, f"`{kind}`: the optimizer cannot recognize the variable"
    return False, f"`{kind}`"


def reused_optimizer_fails_in_fit():
    """Recompiling with the head's optimizer after unfreezing: does fit() raise ValueError: Unknown variable?"""
    model, x, y = _head_trained_then_unfrozen()
    _compile(model, model.optimizer)
    holds, said = _refusal(lambda: model.fit(x, y, batch_size=8, epochs=1, verbose=0))
    return Seen(
        holds, f"`fit()` after recompiling with the optimizer that trained the head: {said}"
    )


def reused_optimizer_fails_in_a_loop():
    """In a hand-written step, does the head's optimizer raise ValueError: Unknown variable after unfreezing?"""
    base = _base()
    base.trainable = False
    model = _model(base)
    optimizer = tf.keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)
    x, y = _data()
    _step(model, optimizer, x, y)  # builds the optimizer for the head's variables
    base.trainable = True
    for layer in base.layers[:-1]:
        layer.trainable = False
    holds, said = _refusal(lambda: _step(model, optimizer, x, y))
    return Seen(holds, f"`apply_gradients` with the head's optimizer after unfreezing: {said}")


def stepping_over_variables_moves_frozen_layers():
    """Does a step over model.variables (base frozen) move the base's kernels?"""
    base = _base()
    base.trainable = False
    model = _model(base)
    optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    kernels = [base.get_layer(name).kernel for name in ("d1", "d2", "d3")]
    before = _values(kernels)
    x, y = _data()
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    gradients = tape.gradient(loss, model.variables)
    pairs = [(g, v) for g, v in zip(gradients, model.variables, strict=True) if g is not None]
    optimizer.apply_gradients(pairs)
    moved = _moved(kernels, before)
    return Seen(
        all(moved),
        f"one step over `model.variables` with the base frozen: the base's three kernels "
        f"moved `{moved}`",
    )


def stale_tf_function_keeps_old_list():
    """A tf.function step traced with the base frozen: after unfreezing, does it still train only the head?"""
    base = _base()
    base.trainable = False
    model = _model(base)
    optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(x, y):
        variables = model.trainable_variables
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))

    x, y = _data()
    step(x, y)
    base.trainable = True
    base.get_layer("bn").trainable = False
    before, head_before = _values(base.trainable_weights), _values(model.get_layer("head").weights)
    step(x, y)
    base_moved = sum(_moved(base.trainable_weights, before))
    head_moved = all(_moved(model.get_layer("head").weights, head_before))
    return Seen(
        base_moved == 0 and head_moved,
        f"traced with the base frozen, called after unfreezing it: {base_moved} of the "
        f"{len(before)} now-trainable base variables moved, the head moved: `{head_moved}`",
    )


def _fine_tuned_model():
    """A model halfway through fine-tuning: top layer unfrozen, SGD with momentum after 3 steps."""
    model, x, y = _head_trained_then_unfrozen()
    _compile(model, tf.keras.optimizers.SGD(learning_rate=0.005, momentum=0.9))
    for _ in range(3):
        _step(model, model.optimizer, x, y)
    return model, x, y


def _flags(model):
    return [layer.trainable for layer in model.get_layer("base").layers]


def keras_file_keeps_flags_weights_optimizer():
    """After a .keras round trip: same flags, bit-identical weights, the optimizer's step count and variables?"""
    model, _, _ = _fine_tuned_model()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "fine_tuned.keras")
        model.save(path)
        restored = tf.keras.models.load_model(path)
    flags = _flags(restored) == _flags(model)
    weights = all(
        same(a.numpy(), b.numpy()) for a, b in zip(restored.weights, model.weights, strict=True)
    )
    steps = int(restored.optimizer.iterations) == int(model.optimizer.iterations) > 0
    mine, theirs = restored.optimizer.variables, model.optimizer.variables
    if callable(mine):  # Keras 2's optimizer has variables() as a method
        mine, theirs = mine(), theirs()
    state = len(mine) == len(theirs) and all(
        same(a.numpy(), b.numpy()) for a, b in zip(mine, theirs, strict=True)
    )
    return Seen(
        flags and weights and steps and state,
        f"after saving and loading: flags kept `{flags}`, weights bit-identical `{weights}`, "
        f"step count kept `{steps}`, optimizer variables bit-identical `{state}`",
    )


def new_optimizer_takes_another_step():
    """Does the resumed copy take the original's next step bit for bit, and a recompiled copy a different one?"""
    model, x, y = _fine_tuned_model()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "fine_tuned.keras")
        model.save(path)
        resumed = tf.keras.models.load_model(path)
        restarted = tf.keras.models.load_model(path)
    _compile(restarted, tf.keras.optimizers.SGD(learning_rate=0.005, momentum=0.9))
    steps = []
    for copy in (model, resumed, restarted):
        before = _values(copy.trainable_variables)
        _step(copy, copy.optimizer, x, y)
        steps.append([v.numpy() - b for v, b in zip(copy.trainable_variables, before, strict=True)])
    resumed_same = all(same(a, b) for a, b in zip(steps[1], steps[0], strict=True))
    restarted_same = all(same(a, b) for a, b in zip(steps[2], steps[0], strict=True))
    return Seen(
        resumed_same and not restarted_same,
        f"the next step of the resumed copy is the original's, bit for bit: `{resumed_same}`; "
        f"of the copy recompiled with a new optimizer: `{restarted_same}`",
    )


CLAIMS = (
    LessonClaim(
        "lesson04-freeze-inner-layers",
        "`base.trainable = False` on a model sets the flag of every layer inside it.",
        "Setting `trainable = False` on a model sets it on every layer inside.",
        freezing_a_model_freezes_its_layers,
        "True under both.",
    ),
    LessonClaim(
        "lesson04-summary-counts",
        "The summary's last lines count parameters: 18 trainable (the head: 8 × 2 weights and 2 "
        "biases) and 1,280 non-trainable (the whole base: 80 + 32 + 584 + 584).",
        "With the base frozen, `model.summary()` counts 18 trainable and 1,280 non-trainable parameters.",
        summary_counts,
        "True under both (Keras 2 prints the count without the thousands separator).",
    ),
    LessonClaim(
        "lesson04-inner-variable",
        "on the TensorFlow backend freezing changes only the Keras flag: the `tf.Variable` inside "
        "a frozen layer stays `trainable=True`, so a `GradientTape` still watches it.",
        "The `tf.Variable` of a frozen layer stays trainable and watched.",
        frozen_layer_keeps_trainable_tf_variable,
        "True under both on the TensorFlow backend: list `trainable_variables` in a hand-written step.",
    ),
    LessonClaim(
        "lesson04-head-training",
        "Training the head with `fit()` leaves every variable of the frozen base bit-identical, "
        "its BatchNormalization moving statistics included.",
        "`fit()` with the base frozen changes no variable of the base.",
        head_training_keeps_base,
        "True under both.",
    ),
    LessonClaim(
        "lesson04-bn-forward-pass",
        "A trainable BatchNormalization layer changes its moving statistics in the forward pass, "
        "with no gradient and no optimizer involved.",
        "A call with `training=True` changes a trainable BatchNormalization layer's non-trainable statistics.",
        bn_changes_statistics_in_forward_pass,
        "True under both.",
    ),
    LessonClaim(
        "lesson04-bn-frozen-inference",
        "A frozen BatchNormalization layer runs in inference mode even when it is called with "
        "`training=True`: it normalizes with its moving statistics and leaves them bit-identical.",
        "A frozen BatchNormalization layer ignores `training=True`.",
        frozen_bn_is_in_inference_mode,
        "True under both.",
    ),
    LessonClaim(
        "lesson04-fit-overrides-training-false",
        "In a functional model under Keras 3, `fit()` overrides `base(inputs, training=False)`: "
        "once the base is unfrozen, BatchNormalization's moving statistics change.",
        "`fit()` changes BatchNormalization's statistics despite `base(inputs, training=False)` once the base is unfrozen.",
        fit_overrides_training_false,
        "True under Keras 3 only, as the lesson says: legacy Keras 2 keeps the `training=False` of the functional model; under Keras 3, freeze the BatchNormalization layers or call the base directly with `training=False`.",
    ),
    LessonClaim(
        "lesson04-direct-training-false",
        "an argument given to the layer's own call is not overridden",
        "Calling an unfrozen base directly with `training=False` leaves BatchNormalization's statistics bit-identical.",
        direct_training_false_holds,
        "True under both.",
    ),
    LessonClaim(
        "lesson04-exactly-the-top",
        "After unfreezing the top two layers and recompiling, `fit()` moves exactly those layers "
        "and the head; every other variable of the base stays bit-identical.",
        "After unfreezing the top two layers and recompiling, `fit()` moves exactly them and the head.",
        fine_tuning_moves_exactly_the_top,
        "True under both.",
    ),
    LessonClaim(
        "lesson04-reused-optimizer-fit",
        "Recompiling with the optimizer that trained the head makes the next `fit()` fail with "
        "`ValueError: Unknown variable`.",
        "`fit()` after recompiling with the head's optimizer raises `ValueError: Unknown variable`.",
        reused_optimizer_fails_in_fit,
        "True under Keras 3; legacy Keras 2's optimizer fails too, with a `KeyError` (it cannot recognize the variable). Under both, recompile with a new optimizer.",
    ),
    LessonClaim(
        "lesson04-true-again",
        "Setting `trainable = True` on a model whose flag already says `True` leaves the layers "
        "you froze inside it frozen; going through `False` first unfreezes them all.",
        "`model.trainable = True` does not unfreeze inner layers while the model's flag is already `True`.",
        true_again_changes_nothing,
        "True under Keras 3 only: legacy Keras 2 sets the flag of every inner layer each time. Under both, setting each layer's flag is unambiguous.",
    ),
    LessonClaim(
        "lesson04-variables-trap",
        "A step that differentiates `model.variables` instead of `model.trainable_variables` moves "
        "the frozen layers.",
        "A step over `model.variables` moves the kernels of a frozen base.",
        stepping_over_variables_moves_frozen_layers,
        "True under both.",
    ),
    LessonClaim(
        "lesson04-reused-optimizer-loop",
        "The optimizer was built for the head's two variables (it keeps a momentum for each), and "
        "it raises the same `ValueError: Unknown variable` as `fit()` did in section 4.",
        "In a hand-written step, the head's optimizer raises `ValueError: Unknown variable` after unfreezing.",
        reused_optimizer_fails_in_a_loop,
        "True under Keras 3; legacy Keras 2's optimizer raises a `KeyError` instead. Under both, make a new optimizer.",
    ),
    LessonClaim(
        "lesson04-stale-tf-function",
        "A `tf.function` step traced while the base was frozen keeps training only the head after "
        "you unfreeze: it reads `trainable_variables` once, when it is traced.",
        "A `tf.function` step traced before unfreezing leaves the unfrozen layers unchanged.",
        stale_tf_function_keeps_old_list,
        "True under both: trace a new function after changing a flag.",
    ),
    LessonClaim(
        "lesson04-keras-file",
        "A `.keras` file keeps every layer's `trainable` flag, every weight bit for bit, and the "
        "optimizer with its state: its step count and its momentum for each variable.",
        "A `.keras` round trip keeps the flags, the weights and the optimizer's state.",
        keras_file_keeps_flags_weights_optimizer,
        "True under both.",
    ),
    LessonClaim(
        "lesson04-new-optimizer",
        "The resumed model took the original model's next step exactly; the restarted one took a "
        "different step.",
        "A loaded model takes the original's next step; recompiled with a new optimizer, it takes another.",
        new_optimizer_takes_another_step,
        "True under both: recompiling throws the optimizer's state away.",
    ),
)
