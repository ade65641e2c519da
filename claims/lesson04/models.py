"""The small models lesson 04's checks run on, under Keras 3 or legacy Keras 2 (`tf.keras`).

A Dense base with a BatchNormalization layer stands in for the lesson's convolutional base, in a
fraction of the time; where a figure depends on the convolutions (the summary's counts), the
check builds the lesson's own base instead.
"""

import os
import tempfile

import numpy as np
import tensorflow as tf

from ..common import same


def data(n=32, seed=0):
    """n random 6-feature inputs and alternating labels 0 and 1."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 6)).astype("float32"), np.arange(n) % 2


def small_base():
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


def with_head(base, training_false=False):
    """The base under a 2-way Dense head, as a functional model."""
    keras = tf.keras
    inputs = keras.Input(shape=(6,))
    features = base(inputs, training=False) if training_false else base(inputs)
    return keras.Model(inputs, keras.layers.Dense(2, name="head")(features))


def compile_sgd(model, optimizer=None):
    """Compile with `optimizer` (a new SGD by default) and a from-logits cross-entropy."""
    model.compile(
        optimizer=optimizer or tf.keras.optimizers.SGD(learning_rate=0.05),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )


def values_of(variables):
    """A NumPy copy of each variable's value now."""
    return [np.array(v.numpy()) for v in variables]


def moved(variables, before):
    """For each variable: is it no longer bit-identical to its copy in `before`?"""
    return [not same(v.numpy(), b) for v, b in zip(variables, before, strict=True)]


def inner(variable):
    """The tf.Variable holding the value: the variable itself (Keras 2) or the one inside (Keras 3)."""
    return variable if isinstance(variable, tf.Variable) else variable.value


def statistics_of(bn):
    """A BatchNormalization layer's two non-trainable statistics."""
    return [bn.moving_mean, bn.moving_variance]


def train_step(model, optimizer, x, y):
    """One hand-written step over the model's trainable variables."""
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    variables = model.trainable_variables
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))


def head_trained_then_top_unfrozen():
    """A compiled model whose optimizer has trained the head (two steps), then its top layer unfrozen."""
    base = small_base()
    base.trainable = False
    model = with_head(base)
    compile_sgd(model)
    x, y = data()
    for _ in range(2):
        train_step(model, model.optimizer, x, y)
    base.trainable = True
    for layer in base.layers[:-1]:
        layer.trainable = False
    return model, x, y


def fine_tuned_model():
    """A model halfway through fine-tuning: top layer unfrozen, SGD with momentum after 3 steps."""
    model, x, y = head_trained_then_top_unfrozen()
    compile_sgd(model, tf.keras.optimizers.SGD(learning_rate=0.005, momentum=0.9))
    for _ in range(3):
        train_step(model, model.optimizer, x, y)
    return model, x, y


def base_flags(model):
    """The `trainable` flag of each layer of the model's "base"."""
    return [layer.trainable for layer in model.get_layer("base").layers]


def saved_and_loaded(model, copies=1):
    """`copies` models loaded from one `.keras` file of `model`, written to a temporary folder."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        return [tf.keras.models.load_model(path) for _ in range(copies)]
