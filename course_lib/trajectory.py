"""Record what training does to each variable, step by step, in bounded memory.

A record keeps one saved copy of each variable's initial value and, at every
recorded step, a few numbers per variable: its distance from the initial value,
its largest absolute change, whether it is still bit-identical to the initial
value, and a fixed sample of its coordinates. Its size grows with the number of
steps and the sample size, never with the number of parameters.
"""

import keras
import numpy as np
import tensorflow as tf

# Reinterpreting floats as same-width integers makes "unchanged" mean bit-identical:
# -0.0 differs from 0.0, and a NaN that stays the same NaN counts as unchanged.
_SAME_WIDTH_INT = {
    tf.float16: tf.int16,
    tf.bfloat16: tf.int16,
    tf.float32: tf.int32,
    tf.float64: tf.int64,
}


def _bit_identical(now, start, bits):
    if bits is None:
        return tf.reduce_all(tf.equal(now, start))
    return tf.reduce_all(tf.equal(tf.bitcast(now, bits), tf.bitcast(start, bits)))


def variable_name(variable):
    """A readable name: the Keras 3 path (`dense/kernel`) or the tf.Variable name without `:0`.

    Taught in lesson 02.
    """
    path = getattr(variable, "path", None)
    if path:
        return path
    name = variable.name
    return name[:-2] if name.endswith(":0") else name


def underlying_tf_variable(variable):
    """The `tf.Variable` that holds the value: itself, or the one inside a Keras 3 variable."""
    if isinstance(variable, tf.Variable):
        return variable
    inner = getattr(variable, "value", None)
    if isinstance(inner, tf.Variable):
        return inner
    raise TypeError(
        f"expected a tf.Variable or a Keras variable, got {type(variable).__name__}; "
        "pass model.weights, a list of variables, or a Keras model"
    )


def variables_of(source):
    """The variables to follow: a Keras model's or layer's `weights`, or a list as given."""
    if hasattr(source, "weights") and not isinstance(source, tf.Variable):
        weights = list(source.weights)
        if not weights:
            raise ValueError(
                f"{type(source).__name__} has no weights yet: build it first "
                "(call it on a batch, or give it an Input) and then start recording"
            )
        return weights
    if isinstance(source, tf.Variable) or hasattr(source, "path"):
        return [source]
    variables = list(source)
    if not variables:
        raise ValueError("nothing to record: the list of variables is empty")
    return variables


class VariableTrack:
    """What happened to one variable: its flag, and per-step summaries since the start.

    What `Trajectory.track(name)` returns, and what `Trajectory.tracks` holds.
    """

    def __init__(self, name, shape, dtype, trainable, sample_index):
        self.name = name
        self.shape = tuple(shape)
        self.dtype = dtype
        self.trainable = trainable
        self.sample_index = sample_index  # flat indices of the sampled coordinates
        self.distance = []  # L2 distance from the initial value
        self.max_abs_change = []  # largest |value - initial| over all coordinates
        self.identical = []  # bit-identical to the initial value?
        self.samples = []  # sampled coordinates' values

    @property
    def frozen(self):
        """True when the variable was bit-identical to its initial value at every recorded step."""
        return all(self.identical)

    @property
    def first_change(self):
        """(step index, largest change) at the first recorded step where it differed, or None."""
        for i, same in enumerate(self.identical):
            if not same:
                return i, self.max_abs_change[i]
        return None

    @property
    def verdict(self):
        """A few words for plots and tables: 'frozen' or 'moved (max 3.1e-02)'."""
        if self.frozen:
            return "frozen"
        return f"moved (max {max(self.max_abs_change):.1e})"

    def __repr__(self):
        return (
            f"VariableTrack({self.name!r}, shape={self.shape}, trainable={self.trainable}, "
            f"{self.verdict})"
        )


class Trajectory:
    """Follows a set of variables through training: call `record()` after each step.

    Taught in lessons 00, 01, 02 and 03.
    """

    def __init__(self, source, sample_size=8, every=1, seed=0):
        """Save each variable's initial value and record step 0.

        `every=k` summarises every k-th call of `record()` only: k times cheaper, and
        "frozen" then means bit-identical at every *recorded* step.
        """
        if int(every) < 1:
            raise ValueError(f"every must be a whole number of steps, 1 or more; got {every!r}")
        self.every = int(every)
        self._calls = 0
        self.variables = variables_of(source)
        self._tf_variables = [underlying_tf_variable(v) for v in self.variables]
        rng = np.random.default_rng(seed)
        self.tracks = []
        self._initial = []
        for original, tf_var in zip(self.variables, self._tf_variables, strict=True):
            size = int(np.prod(tf_var.shape))
            if size <= sample_size:
                index = np.arange(size)
            else:
                index = np.sort(rng.choice(size, sample_size, replace=False))
            trainable = bool(getattr(original, "trainable", tf_var.trainable))
            self.tracks.append(
                VariableTrack(
                    variable_name(original), tf_var.shape, tf_var.dtype.name, trainable, index
                )
            )
            # One saved copy of the start: the bit-identical test compares against it.
            self._initial.append(tf.identity(tf_var.read_value()))
        self._indices = [tf.constant(t.sample_index, dtype=tf.int64) for t in self.tracks]
        self._summarise = tf.function(self._summaries)
        # Each record traces its own function; TensorFlow would count those traces
        # together and warn about "retracing" on stderr, inside whatever cell runs next.
        self._summarise._omit_frequent_tracing_warning = True
        self.steps = []
        self._snapshot(step=0)

    def _summaries(self):
        """Every variable's (distance, max |change|, identical?) and samples, as two vectors."""
        numbers, samples = [], []
        for var, start, index in zip(self._tf_variables, self._initial, self._indices, strict=True):
            now = var.read_value()
            samples.append(tf.cast(tf.gather(tf.reshape(now, [-1]), index), tf.float64))
            bits = _SAME_WIDTH_INT.get(now.dtype)
            if not now.dtype.is_floating:  # integer counters, seeds: compare as float64
                now, start = tf.cast(now, tf.float64), tf.cast(start, tf.float64)
            change = now - start
            if change.shape.num_elements() == 0:
                largest = tf.zeros([], change.dtype)
            else:
                # Two read-only reductions instead of writing |change| out in full.
                largest = tf.maximum(tf.reduce_max(change), -tf.reduce_min(change))
            # Only a variable that looks unchanged needs the bit-level test (-0.0, NaN),
            # and only one that moved needs its distance: skip the pass that is not needed.
            distance, identical = tf.cond(
                largest > 0,
                lambda change=change: (tf.math.reduce_euclidean_norm(change), False),
                lambda now=now, start=start, bits=bits, dtype=change.dtype: (
                    tf.zeros([], dtype),
                    _bit_identical(now, start, bits),
                ),
            )
            numbers.append(
                tf.stack(
                    [
                        tf.cast(distance, tf.float64),
                        tf.cast(largest, tf.float64),
                        tf.cast(identical, tf.float64),
                    ]
                )
            )
        return tf.concat(numbers, 0), tf.concat(samples, 0)

    def record(self, step=None):
        """Call after each training step; summarises it (or every k-th one, see `every`).

        Steps are numbered by the calls of `record()` unless you give `step`.
        """
        self._calls += 1
        if self._calls % self.every == 0:
            self._snapshot(self._calls if step is None else int(step))

    def _snapshot(self, step):
        numbers, samples = self._summarise()
        numbers, samples = numbers.numpy().reshape(-1, 3), samples.numpy()
        offset = 0
        for track, (distance, largest, identical) in zip(self.tracks, numbers, strict=True):
            track.distance.append(float(distance))
            track.max_abs_change.append(float(largest))
            track.identical.append(bool(identical))
            size = len(track.sample_index)
            track.samples.append(samples[offset : offset + size])
            offset += size
        self.steps.append(step)

    def track(self, name):
        """The track of the variable called `name` (its full name, or a unique ending)."""
        exact = [t for t in self.tracks if t.name == name]
        if exact:
            return exact[0]
        ending = [t for t in self.tracks if t.name.endswith("/" + name)]
        if len(ending) == 1:
            return ending[0]
        known = ", ".join(t.name for t in self.tracks)
        if ending:
            raise KeyError(f"{name!r} matches several variables ({known}); give the full name")
        raise KeyError(f"no recorded variable is called {name!r}; recorded: {known}")

    @property
    def frozen(self):
        """Names of the variables that stayed bit-identical at every recorded step."""
        return [t.name for t in self.tracks if t.frozen]

    @property
    def moved(self):
        """Names of the variables that differed from their start at some recorded step."""
        return [t.name for t in self.tracks if not t.frozen]

    def nbytes(self):
        """Bytes the record holds: the initial copies plus the per-step summaries."""
        initial = sum(int(np.prod(t.shape)) * t.dtype.size for t in self._initial)
        per_step = sum(3 * 8 + 1 + len(t.sample_index) * 8 for t in self.tracks)
        return initial + per_step * len(self.steps)

    def __repr__(self):
        lines = [f"Trajectory of {len(self.tracks)} variables over {len(self.steps) - 1} steps:"]
        width = max(len(t.name) for t in self.tracks)
        for t in self.tracks:
            lines.append(f"  {t.name:<{width}}  trainable={t.trainable!s:<5}  {t.verdict}")
        return "\n".join(lines)


class TrajectoryCallback(keras.callbacks.Callback):
    """Records a `model.fit()` run after every batch; read the record from `.trajectory`.

    A second `fit()` with the same callback continues the same record.

    Taught in lessons 01 and 03.
    """

    def __init__(self, sample_size=8, every=1):
        super().__init__()
        self.sample_size, self.every = sample_size, every
        self.trajectory = None

    def on_train_begin(self, logs=None):
        if self.trajectory is None:  # the model is built by now
            self.trajectory = Trajectory(self.model, sample_size=self.sample_size, every=self.every)

    def on_train_batch_end(self, batch, logs=None):
        self.trajectory.record()

    def __repr__(self):
        return f"TrajectoryCallback({self.trajectory!r})"
