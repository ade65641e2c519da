"""The claims: what each document says, in its own words, and which check tests it."""

from typing import NamedTuple

from . import checks as c

DOCUMENTS = {
    "000": (
        "000_573c4e67482a2f4b.txt",
        "Why does a TensorFlow 'Variable' have no trainable parameters?",
    ),
    "001": (
        "001_ee1eae99ef4df45e.txt",
        "How can I create non-trainable variables in TensorFlow v2?",
    ),
    "002": ("002_2e3c18d1a8a51326.txt", "How can TensorFlow operations be made non-trainable?"),
    "003": ("003_cb960b49ea4d6ef6.txt", "Why is a TensorFlow variable unfrozen within a graph?"),
}


class Claim(NamedTuple):
    """One claim of one document."""

    id: str  # starts with the document's number
    quote: str  # the document's exact words (up to whitespace)
    claim: str  # what the check tests, in plain words
    check: object  # a function of `checks` that returns a `Seen`
    correction: str  # one sentence: what is true

    @property
    def seed(self):
        """The document's file name."""
        return DOCUMENTS[self.id[:3]][0]


CLAIMS = (
    # 000_573c4e67482a2f4b.txt
    Claim(
        "000-trainable-flag",
        "the `Variable` object itself doesn't intrinsically define whether its contained tensor is trainable or not",
        "Whether a variable is trainable is not a property of the `tf.Variable` object.",
        c.trainable_is_a_flag_of_the_variable,
        "Trainability is a flag of the `tf.Variable` itself, set with `trainable=` when it is created and read with `v.trainable`; the tensor it holds has no such flag.",
    ),
    Claim(
        "000-unused-ignored",
        "it will not be updated during training. The optimizer simply ignores it.",
        "A variable the loss does not use gets no update.",
        c.unused_variable_is_left_alone,
        "True: its gradient is `None`, and `apply_gradients` skips a `None` gradient with a warning (it raises an error only when every gradient is `None`).",
    ),
    Claim(
        "000-ex1-output",
        "print(non_trainable_var.numpy()) # Output: [1. 2.] - unchanged",
        "Example 1 runs and prints `[1. 2.]`.",
        c.ex1_prints_unchanged_value,
        "Example 1 crashes in `apply_gradients` (it hands the optimizer a constant, `x`, and two `None` gradients) before it prints anything, although the variable does keep `[1. 2.]`.",
    ),
    Claim(
        "000-ex1-gradient-x",
        "The optimizer will compute gradients with respect to `x`",
        "In Example 1 there is a gradient for `x`.",
        c.ex1_gradient_for_constant,
        "The tape, not the optimizer, computes gradients, and it returns `None` for `x`: a tape follows only trainable variables and what you pass to `tape.watch`, and `y` was computed before the tape started.",
    ),
    Claim(
        "000-ex2-weights-biases",
        "# Print the trainable variables (weights and biases)",
        "Example 2 prints the Dense layer's kernel and bias, the model's two trainable variables.",
        c.ex2_lists_kernel_and_bias,
        "True; Keras 3 names them `kernel` and `bias` and warns that `input_shape=` is deprecated in favour of a `tf.keras.Input(shape=...)` first layer, while Keras 2 names them `dense/kernel:0` and `dense/bias:0`.",
    ),
    Claim(
        "000-ex2-updates",
        "#Dummy data and training loop - this will update the layer's variables",
        "Example 2's training loop changes the Dense layer's kernel and bias.",
        c.ex2_training_updates_the_layer,
        "True: both move away from their initial values.",
    ),
    Claim(
        "000-ex3-intermediate",
        "print(intermediate_var.numpy()) # Output will be [4.] - not updated during training",
        "Example 3 prints `[4.]` for `intermediate_var`.",
        c.ex3_prints_intermediate,
        "Example 3 crashes before this line (see 000-ex3-trained), although `intermediate_var` does hold `[4.]`: `assign` stores a value and has nothing to do with training.",
    ),
    Claim(
        "000-ex3-trained",
        "print(trainable_var.numpy()) # Output will be close to [0.] - updated during training.",
        "Example 3 trains `trainable_var` to about `[0.]` and prints it.",
        c.ex3_trains_towards_zero,
        "The loss is computed before the `GradientTape` starts, so there is no gradient and `apply_gradients` raises `ValueError`; with the loss inside the tape, one Adam step moves the variable by about the learning rate, to `[0.9]`.",
    ),
    # 001_ee1eae99ef4df45e.txt
    Claim(
        "001-default-trainable",
        "the default behavior where `trainable` is implicitly set to `True`",
        "Variables are trainable unless told otherwise.",
        c.trainable_is_the_default,
        "True for `tf.Variable` and for the weights Keras layers create.",
    ),
    Claim(
        "001-ex1-status",
        "The output explicitly confirms its non-trainable status",
        "Example 1 prints that the variable is not trainable.",
        c.ex1_prints_status,
        "True: it prints `False`.",
    ),
    Claim(
        "001-ex1-assign",
        "attempting to assign a new value won't trigger errors",
        "`assign` works on a non-trainable variable.",
        c.ex1_assign_works,
        "True: `trainable=False` only keeps gradients away; the value can be assigned at any time.",
    ),
    Claim(
        "001-ex1-gradient-none",
        'print(f"Gradient of non-trainable scalar: {grads}") # Output: None',
        "The tape gives no gradient for a non-trainable variable.",
        c.ex1_gradient_is_none,
        "True, because the tape does not watch non-trainable variables; after `tape.watch(v)` it computes their gradient like any other.",
    ),
    Claim(
        "001-unpredictable",
        "Attempting to modify a non-trainable variable during training, even indirectly, could lead to unpredictable results or errors.",
        "Changing a non-trainable variable during training can cause errors.",
        c.could_is_untestable,
        "Nothing here is specific to non-trainable variables: assigning to them is an ordinary, deterministic operation, and Keras does it in every training step (batch-normalization statistics, step counters).",
    ),
    Claim(
        "001-initial-value",
        "preserving its initial value throughout the model's training lifetime",
        "A non-trainable variable keeps its initial value during training.",
        c.non_trainable_values_can_change,
        "`trainable=False` only means no gradient updates: `BatchNormalization`'s non-trainable moving mean and variance change in every training step, and any code may `assign` to such a variable.",
    ),
    Claim(
        "001-ex2-embedding-unchanged",
        "embedding_matrix will remain unchanged",
        "Example 2's training loop leaves `embedding_matrix` unchanged.",
        c.ex2_embedding_unchanged,
        "True under both, but under Keras 2 only because the loop crashes in its first step (see 001-ex2-dense-trained).",
    ),
    Claim(
        "001-ex2-dense-trained",
        "The training loop updates only the trainable dense layer weights",
        "Example 2's training loop updates the Dense layer.",
        c.ex2_dense_layer_trained,
        "Only under Keras 3: the loop calls `loss_fn(outputs, targets)` with the arguments swapped, and Keras 2 casts `y_true` (here the model's outputs) to the integer targets' dtype, which cuts the gradient, so the first `apply_gradients` raises `ValueError`; write `loss_fn(targets, outputs)`.",
    ),
    Claim(
        "001-ex2-tracked",
        "a pre-trained word embedding matrix (`embedding_matrix`) is incorporated as a non-trainable variable within a Keras model",
        "The model lists `embedding_matrix` among its (non-trainable) weights.",
        c.ex2_model_tracks_embedding,
        "Only Keras 2 tracks a `tf.Variable` stored as a model attribute; Keras 3 ignores it (so `model.weights` and saved weights leave it out): create it with `self.add_weight(..., trainable=False)` instead.",
    ),
    Claim(
        "001-ex3-learning-rate",
        "Modifying the `learning_rate` variable directly updates the optimizer",
        "After `learning_rate.assign(0.0001)` the optimizer uses 0.0001.",
        c.ex3_assign_reaches_optimizer,
        "Keras 3 rejects a `tf.Variable` learning rate with `ValueError`, and Keras 2 copies its value when the optimizer is built, so `assign` never reaches the optimizer; set `optimizer.learning_rate = 0.0001` or use a learning-rate schedule.",
    ),
    # 002_2e3c18d1a8a51326.txt
    Claim(
        "002-stop-gradient",
        "This function is applied to a tensor to prevent its gradients from propagating backward during backpropagation.",
        "No gradient flows back through `tf.stop_gradient`.",
        c.stop_gradient_blocks,
        "True: everything upstream of `tf.stop_gradient` gets a `None` gradient from that path.",
    ),
    Claim(
        "002-optimizer-ignores",
        "This directly informs the optimizer to ignore this variable during optimization.",
        "An optimizer will not update a `trainable=False` variable.",
        c.optimizer_ignores_non_trainable,
        "The optimizer never looks at `trainable` and updates any variable it is handed a gradient for; what leaves a non-trainable variable alone is the tape, which does not watch it, and Keras, which leaves it out of `trainable_variables`.",
    ),
    Claim(
        "002-speed",
        "better performance compared to `tf.stop_gradient` in many scenarios",
        "Freezing with `trainable=False` trains faster than freezing with `tf.stop_gradient`.",
        c.trainable_false_is_faster,
        "Both ways skip the same backward computation, so they train at about the same speed: choose by meaning (a variable that never trains, or a path that gradients must not take), not by speed.",
    ),
    Claim(
        "002-ex1-excludes",
        "model.trainable_variables excludes frozen_embeddings.",
        "`model.trainable_variables` does not contain `frozen_embeddings`.",
        c.ex1_stop_gradient_output_is_a_tensor,
        "True but empty: `frozen_embeddings` is a tensor, and variable lists hold only variables; the example's embedding matrix is a constant that could never train, and the example stops with `NameError` because it never defines `model`.",
    ),
    Claim(
        "002-ex1-only-output",
        "only the *output* of the embedding lookup is frozen, not the `embedding_matrix` itself",
        "`tf.stop_gradient` on the lookup's output still lets the embedding matrix train.",
        c.stop_gradient_also_freezes_the_matrix,
        "Blocking the output's gradient also blocks the only path to the matrix, so the matrix gets a `None` gradient and is frozen too.",
    ),
    Claim(
        "002-ex2-bias",
        "During training, the optimizer will only update `weights`, leaving `bias` unchanged.",
        "Training Example 2's `linear_layer` changes `weights` and leaves `bias` alone.",
        c.ex2_bias_stays,
        "True, because the tape gives `bias` a `None` gradient; the optimizer itself would update `bias` if handed a gradient for it (see 002-optimizer-ignores).",
    ),
    Claim(
        "002-ex3-conv-weights",
        "# weights set as non-trainable",
        "Passing `trainable=False` variables as `weights=` to `Conv2D` gives a layer with frozen weights.",
        c.ex3_conv_weights_frozen,
        "Keras 3 rejects the `weights=` argument, and Keras 2 copies the values into the layer's own trainable variables; freeze a layer with `conv_layer.trainable = False`.",
    ),
    # 003_cb960b49ea4d6ef6.txt
    Claim(
        "003-case1-var1",
        'print(f"var1 value after update: {var1.numpy()}") # var1 will change',
        "Case 1 prints a new value for `var1`.",
        c.case1_var1_changes,
        "True: one SGD step moves `var1` from 1.0 to 1.4.",
    ),
    Claim(
        "003-case1-var2",
        'print(f"var2 value after update: {var2.numpy()}") # var2 will NOT change',
        "Case 1 prints `var2` unchanged.",
        c.case1_var2_unchanged,
        "True: it prints `2.0`.",
    ),
    Claim(
        "003-gradients-calculated",
        "The key here is not that gradients are never *calculated* for `var2` – they are –",
        "The tape computes a gradient for the frozen `var2`.",
        c.case1_gradient_for_var2,
        "The tape computes no gradient for `var2` (it returns `None`), because it does not watch non-trainable variables; `apply_gradients` then skips the `None` with a warning.",
    ),
    Claim(
        "003-apply-ignores",
        "those gradients are ignored when `apply_gradients` updates the variable's value",
        "`apply_gradients` ignores gradients for non-trainable variables.",
        c.optimizer_ignores_non_trainable,
        "`apply_gradients` applies a gradient to any variable, trainable or not; a frozen variable is safe only because the tape gives it no gradient.",
    ),
    Claim(
        "003-case2-set-trainable",
        "by accessing its `trainable` attribute, its value is changed dynamically",
        "`var3.trainable = True` makes a `tf.Variable` trainable.",
        c.case2_trainable_can_be_set,
        "A `tf.Variable`'s `trainable` is read-only (`AttributeError`), fixed when it is created: make a new variable with `tf.Variable(var3, trainable=True)`, or use `tape.watch(var3)`; a Keras layer's `trainable`, by contrast, can be changed.",
    ),
    Claim(
        "003-case3-recompile",
        "`model.compile` needs to be re-invoked for the new `trainable` status to take effect in the optimizer",
        "After changing a layer's `trainable`, `fit` ignores the change until `compile` is called again.",
        c.case3_trainable_needs_compile,
        "True under both: `fit` reuses the training function built at `compile` time, so call `compile` again after freezing or unfreezing.",
    ),
    Claim(
        "003-case3-frozen",
        "# Train the last layer while the first one stays frozen, for 5 epochs",
        "In Case 3, the second `fit` leaves the frozen first layer unchanged and trains the last layer.",
        c.case3_first_layer_stays_frozen,
        "True, because the model was compiled again after freezing; Keras 3 also warns that `input_shape=` is deprecated in favour of a `keras.Input(shape=...)` first layer.",
    ),
)
