"""Plausible wrong answers to every autograded exercise of lessons 00-04.

A test suite is as strong as the wrong programs it rejects: `test_wrong_answers.py` puts each
answer below through its exercise's test cells (visible and hidden) and asserts that it loses
points, while the model answer keeps them all.

One entry per wrong answer: the lesson, the `grade_id` of the exercise's solution cell, a name
saying what the mistake is, and either a (right, wrong) substitution applied to the model answer
(every occurrence of `right` is replaced; `right` must occur in it) or, with `source=`, a whole
replacement for the cell.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class WrongAnswer:
    lesson: str
    grade_id: str
    name: str
    replace: tuple[str, str] | None = None
    source: str | None = None

    def apply(self, model_answer):
        """The solution cell's source with this mistake in it."""
        if self.source is not None:
            return self.source
        right, wrong = self.replace
        if right not in model_answer:
            raise ValueError(
                f"{self.lesson}/{self.grade_id} '{self.name}': {right!r} is not in the model answer"
            )
        return model_answer.replace(right, wrong)

    @property
    def id(self):
        return f"{self.lesson}-{self.grade_id}-{self.name.replace(' ', '_')}"


@dataclass(frozen=True)
class HandedOut:
    """An exercise as handed out: its solution cell is nbgrader's stub."""

    lesson: str
    grade_id: str

    @property
    def id(self):
        return f"{self.lesson}-{self.grade_id}-as_handed_out"


def W(lesson, grade_id, name, right=None, wrong=None, *, source=None):
    return WrongAnswer(lesson, grade_id, name, None if source else (right, wrong), source)


TRAINABLE_FILTER = "trainable = [v for v in variables if v.trainable]"

# One entry per wrong answer, kept as a table: the formatter would spread each over 7 lines.
# fmt: off
WRONG_ANSWERS = [
    # Lesson 00 ---------------------------------------------------------------------------
    W("00", "ex1_gradient_is_none", "a frozen variable has a gradient",
      '"frozen_variable": True', '"frozen_variable": False'),
    W("00", "ex1_gradient_is_none", "a loss made before the tape has a gradient",
      '"loss_before_tape": True', '"loss_before_tape": False'),
    W("00", "ex1_gradient_is_none", "tape.watch does not help a frozen variable",
      '"frozen_but_watched": False', '"frozen_but_watched": True'),
    W("00", "ex1_gradient_is_none", "the frozen layer flag stops the tape",
      '"frozen_keras_kernel": False', '"frozen_keras_kernel": True'),
    W("00", "ex1_gradient_is_none", "answers as 1 and 0", "True", "1"),
    W("00", "ex2_train_step", "every variable handed over",
      TRAINABLE_FILTER, "trainable = list(variables)"),
    W("00", "ex2_train_step", "every variable watched", source="""def train_step(variables, loss_fn, optimizer):
    with tf.GradientTape() as tape:
        tape.watch(variables)
        loss = loss_fn()
    grads = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(grads, variables))
    return float(loss)
"""),
    W("00", "ex2_train_step", "sign error",
      "zip(grads, trainable)", "zip([-g for g in grads], trainable)"),
    W("00", "ex2_train_step", "loss returned as a tensor", "return float(loss)", "return loss"),
    W("00", "ex2_train_step", "no return", "return float(loss)", "pass"),
    W("00", "ex2_train_step", "loss after the update returned",
      "return float(loss)", "return float(loss_fn())"),
    W("00", "ex2_train_step", "SGD by hand instead of the optimizer",
      "optimizer.apply_gradients(zip(grads, trainable))", "for g, v in zip(grads, trainable):\n        v.assign_sub(0.1 * g)"),
    W("00", "ex3_train_head_step", "model.weights, the colleague's bug",
      "model.trainable_variables", "model.weights"),
    W("00", "ex3_train_head_step", "inner tf.Variable flags",
      "model.trainable_variables", "[v for v in model.weights if v.value.trainable]"),
    W("00", "ex3_train_head_step", "sign error", "zip(gradients,", "zip([-g for g in gradients],"),
    W("00", "ex3_train_head_step", "hard-coded last layer",
      "model.trainable_variables", "model.layers[-1].trainable_variables"),
    W("00", "ex3_train_head_step", "hard-coded layer name",
      "model.trainable_variables", 'model.get_layer("head").trainable_variables'),
    W("00", "ex3_train_head_step", "loss returned as a tensor",
      "return float(loss)", "return loss"),
    W("00", "ex3_train_head_step", "mean absolute error",
      "tf.square(model(x) - y)", "tf.abs(model(x) - y)"),
    # Lesson 01 ---------------------------------------------------------------------------
    W("01", "frozen_copy", "the original returned",
      "return tf.Variable(variable.read_value(), trainable=False)", "return variable"),
    W("01", "frozen_copy", "flag left on", "trainable=False", "trainable=True"),
    W("01", "frozen_copy", "a constant, not a variable",
      "tf.Variable(variable.read_value(), trainable=False)", "tf.constant(variable.read_value())"),
    W("01", "frozen_copy", "a Keras variable", "tf.Variable(", "keras.Variable("),
    W("01", "frozen_copy", "cast to float32",
      "variable.read_value()", "tf.cast(variable.read_value(), tf.float32)"),
    W("01", "train_step", "model.weights, the colleague's step",
      "model.trainable_variables", "model.weights"),
    W("01", "train_step", "hard-coded last layer",
      "model.trainable_variables", "model.layers[-1].trainable_variables"),
    W("01", "train_step", "sign error", "zip(grads,", "zip([-g for g in grads],"),
    W("01", "train_step", "no return", "return loss", "pass"),
    W("01", "train_step", "loss after the update returned",
      "return loss", "return keras.losses.MeanSquaredError()(y, model(x))"),
    W("01", "fixed_scale", "raw tf.Variable attribute",
      'self.add_weight(\n            shape=values.shape,\n            initializer=keras.initializers.Constant(values),\n            trainable=False,\n            name="scale",\n        )', 'tf.Variable(values, trainable=False, name="scale")'),
    W("01", "fixed_scale", "trainable weight", "trainable=False", "trainable=True"),
    W("01", "fixed_scale", "frozen layer, trainable weight", source="""class FixedScale(keras.layers.Layer):
    def __init__(self, values, **kwargs):
        super().__init__(**kwargs)
        values = np.asarray(values, dtype="float32")
        self.scale = self.add_weight(
            shape=values.shape, initializer=keras.initializers.Constant(values), name="scale"
        )
        self.trainable = False

    def call(self, inputs):
        return inputs * self.scale
"""),
    W("01", "fixed_scale", "ones, not the values", "keras.initializers.Constant(values)", '"ones"'),
    W("01", "fixed_scale", "unnamed weight", '            name="scale",\n', ""),
    W("01", "make_adam", "value copied once",
      "lambda: learning_rate_variable", "float(learning_rate_variable)"),
    W("01", "make_adam", "the variable itself, as in Example 3",
      "lambda: learning_rate_variable", "learning_rate_variable"),
    W("01", "make_adam", "SGD", "keras.optimizers.Adam", "keras.optimizers.SGD"),
    # Lesson 02 ---------------------------------------------------------------------------
    W("02", "ex1_frozen_copy", "the original returned",
      "return tf.Variable(variable.read_value(), trainable=False)", "return variable"),
    W("02", "ex1_frozen_copy", "flag left on", "trainable=False", "trainable=True"),
    W("02", "ex1_frozen_copy", "cast to float32",
      "variable.read_value()", "tf.cast(variable.read_value(), tf.float32)"),
    W("02", "ex1_frozen_copy", "a constant, not a variable",
      "tf.Variable(variable.read_value(), trainable=False)", "tf.constant(variable.read_value())"),
    W("02", "ex2_embedding_step", "no stop_gradient, only the head differentiated", source="""def embedding_step(embedding, head, ids, targets, optimizer):
    variables = head.trainable_variables
    with tf.GradientTape() as tape:
        vectors = tf.nn.embedding_lookup(embedding, ids)
        loss = tf.reduce_mean((head(vectors) - targets) ** 2)
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
"""),
    W("02", "ex2_embedding_step", "tf.identity for tf.stop_gradient",
      "tf.stop_gradient(", "tf.identity("),
    W("02", "ex2_embedding_step", "None gradients handed over",
      "[(g, v) for g, v in zip(gradients, variables) if g is not None]", "zip(gradients, variables)"),
    W("02", "ex2_embedding_step", "sign error", "[(g, v) for g, v", "[(-g, v) for g, v"),
    W("02", "ex3_respectful_step", "sign error",
      "zip(gradients, trainable)", "zip([-g for g in gradients], trainable)"),
    W("02", "ex3_respectful_step", "no gradients, assign_add(1)", source="""def respectful_step(variables, x, y, optimizer):
    for v in variables:
        if v.trainable:
            v.assign_add(tf.ones_like(v))
"""),
    W("02", "ex3_respectful_step", "every variable handed over",
      TRAINABLE_FILTER, "trainable = list(variables)"),
    W("02", "ex3_respectful_step", "every variable watched", source="""def respectful_step(variables, x, y, optimizer):
    with tf.GradientTape() as tape:
        tape.watch(variables)
        loss = linear_loss(variables, x, y)
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
"""),
    W("02", "ex3_respectful_step", "hard-coded first variable",
      TRAINABLE_FILTER, "trainable = variables[:1]"),
    W("02", "ex3_respectful_step", "chosen by name",
      TRAINABLE_FILTER, 'trainable = [v for v in variables if "bias" not in v.name]'),
    W("02", "ex4_frozen_conv", "layer left trainable", ", trainable=False)", ")"),
    W("02", "ex4_frozen_conv", "height and width swapped", "(height, width)", "(width, height)"),
    W("02", "ex4_frozen_conv", "values never loaded",
      "    layer.set_weights([np.asarray(kernel), np.asarray(bias)])\n", ""),
    W("02", "ex4_frozen_conv", "bias not loaded", "np.asarray(bias)", "np.zeros_like(bias)"),
    W("02", "ex4_frozen_conv", "unnamed layer", ', name="conv"', ""),
    # Lesson 03 ---------------------------------------------------------------------------
    W("03", "ex1_gradients_including_frozen", "no tape.watch",
      "        for variable in variables:\n            tape.watch(variable)\n", ""),
    W("03", "ex1_gradients_including_frozen", "None filled with zeros", source="""def gradients_including_frozen(loss_fn, variables):
    with tf.GradientTape() as tape:
        loss = loss_fn()
    gradients = tape.gradient(loss, variables)
    return [tf.zeros_like(v) if g is None else g for g, v in zip(gradients, variables)]
"""),
    W("03", "ex1_gradients_including_frozen", "trainable ones only",
      "return tape.gradient(loss, variables)", "return tape.gradient(loss, [v for v in variables if v.trainable])"),
    W("03", "ex1_gradients_including_frozen", "sign error",
      "return tape.gradient(loss, variables)", "return [-g for g in tape.gradient(loss, variables)]"),
    W("03", "ex1_gradients_including_frozen", "gradients applied too",
      "return tape.gradient(loss, variables)", "gradients = tape.gradient(loss, variables)\n    keras.optimizers.SGD(0.1).apply_gradients(zip(gradients, variables))\n    return gradients"),
    W("03", "ex2_unfrozen_copy", "flag left off", "trainable=True", "trainable=False"),
    W("03", "ex2_unfrozen_copy", "the original returned",
      "return tf.Variable(variable.read_value(), trainable=True, dtype=variable.dtype)", "return variable"),
    W("03", "ex2_unfrozen_copy", "cast to float32", "dtype=variable.dtype", "dtype=tf.float32"),
    W("03", "ex2_unfrozen_copy", "a Keras variable", "tf.Variable(", "keras.Variable("),
    W("03", "ex3_fine_tune_step", "model.weights, the buggy step",
      "model.trainable_variables", "model.weights"),
    W("03", "ex3_fine_tune_step", "sign error", "zip(gradients,", "zip([-g for g in gradients],"),
    W("03", "ex3_fine_tune_step", "returns None", "return loss", "pass"),
    W("03", "ex3_fine_tune_step", "hard-coded last layer",
      "model.trainable_variables", "model.layers[-1].trainable_variables"),
    W("03", "ex3_fine_tune_step", "hard-coded layer name",
      "model.trainable_variables", 'model.get_layer("head").trainable_variables'),
    W("03", "ex4_set_frozen", "no recompile", source="""def set_frozen(model, layer_name, frozen):
    model.get_layer(layer_name).trainable = not frozen
"""),
    W("03", "ex4_set_frozen", "flag flipped", "trainable = not frozen", "trainable = frozen"),
    W("03", "ex4_set_frozen", "old optimizer reused",
      "optimizer=keras.optimizers.Adam(learning_rate=0.01)", "optimizer=model.optimizer"),
    W("03", "ex4_set_frozen", "traced step dropped, no compile", source="""def set_frozen(model, layer_name, frozen):
    model.get_layer(layer_name).trainable = not frozen
    model.train_function = None
"""),
    W("03", "ex4_set_frozen", "SGD", "keras.optimizers.Adam", "keras.optimizers.SGD"),
    W("03", "ex4_set_frozen", "another loss", '"sparse_categorical_crossentropy"', '"mse"'),
    # Lesson 04 ---------------------------------------------------------------------------
    W("04", "ex1_add_head", "base left trainable", "    base.trainable = False\n", ""),
    W("04", "ex1_add_head", "hard-coded input shape",
      "shape=base.input_shape[1:]", "shape=(12, 12, 1)"),
    W("04", "ex1_add_head", "hard-coded two classes", "Dense(n_classes,", "Dense(2,"),
    W("04", "ex1_add_head", "softmax head, not logits",
      'name="head")', 'activation="softmax", name="head")'),
    W("04", "ex1_add_head", "Flatten instead of average pooling",
      "GlobalAveragePooling2D()", "Flatten()"),
    W("04", "ex1_add_head", "unnamed head", ', name="head"', ""),
    W("04", "ex2_fine_tune_top", "off by one", "position >= len(", "position > len("),
    W("04", "ex2_fine_tune_top", "no recompile", source="""def fine_tune_top(model, base, n, learning_rate):
    base.trainable = True
    unfrozen = []
    for position, layer in enumerate(base.layers):
        layer.trainable = position >= len(base.layers) - n and not isinstance(layer, keras.layers.BatchNormalization)
        if layer.trainable:
            unfrozen.append(layer.name)
    return unfrozen
"""),
    W("04", "ex2_fine_tune_top", "old optimizer reused",
      "optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9)", "optimizer=model.optimizer"),
    W("04", "ex2_fine_tune_top", "BatchNormalization unfrozen",
      " and not isinstance(layer, keras.layers.BatchNormalization)", ""),
    W("04", "ex2_fine_tune_top", "lower layers left unfrozen", source="""def fine_tune_top(model, base, n, learning_rate):
    base.trainable = True
    unfrozen = []
    for layer in base.layers[-n:]:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
        else:
            unfrozen.append(layer.name)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9), loss=loss_fn)
    return unfrozen
"""),
    W("04", "ex2_fine_tune_top", "hard-coded learning rate",
      "learning_rate=learning_rate", "learning_rate=1e-3"),
    W("04", "ex3_fine_tune_step", "base in training mode",
      "base(x, training=False)", "base(x, training=True)"),
    W("04", "ex3_fine_tune_step", "every weight, the buggy step",
      "base.trainable_variables + head.trainable_variables", "base.weights + head.weights"),
    W("04", "ex3_fine_tune_step", "sign error", "zip(gradients,", "zip([-g for g in gradients],"),
    W("04", "ex3_fine_tune_step", "no return", "return loss", "pass"),
    W("04", "ex3_fine_tune_step", "loss after the update returned",
      "return loss", "return loss_fn(y, head(base(x, training=False)))"),
    W("04", "ex3_fine_tune_step", "BN frozen by name instead of training=False", source="""def fine_tune_step(base, head, optimizer, x, y):
    base.get_layer("bn").trainable = False
    variables = base.trainable_variables + head.trainable_variables
    with tf.GradientTape() as tape:
        loss = loss_fn(y, head(base(x, training=True), training=True))
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return loss
"""),
    W("04", "ex4_resume", "loaded without compile",
      "load_model(path)", "load_model(path, compile=False)"),
    W("04", "ex4_resume", "recompiled with a new optimizer", source="""def resume(path):
    model = keras.models.load_model(path)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9), loss=loss_fn)
    return model
"""),
    W("04", "ex4_resume", "a new optimizer from the saved config", source="""def resume(path):
    model = keras.models.load_model(path)
    model.compile(optimizer=keras.optimizers.SGD.from_config(model.optimizer.get_config()), loss=loss_fn)
    return model
"""),
    W("04", "ex4_resume", "fine-tuning set up again", source="""def resume(path):
    model = keras.models.load_model(path)
    fine_tune_top(model, model.get_layer("base"), 2, 0.01)
    return model
"""),
    W("04", "ex4_resume", "no return",
      "return keras.models.load_model(path)", "keras.models.load_model(path)"),
    W("04", "ex4_resume", "the visible test's file, not path",
      "load_model(path)", 'load_model(folder / "ex4_checkpoint.keras")'),
]
# fmt: on
