"""course_lib against plain TensorFlow and Keras: recording, checks, audit, plots."""

import base64
import logging
import struct

import keras
import matplotlib
import numpy as np
import pytest
import tensorflow as tf
from matplotlib.backends.backend_agg import FigureCanvasAgg

import course_lib as cl

matplotlib.use("Agg")


def one_ulp_up(value):
    return np.nextafter(np.float32(value), np.float32(np.inf), dtype=np.float32)


def small_model(first_trainable=True):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(4, name="body"),
            keras.layers.Dense(1, name="head"),
        ],
        name="net",
    )
    model.get_layer("body").trainable = first_trainable
    return model


# Recording ---------------------------------------------------------------------


def test_frozen_variable_that_moves_one_ulp_is_caught():
    v = tf.Variable([1.0, 2.0, 3.0], trainable=False, name="v")
    record = cl.Trajectory([v])
    record.record()
    v.assign([1.0, one_ulp_up(2.0), 3.0])
    record.record()
    record.record()
    track = record.track("v")
    assert track.identical == [True, True, False, False]
    assert not track.frozen
    assert track.first_change == (2, pytest.approx(2.0**-22))
    assert record.moved == ["v"] and record.frozen == []


def test_variable_that_moves_and_comes_back_is_not_frozen():
    v = tf.Variable([1.0, 2.0], name="v")
    record = cl.Trajectory([v])
    v.assign([1.5, 2.0])
    record.record()
    v.assign([1.0, 2.0])
    record.record()
    track = record.track("v")
    assert track.identical == [True, False, True]
    assert not track.frozen
    assert track.max_abs_change == [0.0, 0.5, 0.0]


def test_negative_zero_counts_as_a_change_and_a_steady_nan_does_not():
    zero = tf.Variable([0.0], name="zero")
    nan = tf.Variable([np.nan], name="nan")
    record = cl.Trajectory([zero, nan])
    zero.assign([-0.0])
    record.record()
    assert not record.track("zero").frozen
    assert record.track("nan").frozen


def test_untouched_variables_are_frozen_and_steps_are_numbered():
    v = tf.Variable(tf.ones((5, 5)), name="w")
    record = cl.Trajectory([v])
    for _ in range(4):
        record.record()
    assert record.steps == [0, 1, 2, 3, 4]
    assert record.track("w").frozen and record.frozen == ["w"]


def test_hand_written_loop_is_recorded_step_by_step():
    w = tf.Variable([1.0, -2.0], name="w")
    b = tf.Variable([0.5], trainable=False, name="b")
    optimizer = keras.optimizers.SGD(learning_rate=0.1)
    record = cl.Trajectory([w, b])
    expected = [w.numpy().copy()]
    for _ in range(3):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(w + b))
        grad_w, grad_b = tape.gradient(loss, [w, b])
        assert grad_b is None  # the tape does not watch a non-trainable variable
        optimizer.apply_gradients([(grad_w, w)])
        record.record()
        expected.append(w.numpy().copy())
    track = record.track("w")
    np.testing.assert_array_equal(np.array(track.samples), np.array(expected, dtype=np.float64))
    start = expected[0]
    assert track.distance == pytest.approx([np.linalg.norm(e - start) for e in expected])
    assert track.max_abs_change == pytest.approx([np.max(np.abs(e - start)) for e in expected])
    assert record.track("b").frozen and record.track("b").trainable is False


def test_gradient_tape_loop_over_a_keras_model_records_every_weight():
    model = small_model(first_trainable=False)
    record = cl.Trajectory(model)
    assert [t.name for t in record.tracks] == [v.path for v in model.weights]
    optimizer = keras.optimizers.SGD(learning_rate=0.1)
    x, y = tf.random.normal((8, 3), seed=1), tf.ones((8, 1))
    for _ in range(3):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        record.record()
    assert record.frozen == ["net/body/kernel", "net/body/bias"]
    assert record.moved == ["net/head/kernel", "net/head/bias"]
    head_bias = record.track("head/bias")
    assert head_bias.samples[-1][0] == model.get_layer("head").bias.numpy()[0]


def test_fit_callback_records_after_every_batch():
    model = small_model(first_trainable=False)
    model.compile(optimizer="sgd", loss="mse")
    callback = cl.TrajectoryCallback()
    x, y = np.ones((12, 3), "float32"), np.zeros((12, 1), "float32")
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[callback])
    record = callback.trajectory
    assert record.steps == list(range(7))  # the start, then 2 epochs x 3 batches
    assert record.frozen == ["net/body/kernel", "net/body/bias"]
    assert "net/head/kernel" in record.moved
    kernel = model.get_layer("head").kernel.numpy().ravel()
    np.testing.assert_array_equal(record.track("head/kernel").samples[-1], kernel)


def test_fit_with_the_callback_traces_its_step_once_and_trains_exactly_as_without():
    traces = []

    class Counting(keras.Sequential):
        def train_step(self, data):
            traces.append(1)  # runs once per trace of the compiled step, not per batch
            return super().train_step(data)

    def fitted(callbacks):
        keras.utils.set_random_seed(0)
        model = Counting(
            [
                keras.Input((3,)),
                keras.layers.Dense(4, name="body"),
                keras.layers.Dense(1, name="head"),
            ],
            name="net",
        )
        model.get_layer("body").trainable = False
        model.compile(optimizer=keras.optimizers.Adam(0.1), loss="mse")
        traces.clear()
        x, y = np.ones((12, 3), "float32"), np.arange(12, dtype="float32")[:, None]
        model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=callbacks)
        return len(traces), model

    # Keras builds Adam's slots inside the first traced step, so TensorFlow traces it twice
    # (if a Keras release stops doing so, this line fails: the callback's build is then moot).
    plain_traces, plain = fitted([])
    assert plain_traces == 2
    recorded_traces, recorded = fitted([cl.TrajectoryCallback()])
    assert recorded_traces == 1

    def slot_names(model):  # without the optimizer's own name, which Keras numbers
        return [v.path.split("/", 1)[1] for v in model.optimizer.variables]

    # The same slots, for the trainable variables only.
    assert slot_names(recorded) == slot_names(plain)
    for a, b in zip(plain.weights + plain.optimizer.variables,
                    recorded.weights + recorded.optimizer.variables, strict=True):  # fmt: skip
        cl.assert_bit_identical(b, a.numpy(), a.path)


def test_record_size_depends_on_resolution_not_on_parameter_count():
    small = tf.Variable(tf.zeros((10,)), name="small")
    large = tf.Variable(tf.zeros((1000, 1000)), name="large")
    record = cl.Trajectory([small, large], sample_size=8)
    for step in range(1, 6):
        large.assign_add(tf.fill((1000, 1000), 0.5))
        small.assign_add(tf.ones((10,)))
        record.record()
        assert record.track("large").distance[step] == pytest.approx(0.5 * step * 1000)
    for track in record.tracks:
        assert all(sample.shape == (8,) for sample in track.samples)
    bytes_5 = record.nbytes()
    for _ in range(5):
        record.record()
    per_step = (record.nbytes() - bytes_5) / 5
    assert per_step < 300  # a few numbers per variable, not a million floats


def test_sampled_coordinates_follow_the_real_values():
    v = tf.Variable(tf.reshape(tf.range(100, dtype=tf.float32), (10, 10)), name="grid")
    record = cl.Trajectory([v], sample_size=5, seed=3)
    v.assign(v * 2.0)
    record.record()
    track = record.track("grid")
    flat = v.numpy().ravel()
    np.testing.assert_array_equal(track.samples[-1], flat[track.sample_index])
    np.testing.assert_array_equal(track.samples[0], flat[track.sample_index] / 2)


def test_tiny_changes_keep_a_nonzero_distance():
    v = tf.Variable([1e-30, 1e-30], name="tiny")
    record = cl.Trajectory([v])
    v.assign([2e-30, 2e-30])
    record.record()
    # abs=0: pytest.approx would otherwise accept 0.0 (its default abs tolerance is 1e-12)
    assert record.track("tiny").distance[-1] == pytest.approx(np.sqrt(2) * 1e-30, rel=1e-5, abs=0)


def test_integer_variables_are_recorded():
    counter = tf.Variable(0, dtype=tf.int64, name="counter")
    record = cl.Trajectory([counter])
    counter.assign_add(3)
    record.record()
    assert record.track("counter").max_abs_change == [0.0, 3.0]


def test_unknown_and_ambiguous_names_say_what_is_recorded():
    model = small_model()
    record = cl.Trajectory(model)
    with pytest.raises(KeyError, match="recorded: net/body/kernel"):
        record.track("tail/kernel")
    with pytest.raises(KeyError, match="several variables"):
        record.track("kernel")


def test_an_unbuilt_model_or_empty_list_is_refused_with_advice():
    with pytest.raises(ValueError, match="build it first"):
        cl.Trajectory(keras.Sequential([keras.layers.Dense(1)]))
    with pytest.raises(ValueError, match="empty"):
        cl.Trajectory([])
    with pytest.raises(TypeError, match="tf.Variable or a Keras variable"):
        cl.Trajectory([np.zeros(3)])


# Recording: exact, compiled once, fetched lazily ---------------------------------


def unsampled_index(record, name):
    """A flat index of the variable that its track does not sample (else 0)."""
    track = record.track(name)
    sampled = set(track.sample_index.tolist())
    return next((i for i in range(int(np.prod(track.shape))) if i not in sampled), 0)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("shape", [(3,), (300, 300)], ids=["sampled", "not-sampled"])
def test_one_ulp_anywhere_in_a_float_variable_is_caught(dtype, shape):
    start = np.full(shape, 0.75, dtype)
    v = tf.Variable(start, name="v")
    record = cl.Trajectory([v])
    i = unsampled_index(record, "v")
    moved = start.ravel().copy()
    moved[i] = np.nextafter(moved[i], np.inf, dtype=dtype)
    v.assign(moved.reshape(shape))
    record.record()
    v.assign(start)
    record.record()
    track = record.track("v")
    assert track.identical == [True, False, True]
    assert track.max_abs_change == [0.0, float(moved[i] - start.ravel()[i]), 0.0]
    assert track.distance[1] == pytest.approx(float(moved[i] - start.ravel()[i]), rel=1e-3, abs=0)


@pytest.mark.parametrize("shape", [(3,), (300, 300)], ids=["sampled", "not-sampled"])
def test_zero_becoming_negative_zero_anywhere_is_caught(shape):
    v = tf.Variable(np.zeros(shape, np.float32), name="v")
    record = cl.Trajectory([v])
    flat = np.zeros(int(np.prod(shape)), np.float32)
    flat[unsampled_index(record, "v")] = -0.0
    v.assign(flat.reshape(shape))
    record.record()
    track = record.track("v")
    assert track.identical == [True, False] and record.moved == ["v"]
    assert track.max_abs_change == [0.0, 0.0] and track.distance == [0.0, 0.0]


@pytest.mark.parametrize("shape", [(3,), (300, 300)], ids=["small", "large"])
def test_a_value_that_becomes_nan_moved_by_nan(shape):
    v = tf.Variable(np.ones(shape, np.float32), name="v")
    record = cl.Trajectory([v])
    broken = np.ones(shape, np.float32)
    broken.flat[[0, 1]] = [np.nan, 2.0]  # a finite change after the NaN must not hide it
    v.assign(broken)
    record.record()
    track = record.track("v")
    assert track.identical == [True, False]
    assert np.isnan(track.max_abs_change[-1]) and np.isnan(track.distance[-1])
    assert "changed by nan at step 1" in cl.problems(record, frozen="v")[0]


def test_lazily_fetched_values_equal_the_values_at_each_step(monkeypatch):
    monkeypatch.setattr(cl.trajectory, "FETCH_EVERY", 4)  # several batches, the last one partial
    rng = np.random.default_rng(1)
    starts = {
        "big": rng.normal(size=(200, 200)).astype(np.float32),  # above LARGE
        "small": rng.normal(size=(3,)).astype(np.float32),
        "half": rng.normal(size=(40,)).astype(np.float16),
        "count": np.arange(5, dtype=np.int64),
    }
    variables = {name: tf.Variable(value, name=name) for name, value in starts.items()}
    record = cl.Trajectory(list(variables.values()), sample_size=5, seed=2)
    expected = {name: [] for name in starts}

    def expect():
        for name, variable in variables.items():
            now, start = variable.numpy(), starts[name]
            if now.dtype.kind == "i":
                now, start = now.astype(np.float64), start.astype(np.float64)
            change = now - start  # in the variable's own dtype, as the record computes it
            same = now.tobytes() == start.tobytes()
            index = record.track(name).sample_index
            expected[name].append(
                (
                    0.0 if same else float(np.linalg.norm(change.astype(np.float64))),
                    0.0 if same else float(np.max(np.abs(change))),
                    same,
                    now.ravel()[index].astype(np.float64),
                )
            )

    expect()
    for step in range(1, 11):
        for k, (name, variable) in enumerate(variables.items()):
            if step % 4 == 3:  # back to the start: bit-identical again
                variable.assign(starts[name])
            elif (step + k) % 3:  # move; otherwise stay put
                delta = rng.normal(size=starts[name].shape) * 10.0 ** -(k + 1)
                variable.assign_add(delta.astype(starts[name].dtype) if k < 3 else [1] * 5)
        record.record()
        expect()
        if step == 5:  # a read in the middle fetches a partial batch; recording goes on
            assert len(record.track("big").distance) == 6
    for name in starts:
        track = record.track(name)
        distance, largest, identical, samples = zip(*expected[name], strict=True)
        assert track.identical == list(identical)
        assert not track.frozen and any(identical[1:])
        assert track.max_abs_change == list(largest)
        assert track.distance == pytest.approx(list(distance), rel=1e-5, abs=0)
        np.testing.assert_array_equal(np.array(track.samples), np.array(samples))


def test_recording_traces_once_however_many_steps(monkeypatch, capfd, caplog):
    traced = []
    for helper in ("_small", "_large"):  # called while tracing, never when a traced call runs
        original = getattr(cl.trajectory, helper)
        monkeypatch.setattr(
            cl.trajectory,
            helper,
            lambda *args, original=original, helper=helper: (
                traced.append(helper) or original(*args)
            ),
        )
    model = small_model(first_trainable=False)
    table = tf.Variable(tf.zeros((200, 200)), trainable=False, name="table")  # above LARGE
    optimizer = keras.optimizers.Adam(learning_rate=0.1)
    records = [cl.Trajectory(model.weights + [table]) for _ in range(6)]  # as notebooks do
    assert sorted(traced) == ["_large"] * 6 + ["_small"] * 6
    x, y = tf.random.normal((8, 3), seed=1), tf.ones((8, 1))
    for _ in range(40):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        for record in records:
            record.record()
    assert len(traced) == 12
    assert all(record.moved == ["net/head/kernel", "net/head/bias"] for record in records)
    # tf.function's warning goes to the `tensorflow` logger (and so to stderr in a notebook)
    assert "retracing" not in capfd.readouterr().err + caplog.text


def test_fit_callback_records_the_same_as_record_after_each_batch():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(4, name="body", trainable=False),
            keras.layers.BatchNormalization(name="norm"),
            keras.layers.Dense(1, name="head"),
        ],
        name="net",
    )
    model.compile(optimizer="adam", loss="mse")
    manual = cl.Trajectory(model)

    class RecordAfterEachBatch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            manual.record()

    callback = cl.TrajectoryCallback()
    x, y = np.random.default_rng(0).normal(size=(2, 12, 3)).astype("float32")
    model.fit(
        x,
        y[:, :1],
        batch_size=4,
        epochs=2,
        verbose=0,
        validation_data=(x, y[:, :1]),
        callbacks=[callback, RecordAfterEachBatch()],
    )
    record = callback.trajectory
    assert record.steps == manual.steps == list(range(7))
    assert record.frozen == manual.frozen == ["net/body/kernel", "net/body/bias"]
    for mine, theirs in zip(record.tracks, manual.tracks, strict=True):
        assert mine.name == theirs.name
        assert mine.identical == theirs.identical
        assert mine.distance == theirs.distance
        assert mine.max_abs_change == theirs.max_abs_change
        np.testing.assert_array_equal(np.array(mine.samples), np.array(theirs.samples))
    assert "net/norm/moving_mean" in record.moved  # updated by fit, though not trainable


def test_record_inside_a_compiled_step_says_where_to_call_it():
    v = tf.Variable([1.0], name="v")
    record = cl.Trajectory([v])

    @tf.function
    def step():
        v.assign_add([1.0])
        record.record()

    with pytest.raises(RuntimeError, match="inside a tf.function"):
        step()


def test_steps_waiting_for_numpy_are_bounded():
    v = tf.Variable(tf.zeros((10,)), name="v")
    record = cl.Trajectory([v])
    for _ in range(2 * cl.trajectory.FETCH_EVERY + 3):
        record.record()
    assert len(record._pending) < cl.trajectory.FETCH_EVERY
    assert len(record.track("v").identical) == 2 * cl.trajectory.FETCH_EVERY + 4


# Checks ------------------------------------------------------------------------


def moved_at_step_two():
    frozen = tf.Variable([1.0, 2.0], trainable=False, name="dense/kernel")
    trained = tf.Variable([0.0], name="dense/bias")
    record = cl.Trajectory([frozen, trained])
    record.record()
    frozen.assign_add([0.0, 0.031])
    record.record()
    return record


def test_problems_name_the_variable_the_change_and_the_step():
    record = moved_at_step_two()
    found = cl.problems(record, frozen=["dense/kernel"], trained="dense/bias")
    assert found == [
        "`dense/kernel` should have stayed frozen but changed by 3.1e-02 at step 2",
        "`dense/bias` should have been trained but stayed bit-identical to its initial value "
        "for all 2 steps",
    ]
    assert cl.problems(record, frozen=["dense/bias"], trained=["dense/kernel"]) == []


def test_assertions_raise_with_the_problem_sentences():
    record = moved_at_step_two()
    with pytest.raises(AssertionError, match="should have stayed frozen but changed by 3.1e-02"):
        cl.assert_frozen(record, "dense/kernel")
    with pytest.raises(AssertionError, match="should have been trained"):
        cl.assert_trained(record, ["dense/bias"])
    cl.assert_frozen(record, ["dense/bias"])
    cl.assert_trained(record, ["dense/kernel"])
    with pytest.raises(AssertionError, match="`dense/kernel` should have stayed frozen"):
        cl.check_trajectory(record, frozen=["dense/kernel"])


def test_assert_bit_identical_catches_one_ulp_and_negative_zero():
    a = np.array([1.0, 0.0], np.float32)
    cl.assert_bit_identical(a, a.copy())
    with pytest.raises(AssertionError, match=r"1 of 2 entries differ, first at index \(0,\)"):
        cl.assert_bit_identical(np.array([one_ulp_up(1.0), 0.0], np.float32), a)
    with pytest.raises(AssertionError, match="index \\(1,\\)"):
        cl.assert_bit_identical(np.array([1.0, -0.0], np.float32), a)
    with pytest.raises(AssertionError, match="shape"):
        cl.assert_bit_identical(a[:1], a)
    with pytest.raises(AssertionError, match="dtype"):
        cl.assert_bit_identical(a.astype(np.float64), a)


# Audit -------------------------------------------------------------------------


class ModelWithRawVariable(keras.Model):
    def __init__(self):
        super().__init__(name="raw")
        self.table = tf.Variable(tf.ones((4, 2)), trainable=False, name="table")
        self.head = keras.layers.Dense(1, name="head")

    def call(self, ids):
        return self.head(tf.nn.embedding_lookup(self.table, ids))


def test_audit_shows_that_keras_3_ignores_a_raw_tf_variable_attribute():
    model = ModelWithRawVariable()
    model(tf.constant([0, 1]))
    table = cl.audit(model)
    raw = table.row("table")
    assert raw == {
        "name": "table",
        "shape": (4, 2),
        "trainable": False,
        "tracked": False,
        "watched": False,
        "saved": False,
    }
    kernel = table.row("head/kernel")
    assert kernel["tracked"] and kernel["saved"] and kernel["watched"] and kernel["trainable"]
    assert "table" in repr(table) and "<table>" in table._repr_html_()


def test_audit_of_a_frozen_keras_layer_shows_the_tape_still_watches_it():
    model = small_model(first_trainable=False)
    row = cl.audit(model).row("body/kernel")
    assert row["trainable"] is False and row["watched"] is True and row["saved"] is True


def test_audit_leaves_every_value_bit_identical():
    model = ModelWithRawVariable()
    model(tf.constant([0, 1]))
    before = [v.numpy().copy() for v in [*model.weights, model.table]]
    cl.audit(model)
    for value, variable in zip(before, [*model.weights, model.table], strict=True):
        cl.assert_bit_identical(variable.numpy(), value)


def test_audit_of_a_list_has_no_model_columns():
    rows = cl.audit([tf.Variable(1.0, name="a"), tf.Variable(2.0, trainable=False, name="b")])
    assert [(r["name"], r["watched"], r["tracked"], r["saved"]) for r in rows.rows] == [
        ("a", True, None, None),
        ("b", False, None, None),
    ]


# Plots -------------------------------------------------------------------------


def test_plot_tells_frozen_from_moved_and_flags_surprises(tmp_path):
    record = moved_at_step_two()  # kernel: trainable=False but moved; bias: trainable, frozen
    fig = cl.plot_trajectory(record)
    lines = fig.axes[0].get_lines()
    labels = [line.get_label() for line in lines]
    assert labels[0].startswith("! dense/kernel (trainable=False): moved")
    assert labels[1].startswith("! dense/bias (trainable=True): frozen")
    assert all(line.get_color() == cl.plots.SURPRISE_COLOR for line in lines)
    path = cl.plots.save_png(record, tmp_path / "plot.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_styles_frozen_variables_apart_from_trained_ones():
    model = small_model(first_trainable=False)
    record = cl.Trajectory(model)
    model.get_layer("head").bias.assign([1.0])
    record.record()
    lines = cl.plot_trajectory(record).axes[0].get_lines()
    frozen = lines[0]
    moved = lines[3]
    assert frozen.get_color() == cl.plots.FROZEN_COLOR and frozen.get_linestyle() == "--"
    assert moved.get_linestyle() == "-" and moved.get_color() != cl.plots.FROZEN_COLOR


@pytest.mark.parametrize("count, name_length", [(1, 1), (4, 24), (14, 40)])
def test_plot_layout_keeps_every_label_inside_the_picture_and_off_the_axes(count, name_length):
    # The layout is worked out by hand (course_lib/plots.py), not by matplotlib's
    # constrained layout: nothing may fall off the picture or run into the other axes.
    variables = [
        tf.Variable(float(i), name=f"v{i:02d}".ljust(name_length, "x")) for i in range(count)
    ]
    record = cl.Trajectory(variables)
    variables[0].assign_add(1.0)
    record.record()
    # The longest title a lesson gives (lesson 04), wrapped onto a second line.
    title = (
        "Exercise 3: conv1 and BN's statistics frozen; "
        "gamma, beta, conv2, conv3 and the head trained"
    )
    fig = cl.plot_trajectory(record, title=title)
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)  # places the legends
    picture = fig.bbox
    top, strip = fig.axes
    legend, strip_legend = top.get_legend(), strip.get_legend()
    drawn = {  # tight boxes hold what is drawn: ticks, tick labels, axis labels, title
        "top axes": top.get_tightbbox(renderer),
        "strip": strip.get_tightbbox(renderer),
        "legend": legend.get_window_extent(renderer),
        "strip's legend": strip_legend.get_window_extent(renderer),
    }
    for what, box in drawn.items():
        assert picture.contains(box.x0, box.y0) and picture.contains(box.x1, box.y1), (
            f"the {what} falls off the picture: {box} not in {picture}"
        )
    under_top = legend.get_window_extent(renderer)
    assert not under_top.overlaps(strip.get_tightbbox(renderer)), "legend runs into the strip"
    assert not under_top.overlaps(top.xaxis.label.get_window_extent(renderer))
    assert under_top.y1 < top.get_window_extent(renderer).y0
    assert strip_legend.get_window_extent(renderer).x0 >= strip.get_window_extent(renderer).x1
    for label in strip.get_yticklabels():  # the variables' names, left of the strip
        assert label.get_window_extent(renderer).x1 <= strip.get_window_extent(renderer).x0


def test_audit_finds_a_model_whose_only_variable_keras_ignores():
    class OnlyRaw(keras.Model):
        def __init__(self):
            super().__init__(name="only_raw")
            self.scale = tf.Variable(2.0, name="scale")

        def call(self, x):
            return x * self.scale

    model = OnlyRaw()
    model(tf.ones((1, 1)))
    assert model.weights == []
    row = cl.audit(model).row("scale")
    assert row["tracked"] is False and row["saved"] is False and row["watched"] is True


def test_show_puts_a_png_into_the_notebook_output():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shown = []
    shell.display_pub.publish = lambda data, **kwargs: shown.append(data)
    try:
        cl.show(moved_at_step_two())
    finally:
        InteractiveShell.clear_instance()
    assert shown and shown[0]["image/png"][:4] in (b"\x89PNG", "iVBO")


def test_display_of_a_plot_shows_the_uncropped_png_that_show_makes():
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.core.pylabtools import select_figure_formats
    from IPython.display import display

    shell = InteractiveShell.instance()
    shown = []
    shell.display_pub.publish = lambda data, **kwargs: shown.append(data)
    fig = cl.plot_trajectory(moved_at_step_two())
    try:
        # How a notebook shows any other figure: drawn twice, to crop it.
        select_figure_formats(shell, {"png"}, bbox_inches="tight")
        display(fig)
    finally:
        InteractiveShell.clear_instance()
    (data,) = shown
    png = data["image/png"]
    png = base64.b64decode(png) if isinstance(png, str) else png
    assert png == fig.png()
    width, height = struct.unpack(">II", png[16:24])  # the PNG's header
    assert (width, height) == (900, round(fig.get_figheight() * 100))


def test_every_k_steps_summarises_only_those_steps():
    v = tf.Variable([0.0], name="v")
    record = cl.Trajectory([v], every=3)
    for _ in range(7):
        v.assign_add([1.0])
        record.record()
    assert record.steps == [0, 3, 6]
    assert record.track("v").max_abs_change == [0.0, 3.0, 6.0]
    with pytest.raises(ValueError, match="1 or more"):
        cl.Trajectory([v], every=0)


def test_only_tensorflows_retracing_advice_is_dropped(caplog):
    # Keras 3 traces anew for each compiled model: a notebook that fits several models trips
    # TensorFlow's retracing count, and stock nbgrader scores a test cell with stderr 0.
    x, y = np.ones((8, 2), "float32"), np.ones((8, 1), "float32")
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        for _ in range(7):
            model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss="mse")
            model.fit(x, y, verbose=0)
        tf.get_logger().warning("a warning that is not about retracing")
    messages = [r.getMessage() for r in caplog.records if r.name == "tensorflow"]
    assert messages == ["a warning that is not about retracing"]
