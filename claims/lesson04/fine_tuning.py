"""Checks of lesson 04's sections 4 to 6: fine-tuning the top, hand-written loops, .keras files."""

import tensorflow as tf

from ..common import Seen, same
from . import models


def fine_tuning_moves_exactly_the_top():
    """Unfreeze the top two layers of a frozen base, recompile, fit: do exactly they and the head move?"""
    base = models.small_base()
    base.trainable = False
    model = models.with_head(base)
    models.compile_sgd(model)
    x, y = models.data()
    base.trainable = True
    for layer in base.layers[:-2]:
        layer.trainable = False
    models.compile_sgd(model, tf.keras.optimizers.SGD(learning_rate=0.005, momentum=0.9))
    expected = [w for layer in base.layers[-2:] for w in layer.weights]
    expected += model.get_layer("head").weights
    before = models.values_of(model.weights)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    moved = models.moved(model.weights, before)
    wanted = [any(w is e for e in expected) for w in model.weights]
    return Seen(
        moved == wanted,
        f"after recompiling, `fit()` moved {sum(moved)} variables; exactly the top two layers' "
        f"and the head's ({sum(wanted)}): `{moved == wanted}`",
    )


def true_again_changes_nothing():
    """Frozen inner layers, then model.trainable = True while it already says True: do they stay frozen?"""
    base = models.small_base()
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
    model, x, y = models.head_trained_then_top_unfrozen()
    models.compile_sgd(model, model.optimizer)
    holds, said = _refusal(lambda: model.fit(x, y, batch_size=8, epochs=1, verbose=0))
    return Seen(
        holds, f"`fit()` after recompiling with the optimizer that trained the head: {said}"
    )


def reused_optimizer_fails_in_a_loop():
    """In a hand-written step, does the head's optimizer raise ValueError: Unknown variable after unfreezing?"""
    base = models.small_base()
    base.trainable = False
    model = models.with_head(base)
    optimizer = tf.keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)
    x, y = models.data()
    models.train_step(model, optimizer, x, y)  # builds the optimizer for the head's variables
    base.trainable = True
    for layer in base.layers[:-1]:
        layer.trainable = False
    holds, said = _refusal(lambda: models.train_step(model, optimizer, x, y))
    return Seen(holds, f"`apply_gradients` with the head's optimizer after unfreezing: {said}")


def stepping_over_variables_moves_frozen_layers():
    """Does a step over model.variables (base frozen) move the base's kernels?"""
    base = models.small_base()
    base.trainable = False
    model = models.with_head(base)
    optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    kernels = [base.get_layer(name).kernel for name in ("d1", "d2", "d3")]
    before = models.values_of(kernels)
    x, y = models.data()
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    gradients = tape.gradient(loss, model.variables)
    pairs = [(g, v) for g, v in zip(gradients, model.variables, strict=True) if g is not None]
    optimizer.apply_gradients(pairs)
    moved = models.moved(kernels, before)
    return Seen(
        all(moved),
        f"one step over `model.variables` with the base frozen: the base's three kernels "
        f"moved `{moved}`",
    )


def stale_tf_function_keeps_old_list():
    """A tf.function step traced with the base frozen: after unfreezing, does it still train only the head?"""
    base = models.small_base()
    base.trainable = False
    model = models.with_head(base)
    optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(x, y):
        variables = model.trainable_variables
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))

    x, y = models.data()
    step(x, y)
    base.trainable = True
    base.get_layer("bn").trainable = False
    before, head_before = (
        models.values_of(base.trainable_weights),
        models.values_of(model.get_layer("head").weights),
    )
    step(x, y)
    base_moved = sum(models.moved(base.trainable_weights, before))
    head_moved = all(models.moved(model.get_layer("head").weights, head_before))
    return Seen(
        base_moved == 0 and head_moved,
        f"traced with the base frozen, called after unfreezing it: {base_moved} of the "
        f"{len(before)} now-trainable base variables moved, the head moved: `{head_moved}`",
    )


def keras_file_keeps_flags_weights_optimizer():
    """After a .keras round trip: same flags, bit-identical weights, the optimizer's step count and variables?"""
    model, _, _ = models.fine_tuned_model()
    (restored,) = models.saved_and_loaded(model)
    flags = models.base_flags(restored) == models.base_flags(model)
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
    model, x, y = models.fine_tuned_model()
    resumed, restarted = models.saved_and_loaded(model, copies=2)
    models.compile_sgd(restarted, tf.keras.optimizers.SGD(learning_rate=0.005, momentum=0.9))
    steps = []
    for copy in (model, resumed, restarted):
        before = models.values_of(copy.trainable_variables)
        models.train_step(copy, copy.optimizer, x, y)
        steps.append([v.numpy() - b for v, b in zip(copy.trainable_variables, before, strict=True)])
    resumed_same = all(same(a, b) for a, b in zip(steps[1], steps[0], strict=True))
    restarted_same = all(same(a, b) for a, b in zip(steps[2], steps[0], strict=True))
    return Seen(
        resumed_same and not restarted_same,
        f"the next step of the resumed copy is the original's, bit for bit: `{resumed_same}`; "
        f"of the copy recompiled with a new optimizer: `{restarted_same}`",
    )
