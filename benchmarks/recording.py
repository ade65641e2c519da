"""Benchmark: what recording a trajectory costs. Prints figures; asserts nothing.

    make bench        (or: .venv/bin/python benchmarks/recording.py [small medium 10M])

1. Time overhead of recording every step (and every 10th), for three model sizes, each
   with the first half of its hidden layers frozen and Adam, in two modes:
   - `loop`: a compiled `GradientTape` train step, then `Trajectory.record()`;
   - `fit`: `model.fit()` with `TrajectoryCallback`.
   The time spent recording is measured around each call, against the time of the steps
   it follows in the same run, so that load from other processes on a shared machine
   slows both alike; each figure is the median over several short runs, run in turn.
   The floor is one read of every parameter per step (a compiled call that reads each
   variable once and keeps one number): no exact "bit-identical" test can cost less.
2. Memory: the peak resident memory of 1,000 training steps of a ~10M-parameter model,
   recorded and not, each in a fresh process.
"""

import os
import resource
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

# course_lib first: it quiets TensorFlow before TensorFlow loads.
import course_lib as cl  # noqa: E402, I001
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

MODELS = {  # name: (width, hidden layers, inputs, batch, steps per block)
    "small": (64, 2, 32, 32, 200),
    "medium": (512, 3, 256, 256, 40),
    "10M": (2236, 2, 2236, 256, 8),
}
BLOCKS = 9


def model_of(width, depth, inputs):
    keras.utils.set_random_seed(0)
    layers = [keras.Input((inputs,))]
    layers += [
        keras.layers.Dense(width, activation="relu", name=f"hidden{i}") for i in range(depth)
    ]
    layers += [keras.layers.Dense(1, name="head")]
    model = keras.Sequential(layers)
    for layer in model.layers[: (depth + 1) // 2]:  # the first half of the hidden layers
        layer.trainable = False
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mse")
    return model


def train_step_for(model):
    optimizer = keras.optimizers.Adam(learning_rate=1e-4)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    return step


def floor_for(model):
    """One read of every parameter: each variable reduced to one number, in one call."""
    variables = [cl.trajectory.underlying_tf_variable(v) for v in model.weights]

    @tf.function(autograph=False)
    def read_all():
        return tf.stack([tf.reduce_max(tf.bitcast(v.read_value(), tf.int32)) for v in variables])

    concrete = read_all.get_concrete_function()
    return lambda: concrete()


def loop_timer(model, batch):
    """run(steps, after_step) -> (seconds per step, seconds per after_step call)."""
    step = train_step_for(model)
    x = tf.random.normal((batch, model.inputs[0].shape[1]), seed=1)
    y = tf.zeros((batch, 1))
    step(x, y).numpy()  # trace

    def run(steps, after_step):
        stepping = recording = 0.0
        for _ in range(steps):
            start = time.perf_counter()
            step(x, y).numpy()
            middle = time.perf_counter()
            after_step()
            stepping += middle - start
            recording += time.perf_counter() - middle
        return stepping / steps, recording / steps

    return run


class Timed(keras.callbacks.Callback):
    """Forwards to a callback, adding up the time its batch hook takes."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.seconds = inner, 0.0

    def set_model(self, model):
        super().set_model(model)
        self.inner.set_model(model)

    def on_train_begin(self, logs=None):
        self.inner.on_train_begin(logs)

    def on_train_batch_end(self, batch, logs=None):
        start = time.perf_counter()
        self.inner.on_train_batch_end(batch, logs)
        self.seconds += time.perf_counter() - start


def fit_timer(model, batch):
    """run(steps, callback) -> (seconds per batch outside the callback, inside it)."""
    x = tf.random.normal((batch, model.inputs[0].shape[1]), seed=1)
    data = tf.data.Dataset.from_tensors((x, tf.zeros((batch, 1))))

    def run(steps, callback):
        timed = Timed(callback)
        start = time.perf_counter()
        model.fit(data.repeat(steps), epochs=1, verbose=0, callbacks=[timed], shuffle=False)
        total = time.perf_counter() - start
        return (total - timed.seconds) / steps, timed.seconds / steps

    return run


def in_turn(runs):
    """Run each (name, run) in turn, BLOCKS times; per name, the median of
    (seconds per step, added seconds / seconds per step)."""
    results = {name: [] for name, _ in runs}
    for _ in range(BLOCKS):
        for name, run in runs:
            results[name].append(run())
    return {
        name: (
            statistics.median(step for step, _ in pairs),
            statistics.median(added / step for step, added in pairs),
        )
        for name, pairs in results.items()
    }


def measure(name):
    width, depth, inputs, batch, steps = MODELS[name]
    model = model_of(width, depth, inputs)
    params = model.count_params()
    frozen = sum(int(tf.size(v)) for v in model.non_trainable_weights) / params
    loop = loop_timer(model, batch)
    start = time.perf_counter()
    every_step = cl.Trajectory(model)
    setup = time.perf_counter() - start
    every_tenth = cl.Trajectory(model, every=10)
    floor = floor_for(model)
    for warm in (every_step.record, every_tenth.record, floor):  # first calls allocate
        loop(3, warm)
    looped = in_turn(
        [
            ("every step", lambda: loop(steps, every_step.record)),
            ("every 10th", lambda: loop(steps, every_tenth.record)),
            ("floor", lambda: loop(steps, floor)),
        ]
    )
    # Reading the record at the end brings its last steps to NumPy: part of the cost.
    start = time.perf_counter()
    assert every_step.track("hidden0/kernel").frozen
    fetch = time.perf_counter() - start
    print(
        f"{name:<7}{params:>11,d} params ({frozen:.0%} frozen), batch {batch:>3}: "
        f"Trajectory() {setup * 1e3:.0f} ms once, reading {len(every_step.steps)} steps "
        f"{fetch * 1e3:.1f} ms once"
    )
    print(
        f"  loop  {looped['every step'][0] * 1e3:7.2f} ms/step   "
        f"every step {looped['every step'][1]:+6.1%}   every 10th {looped['every 10th'][1]:+6.1%}"
        f"   floor (one read) {looped['floor'][1]:+6.1%}"
    )
    fit = fit_timer(model, batch)
    callback, callback_10 = cl.TrajectoryCallback(), cl.TrajectoryCallback(every=10)
    fit(3, callback), fit(3, callback_10)  # each traces its record once, here
    fitted = in_turn(
        [
            ("every step", lambda: fit(steps, callback)),
            ("every 10th", lambda: fit(steps, callback_10)),
        ]
    )
    print(
        f"  fit   {fitted['every step'][0] * 1e3:7.2f} ms/step   "
        f"every step {fitted['every step'][1]:+6.1%}   every 10th {fitted['every 10th'][1]:+6.1%}",
        flush=True,
    )


def peak_rss_mb(steps, record):
    """Train a ~10M-parameter model for `steps` steps; return this process's peak RSS."""
    model = model_of(width=2236, depth=2, inputs=2236)
    step = train_step_for(model)
    x, y = tf.random.normal((32, 2236), seed=1), tf.zeros((32, 1))
    trajectory = cl.Trajectory(model) if record else None
    for _ in range(steps):
        step(x, y).numpy()
        if record:
            trajectory.record()
    if record:  # read the record, as a check would: brings the last steps to NumPy
        assert trajectory.track("hidden0/kernel").frozen and len(trajectory.steps) == steps + 1
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory(steps=1000):
    """Peak memory of two fresh processes, alike but for recording."""
    peaks = {}
    for mode in ("plain", "recorded"):
        child = subprocess.run(
            [sys.executable, __file__, "--memory-child", mode, str(steps)],
            capture_output=True,
            text=True,
            check=True,
        )
        peaks[mode] = float(child.stdout.split()[-1])
    print(
        f"memory: ~10M params, {steps} steps: peak RSS {peaks['plain']:.0f} MB plain, "
        f"{peaks['recorded']:.0f} MB recorded: recording added "
        f"{peaks['recorded'] - peaks['plain']:.0f} MB"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--memory-child"]:
        print(peak_rss_mb(int(sys.argv[3]), record=sys.argv[2] == "recorded"))
        sys.exit()
    load = os.getloadavg()[0]
    print(
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} cores, "
        f"load average {load:.1f} at the start"
    )
    for name in sys.argv[1:] or MODELS:
        measure(name)
    if not sys.argv[1:]:
        memory()
