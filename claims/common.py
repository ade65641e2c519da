"""One function per check: each runs a little TensorFlow and reports what it saw.

A check returns a `Seen`: whether the claim holds (None when running code cannot decide
it), the evidence in words, and, for a measurement, the exact figures of this run.
Checks use `tf.keras`, never `import keras`, so the same check runs under Keras 3 and,
with TF_USE_LEGACY_KERAS=1 set before TensorFlow loads, under legacy Keras 2.
Many checks run a document's example exactly as written (`ran`).
"""

import contextlib
import io
import logging
import re
import statistics
import time
import traceback
import warnings
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import tensorflow as tf

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"


class Seen(NamedTuple):
    """What a check observed."""

    holds: bool | None  # None: the claim cannot be decided by running code
    evidence: str  # the same on every run: it goes into the student page
    figures: str = ""  # exact measurements, which vary from run to run


class Run(NamedTuple):
    """What running a piece of code did."""

    printed: str
    error: str  # "" when the code ran to the end
    stopped_at: str  # the line that raised the error
    warnings: tuple[str, ...]
    names: dict  # the code's variables afterwards


def short(text, limit=160):
    """One line of at most `limit` characters, without the arrays TensorFlow puts in messages."""
    text = " ".join(re.sub(r",? ?numpy=.*", "", str(text), flags=re.S).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def code(text):
    """`text` as a Markdown code span, even when it contains backticks."""
    fence = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


class _Catcher(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def watching():
    """Collect what the code inside prints and every warning it gives (Python's or TensorFlow's log)."""
    printed, catcher, tf_log = io.StringIO(), _Catcher(), logging.getLogger("tensorflow")
    saved = tf_log.handlers[:], tf_log.propagate
    tf_log.handlers, tf_log.propagate = [catcher], False
    log = {"printed": printed}
    try:
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(printed):
            warnings.simplefilter("always")
            yield log
    finally:
        tf_log.handlers, tf_log.propagate = saved
        # The first sentence is enough, and the same under both Kerases.
        said = [short(str(w.message).split(". ")[0]) for w in caught] + [
            short(m.split(". ")[0]) for m in catcher.messages
        ]
        log["warnings"] = tuple(dict.fromkeys(said))


def example(seed, number):
    """The document's Python example `number` (counting from 1), exactly as written."""
    text = next(SEEDS.glob(f"{seed}_*.txt")).read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, re.S)[number - 1]


def run(source, names=None):
    """Run `source` as a script would, in `names`; keep its output, warnings and the error that stopped it."""
    names = {} if names is None else names
    error = stopped_at = ""
    with watching() as log:
        try:
            exec(compile(source, "<example>", "exec"), names)
        except Exception as e:
            error = f"{type(e).__name__}: {short(e)}"
            lines = [
                f.lineno for f in traceback.extract_tb(e.__traceback__) if f.filename == "<example>"
            ]
            stopped_at = source.splitlines()[lines[-1] - 1].strip() if lines else ""
    return Run(log["printed"].getvalue(), error, stopped_at, log["warnings"], names)


@cache
def ran(seed, number):
    """Example `number` of document `seed`, run once per process."""
    return run(example(seed, number))


def split(source, *markers):
    """Cut `source` before the first line that starts with each marker, to look at values in between."""
    parts = []
    for marker in markers:
        head, sep, source = source.partition("\n" + marker)
        parts.append(head + "\n")
        source = sep.lstrip("\n") + source
    return [*parts, source]


def outcome(r, line=None):
    """How a run went, in words: what it printed (or the printed `line` starting so), how it stopped, what it warned."""
    if line is not None:
        shown = [x for x in r.printed.splitlines() if x.startswith(line)]
        said = f"printed {code(shown[0])}" if shown else f"never printed {code(line + '…')}"
    else:
        said = f"printed {code(' / '.join(r.printed.splitlines()))}" if r.printed else ""
    if r.error:
        said += f"{'; ' if said else ''}stopped at {code(r.stopped_at)} with {code(r.error)}"
    elif not said:
        said = "ran to the end"
    return said + "".join(f"; warned {code(w)}" for w in r.warnings)


def printed_value(r, line):
    """The value after `line` in the printed output, or None."""
    shown = [x[len(line) :].strip() for x in r.printed.splitlines() if x.startswith(line)]
    return shown[0] if shown else None


def same(a, b):
    """Bit-identical values: the meaning of "unchanged" in this course."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.tobytes() == b.tobytes()


def leaf(variable):
    """`kernel` for `dense_3/kernel:0` or `kernel`."""
    return variable.name.split("/")[-1].split(":")[0]


def val(x, digits=4):
    """A value as a short string that is the same on every run."""
    return str(np.round(np.asarray(x, dtype=float), digits).tolist())


# --- 000: Why does a TensorFlow 'Variable' have no trainable parameters? -----------------


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
    r = ran("000", 1)
    return Seen(
        r.printed.strip() == "[1. 2.]",
        f"Example 1 {outcome(r)}; `non_trainable_var` still holds `{r.names['non_trainable_var'].numpy()}`",
    )


def ex1_gradient_for_constant():
    """Does 000's Example 1 get a gradient for the constant `x`?"""
    grads = ran("000", 1).names["grads"]
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
    r = ran("000", 2)
    found = sorted(leaf(v) for v in r.names["trainable_weights"])
    return Seen(found == ["bias", "kernel"], f"Example 2 {outcome(r)}")


def ex2_training_updates_the_layer():
    """Does 000's Example 2 move the kernel and bias away from their initial values?"""
    r = ran("000", 2)
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
    r = ran("000", 3)
    return Seen(
        r.printed.splitlines()[:1] == ["[4.]"],
        f"Example 3 {outcome(r)}; `intermediate_var` holds `{r.names['intermediate_var'].numpy()}`",
    )


def ex3_trains_towards_zero():
    """Does 000's Example 3 print a trained value close to `[0.]`?"""
    r = ran("000", 3)
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


# --- 001: How can I create non-trainable variables in TensorFlow v2? ----------------------


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
    r = ran("001", 1)
    line = "Is the variable trainable?"
    return Seen(printed_value(r, line) == "False", f"Example 1 {outcome(r, line)}")


def ex1_assign_works():
    """Does `assign` on 001's non-trainable variable work and print the new value?"""
    r = ran("001", 1)
    line = "Value of non-trainable scalar:"
    return Seen(not r.error and printed_value(r, line) == "10.0", f"Example 1 {outcome(r, line)}")


def ex1_gradient_is_none():
    """Does 001's Example 1 print a `None` gradient?"""
    r = ran("001", 1)
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
    head, loop = split(example("001", 2), "for i in range(10):")
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
    r = ran("001", 3)
    if r.error:
        return Seen(False, f"Example 3 {outcome(r)}")
    rate = float(tf.convert_to_tensor(r.names["optimizer"].learning_rate))
    return Seen(
        abs(rate - 0.0001) < 1e-9,
        f"Example 3 {outcome(r)}; after `learning_rate.assign(0.0001)` the optimizer's learning "
        f"rate is `{rate:.6g}`: Adam copied the variable's value when it was built",
    )


# --- 002: How can TensorFlow operations be made non-trainable? ----------------------------


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
    r = ran("002", 1)
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
    r = ran("002", 2)
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
    r = ran("002", 3)
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


# --- 003: Why is a TensorFlow variable unfrozen within a graph? ---------------------------


def case1_var1_changes():
    """Does 003's Case 1 print a new value for `var1`?"""
    r = ran("003", 1)
    line = "var1 value after update:"
    return Seen(printed_value(r, line) not in (None, "1.0"), f"Case 1 {outcome(r, line)}")


def case1_var2_unchanged():
    """Does 003's Case 1 print `2.0` for `var2`?"""
    r = ran("003", 1)
    line = "var2 value after update:"
    return Seen(printed_value(r, line) == "2.0", f"Case 1 {outcome(r, line)}")


def case1_gradient_for_var2():
    """Does 003's Case 1 compute a gradient for the frozen `var2`?"""
    r = ran("003", 1)
    grads = r.names["gradients"]
    shown = [None if g is None else float(g.numpy()) for g in grads]
    return Seen(grads[1] is not None, f"in Case 1 `gradients` is `{shown}` for `[var1, var2]`")


def case2_trainable_can_be_set():
    """Does 003's Case 2 make `var3` trainable by assigning to `trainable`?"""
    r = ran("003", 2)
    line = "var3 now trainable:"
    return Seen(printed_value(r, line) == "True", f"Case 2 {outcome(r)}")


def _fit_moves_first_layer(frozen_at_compile, frozen_then, recompile):
    """Compile and fit, change the first layer's `trainable`, fit again: did the layer's kernel move?"""
    x = np.random.default_rng(0).random((32, 10), dtype="float32")
    y = np.arange(32) % 2
    keras = tf.keras
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(5), keras.layers.Dense(2)])
    model.layers[0].trainable = not frozen_at_compile
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    model.layers[0].trainable = not frozen_then
    if recompile:
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    before = model.layers[0].kernel.numpy().copy()
    model.fit(x, y, epochs=1, verbose=0)
    return not same(model.layers[0].kernel, before)


def case3_trainable_needs_compile():
    """Does `fit` ignore a change of `trainable` until the next `compile`?"""
    freeze = _fit_moves_first_layer(False, True, recompile=False)
    unfreeze = _fit_moves_first_layer(True, False, recompile=False)
    freeze_compiled = _fit_moves_first_layer(False, True, recompile=True)
    unfreeze_compiled = _fit_moves_first_layer(True, False, recompile=True)
    word = {True: "moved", False: "stayed bit-identical"}
    return Seen(
        freeze and not unfreeze and not freeze_compiled and unfreeze_compiled,
        f"changing the first layer's `trainable` after `compile`, then `fit` again: without a new "
        f"`compile`, a layer frozen this way {word[freeze]} and a layer unfrozen this way "
        f"{word[unfreeze]}; after a new `compile`, the frozen layer {word[freeze_compiled]} and "
        f"the unfrozen one {word[unfreeze_compiled]}",
    )


def case3_first_layer_stays_frozen():
    """In 003's Case 3, does the second `fit` leave the frozen layer alone and train the last?"""
    head, middle, _ = split(
        example("003", 3), "# Train the last layer", "# Unfreeze the first layer"
    )
    first = run(head)
    model = first.names["model"]
    before = [w.numpy().copy() for w in model.weights]
    second = run(middle, first.names)
    moved = [not same(w, b) for w, b in zip(model.weights, before, strict=True)]
    n = len(model.layers[0].weights)
    return Seen(
        not second.error and not any(moved[:n]) and all(moved[n:]),
        f"Case 3 up to the unfreezing {outcome(first)}; during the second `fit` the first layer's "
        f"weights stayed bit-identical: `{not any(moved[:n])}`, the last layer's all moved: `{all(moved[n:])}`",
    )
