"""Benchmark: what recording a trajectory costs. Prints figures; asserts nothing.

    make bench        (or: .venv/bin/python benchmarks/recording.py)

1. Time overhead: a GradientTape training loop (compiled train step) with and without
   `Trajectory.record()` after every step (and with `every=10`), for three model sizes.
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


def model_of(width, depth, inputs):
    keras.utils.set_random_seed(0)
    layers = [keras.Input((inputs,))]
    layers += [
        keras.layers.Dense(width, activation="relu", name=f"hidden{i}") for i in range(depth)
    ]
    layers += [keras.layers.Dense(1, name="head")]
    model = keras.Sequential(layers)
    model.layers[0].trainable = False  # one frozen layer, as in the lessons
    return model


def train_step_for(model):
    optimizer = keras.optimizers.SGD(learning_rate=1e-3)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    return step


def seconds_per_step(model, batch, steps, record, every=1):
    step = train_step_for(model)
    x = tf.random.normal((batch, model.inputs[0].shape[1]), seed=1)
    y = tf.zeros((batch, 1))
    trajectory = cl.Trajectory(model, every=every) if record else None
    for _ in range(5):  # warm up: tracing and first allocations
        step(x, y).numpy()
        if record:
            trajectory.record()
    start = time.perf_counter()
    for _ in range(steps):
        step(x, y).numpy()
        if record:
            trajectory.record()
    return (time.perf_counter() - start) / steps


def overhead(name, width, depth, inputs, batch, steps, repeats=3):
    model = model_of(width, depth, inputs)
    params = model.count_params()
    plain, every_step, every_tenth = [], [], []
    for _ in range(repeats):  # interleave so drifts in machine load hit all three alike
        plain.append(seconds_per_step(model, batch, steps, record=False))
        every_step.append(seconds_per_step(model, batch, steps, record=True))
        every_tenth.append(seconds_per_step(model, batch, steps, record=True, every=10))
    p = statistics.median(plain)
    r1, r10 = statistics.median(every_step), statistics.median(every_tenth)
    print(
        f"{name:<7}{params:>11,d} params  batch {batch:>4}  {p * 1e3:7.2f} ms/step  "
        f"recorded every step {r1 * 1e3:7.2f} ms ({100 * (r1 - p) / p:+5.1f}%)  "
        f"every 10th {r10 * 1e3:7.2f} ms ({100 * (r10 - p) / p:+5.1f}%)"
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
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} cores")
    overhead("small", width=64, depth=2, inputs=32, batch=32, steps=300)
    overhead("medium", width=512, depth=3, inputs=256, batch=256, steps=100)
    overhead("10M", width=2236, depth=2, inputs=2236, batch=256, steps=20)
    memory()
