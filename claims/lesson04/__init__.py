"""Lesson 04's own claims, quoted word for word from the lesson, and the checks that run them.

Lesson 04 (notebooks/04_transfer_learning.ipynb) answers no document: its claims are its own
sentences. They are checked like the documents' claims, under Keras 3 and legacy Keras 2, on
small models built in `models` (or the lesson's own convolutional base where a count depends on
it), so the ledger needs nothing outside this package. The checks live in `freezing` (sections
1 to 3) and `fine_tuning` (sections 4 to 6).
"""

from ..common import Claim
from .fine_tuning import (
    fine_tuning_moves_exactly_the_top,
    keras_file_keeps_flags_weights_optimizer,
    new_optimizer_takes_another_step,
    reused_optimizer_fails_in_a_loop,
    reused_optimizer_fails_in_fit,
    stale_tf_function_keeps_old_list,
    stepping_over_variables_moves_frozen_layers,
    true_again_changes_nothing,
)
from .freezing import (
    bn_changes_statistics_in_forward_pass,
    direct_training_false_holds,
    fit_overrides_training_false,
    freezing_a_model_freezes_its_layers,
    frozen_bn_is_in_inference_mode,
    frozen_layer_keeps_trainable_tf_variable,
    head_training_keeps_base,
    summary_counts,
)

# The lesson's notebook and title; the ledger's page puts these claims in a section of their own.
LESSON = ("04_transfer_learning.ipynb", "Transfer learning end to end, offline")


class LessonClaim(Claim):
    """A claim of lesson 04: its source is the lesson's notebook, not a document."""

    __slots__ = ()

    @property
    def seed(self):
        """The lesson's notebook file name."""
        return LESSON[0]


CLAIMS = (
    LessonClaim(
        "lesson04-freeze-inner-layers",
        "`base.trainable = False` on a model whose flag says `True` sets the flag of every layer "
        "inside it.",
        "Setting `trainable = False` on a model whose flag says `True` sets it on every layer inside.",
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
        "on the TensorFlow backend freezing changes only the Keras flags: each `tf.Variable` inside "
        "keeps the flag it was created with, `trainable=True` for the kernels, biases, `gamma` and "
        "`beta`, so a `GradientTape` still watches those.",
        "The `tf.Variable`s of a frozen layer keep their flags: kernels trainable and watched, BN statistics not.",
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
        "A trainable BatchNormalization layer called with `training=True` changes its moving "
        "statistics in the forward pass, "
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
        "In a functional model under Keras 3 (TensorFlow backend), `fit()` overrides `base(inputs, training=False)`: "
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
        "On the TensorFlow backend, setting `trainable = True` on a model whose flag already says "
        "`True` leaves the layers you froze inside it frozen; going through `False` first unfreezes "
        "them all.",
        "`model.trainable = True` does not unfreeze inner layers while the model's flag is already `True`.",
        true_again_changes_nothing,
        "True under Keras 3 with the TensorFlow backend (TensorFlow's trackable `__setattr__` skips the assignment, so the setter never runs): legacy Keras 2 sets the flag of every inner layer each time. Under both, setting each layer's flag is unambiguous.",
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
