"""Checks of lesson 04's sections 1 to 3: freezing a base, training the head, BatchNormalization."""

import contextlib
import io

import tensorflow as tf

from ..common import Seen, leaf, same
from . import models


def freezing_a_model_freezes_its_layers():
    """Does `base.trainable = False` set every inner layer's flag to False?"""
    base = models.small_base()
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
    """Does each tf.Variable of a frozen base keep its creation flag, the kernel's watched by a tape?"""
    base = models.small_base()
    base.build((None, 6))
    created = [(leaf(w), models.inner(w).trainable) for w in base.weights]
    base.trainable = False
    kept = [(leaf(w), models.inner(w).trainable) for w in base.weights]
    statistics = sorted(name for name, flag in kept if not flag)
    layer = base.get_layer("d1")
    x, _ = models.data()
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x))
    gradient = tape.gradient(loss, models.inner(layer.kernel))
    return Seen(
        kept == created
        and statistics == ["moving_mean", "moving_variance"]
        and gradient is not None,
        f"after freezing, every inner `tf.Variable` keeps its flag: `{kept == created}`; the "
        f"non-trainable ones are `{statistics}`; a tape without `watch` gives the frozen kernel "
        f"a gradient: `{gradient is not None}`",
    )


def head_training_keeps_base():
    """Does fit() with the base frozen leave every base variable bit-identical, BN statistics included?"""
    base = models.small_base()
    base.trainable = False
    model = models.with_head(base)
    models.compile_sgd(model)
    before, head_before = (
        models.values_of(base.weights),
        models.values_of(model.get_layer("head").weights),
    )
    x, y = models.data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    base_moved = sum(models.moved(base.weights, before))
    head_moved = all(models.moved(model.get_layer("head").weights, head_before))
    return Seen(
        base_moved == 0 and head_moved,
        f"4 `fit()` steps with the base frozen: {base_moved} of the base's "
        f"{len(base.weights)} variables changed, the head's all moved: `{head_moved}`",
    )


def bn_changes_statistics_in_forward_pass():
    """Does one call of a trainable BN layer with training=True, no tape, change its moving statistics?"""
    bn = tf.keras.layers.BatchNormalization()
    x, _ = models.data()
    bn.build(x.shape)
    before = models.values_of(models.statistics_of(bn))
    bn(x + 3.0, training=True)
    moved = models.moved(models.statistics_of(bn), before)
    flags = [v.trainable for v in models.statistics_of(bn)]
    return Seen(
        all(moved),
        f"one call with `training=True`, no tape, no optimizer: moving mean and variance "
        f"changed `{moved}`; their flags are `{flags}`",
    )


def frozen_bn_is_in_inference_mode():
    """Does a frozen BN layer called with training=True give the inference output and keep its statistics?"""
    bn = tf.keras.layers.BatchNormalization()
    x, _ = models.data()
    bn.build(x.shape)
    bn(x + 3.0, training=True)  # statistics away from their initial values
    bn.trainable = False
    before = models.values_of(models.statistics_of(bn))
    as_training = bn(x, training=True).numpy()
    as_inference = bn(x, training=False).numpy()
    moved = any(models.moved(models.statistics_of(bn), before))
    alike = same(as_training, as_inference)
    return Seen(
        alike and not moved,
        f"a frozen layer called with `training=True`: output bit-identical to `training=False`: "
        f"`{alike}`; moving statistics changed: `{moved}`",
    )


def fit_overrides_training_false():
    """With base(inputs, training=False) in a functional model and the base unfrozen, does fit() change BN's statistics?"""
    base = models.small_base()
    model = models.with_head(base, training_false=True)
    models.compile_sgd(model, tf.keras.optimizers.SGD(learning_rate=1e-4))
    statistics = models.statistics_of(base.get_layer("bn"))
    before = models.values_of(statistics)
    x, y = models.data()
    model.fit(x + 3.0, y, batch_size=32, epochs=1, verbose=0)
    moved = any(models.moved(statistics, before))
    return Seen(
        moved,
        f"base unfrozen, model built with `base(inputs, training=False)`, one `fit()` step: "
        f"BatchNormalization's moving statistics changed: `{moved}`",
    )


def direct_training_false_holds():
    """Does calling an unfrozen base directly with training=False leave BN's statistics alone?"""
    base = models.small_base()
    statistics = models.statistics_of(base.get_layer("bn"))
    before = models.values_of(statistics)
    x, _ = models.data()
    base(x + 3.0, training=False)
    moved = any(models.moved(statistics, before))
    with_true = models.small_base()
    with_true(x + 3.0, training=True)
    control = any(models.moved(models.statistics_of(with_true.get_layer("bn")), before))
    return Seen(
        not moved and control,
        f"an unfrozen base called directly: with `training=False` the moving statistics changed: "
        f"`{moved}`; with `training=True`: `{control}`",
    )
