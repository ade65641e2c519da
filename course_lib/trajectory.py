"""Record what training does to each variable, step by step, in bounded memory.

A record keeps one saved copy of each variable's initial value and, at every
recorded step, a few numbers per variable: its distance from the initial value,
its largest absolute change, whether it is still bit-identical to the initial
value, and a fixed sample of its coordinates. Its size grows with the number of
steps and the sample size, never with the number of parameters.

Recording is cheap enough to do after every step: one compiled call per step
summarises every variable (traced once, when the record starts), and its results
stay in TensorFlow until something reads them (a check, a plot, a print); then all
the steps waiting are brought to NumPy in one transfer.
"""

import keras
import ml_dtypes  # finfo for every float dtype, bfloat16 included (numpy's lacks it)
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

# Steps kept as tensors before they are brought to NumPy anyway (bounds their memory).
FETCH_EVERY = 256
# Variables of up to this many elements are summarised together, in a few operations for
# all of them; a larger one gets its own, which skip whole passes over it when they can.
LARGE = 2**15
_UNCHANGED = [0.0, 0.0, 1.0]  # distance, largest change, identical?


def _bits(value):
    """Bit patterns to compare: floats as same-width integers, anything else as it is."""
    bits = _SAME_WIDTH_INT.get(value.dtype)
    return value if bits is None else tf.bitcast(value, bits)


def _numbers(value):
    """Values to subtract: floats as they are, integer counters and seeds as float64."""
    return value if value.dtype.is_floating else tf.cast(value, tf.float64)


def _small(now, start, segments, count):
    """`count` variables of one dtype, flattened and joined: their numbers, [count, 3]."""
    differs = tf.cast(tf.not_equal(_bits(now), _bits(start)), tf.float64)
    moved = tf.math.unsorted_segment_max(differs, segments, count) > 0
    # The change in the variable's own dtype, then exactly as float64 (cheap: these are small).
    change = tf.cast(_numbers(now) - _numbers(start), tf.float64)
    largest = tf.math.unsorted_segment_max(tf.abs(change), segments, count)
    # Divided by the largest change first, no square under- or overflows.
    scaled = tf.math.divide_no_nan(change, tf.gather(largest, segments))
    distance = tf.sqrt(tf.math.unsorted_segment_sum(tf.square(scaled), segments, count)) * largest
    # A NaN anywhere makes the distance NaN; segment_max may skip it, so say NaN here too.
    largest = tf.where(tf.math.is_nan(distance), distance, largest)
    numbers = tf.stack([distance, largest, tf.zeros_like(largest)], 1)
    return tf.where(moved[:, None], numbers, tf.constant(_UNCHANGED, tf.float64))


def _large(now, start, sample, start_sample):
    """One large variable's numbers: [distance, largest change, identical?]."""

    def changes():
        change = _numbers(now) - _numbers(start)
        # Two read-only reductions instead of writing |change| out in full.
        largest = tf.maximum(tf.reduce_max(change), -tf.reduce_min(change))
        # Dividing by the largest change (as in _small) costs one more pass over the
        # values: only where squares would under- or overflow.
        info = ml_dtypes.finfo(change.dtype.as_numpy_dtype)
        tiny = float(np.sqrt(float(info.tiny))) * 2**10
        huge = float(np.sqrt(float(info.max) / max(change.shape.num_elements() or 1, 1))) / 2
        distance = tf.cond(
            (largest > 0) & ((largest < tiny) | (largest > huge)),
            lambda: tf.math.reduce_euclidean_norm(tf.math.divide_no_nan(change, largest)) * largest,
            lambda: tf.math.reduce_euclidean_norm(change),
        )
        return tf.cast(tf.stack([distance, largest, tf.zeros_like(largest)]), tf.float64)

    def same(a, b):
        return tf.reduce_all(tf.equal(_bits(a), _bits(b)))

    # A sampled coordinate that differs proves the variable moved, without the bit-level
    # pass over all of it; when the variable is frozen, that pass is all there is to do.
    moved = tf.cond(
        same(sample, start_sample),
        lambda: tf.logical_not(same(now, start)),
        lambda: tf.constant(True),
    )
    return tf.cond(moved, changes, lambda: tf.constant(_UNCHANGED, tf.float64))


def _compile_summaries(variables, indices):
    """Save every variable's start, and trace once the function that summarises them all.

    Returns the saved starts (one copy of each value) and the traced function. It returns
    one float64 vector: for each variable in turn, [distance, largest change,
    identical?, *samples at `indices`].
    """
    small, large = {}, []  # small variables by dtype; large ones on their own
    for k, variable in enumerate(variables):
        size = variable.shape.num_elements()
        if size is not None and size <= LARGE:
            small.setdefault(variable.dtype, []).append(k)
        else:
            large.append(k)

    def flat(ks):
        return tf.concat([tf.reshape(variables[k].read_value(), [-1]) for k in ks], 0)

    small_starts = {dtype: flat(ks) for dtype, ks in small.items()}
    # For each joined value: which variable each entry belongs to, and the samples' places.
    segments, positions = {}, {}
    for dtype, ks in small.items():
        sizes = [variables[k].shape.num_elements() for k in ks]
        segments[dtype] = tf.constant(np.repeat(np.arange(len(ks)), sizes), tf.int32)
        offsets = np.cumsum([0] + sizes[:-1])
        positions[dtype] = np.concatenate(
            [o + indices[k] for o, k in zip(offsets, ks, strict=True)]
        )
    large_starts = {k: tf.identity(variables[k].read_value()) for k in large}
    start_samples = {k: tf.gather(tf.reshape(large_starts[k], [-1]), indices[k]) for k in large}

    def summaries():
        parts, labels = [], []  # labels: (variable, slot) of each entry, slots 3... samples
        for dtype, ks in small.items():
            now = flat(ks)
            numbers = _small(now, small_starts[dtype], segments[dtype], len(ks))
            samples = tf.gather(now, positions[dtype])
            parts += [tf.reshape(numbers, [-1]), tf.cast(samples, tf.float64)]
            labels += [(k, slot) for k in ks for slot in range(3)]
            labels += [(k, 3 + j) for k in ks for j in range(len(indices[k]))]
        for k in large:
            now = variables[k].read_value()
            sample = tf.gather(tf.reshape(now, [-1]), indices[k])
            parts += [
                _large(now, large_starts[k], sample, start_samples[k]),
                tf.cast(sample, tf.float64),
            ]
            labels += [(k, slot) for slot in range(3 + len(indices[k]))]
        order = sorted(range(len(labels)), key=labels.__getitem__)
        return tf.gather(tf.concat(parts, 0), order)

    # Traced here, once: calling the traced function never retraces (and never prints
    # tf.function's retracing warning, however many records a notebook makes).
    starts = [*small_starts.values(), *large_starts.values()]
    return starts, tf.function(summaries, autograph=False).get_concrete_function()


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

    def __init__(self, name, shape, dtype, trainable, sample_index, fetch=lambda: None):
        self.name = name
        self.shape = tuple(shape)
        self.dtype = dtype
        self.trainable = trainable
        self.sample_index = sample_index  # flat indices of the sampled coordinates
        self._fetch = fetch  # brings the steps still held by TensorFlow into the lists below
        self._distance = []
        self._max_abs_change = []
        self._identical = []
        self._samples = []

    @property
    def distance(self):
        """L2 distance from the initial value, per recorded step."""
        self._fetch()
        return self._distance

    @property
    def max_abs_change(self):
        """Largest |value - initial| over all coordinates, per recorded step."""
        self._fetch()
        return self._max_abs_change

    @property
    def identical(self):
        """Bit-identical to the initial value? Per recorded step."""
        self._fetch()
        return self._identical

    @property
    def samples(self):
        """The sampled coordinates' values (float64), per recorded step."""
        self._fetch()
        return self._samples

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

    Taught in lessons 00, 01, 02, 03 and 04.
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
        for original, tf_var in zip(self.variables, self._tf_variables, strict=True):
            size = int(np.prod(tf_var.shape))
            if size <= sample_size:
                index = np.arange(size)
            else:
                index = np.sort(rng.choice(size, sample_size, replace=False))
            trainable = bool(getattr(original, "trainable", tf_var.trainable))
            self.tracks.append(
                VariableTrack(
                    variable_name(original),
                    tf_var.shape,
                    tf_var.dtype.name,
                    trainable,
                    index,
                    fetch=self._fetch,
                )
            )
        indices = [t.sample_index for t in self.tracks]
        # One saved copy of the start, which every record compares against, and the
        # compiled summary of every variable, traced once.
        self._initial, self._summarise = _compile_summaries(self._tf_variables, indices)
        # Where each variable's numbers start in the vector one call returns.
        self._offsets = np.cumsum([0] + [3 + len(t.sample_index) for t in self.tracks])
        self._pending = []  # one vector per recorded step, not yet brought to NumPy
        self.steps = []
        self._snapshot(step=0)

    def record(self, step=None):
        """Call after each training step; summarises it (or every k-th one, see `every`).

        Steps are numbered by the calls of `record()` unless you give `step`.
        """
        self._calls += 1
        if self._calls % self.every == 0:
            self._snapshot(self._calls if step is None else int(step))

    def _snapshot(self, step):
        if not tf.executing_eagerly():
            raise RuntimeError(
                "record() was called inside a tf.function: call it after the compiled "
                "step, from plain Python"
            )
        # One compiled call for all variables; the result stays a tensor for now.
        self._pending.append(self._summarise())
        self.steps.append(step)
        if len(self._pending) >= FETCH_EVERY:
            self._fetch()

    def _fetch(self):
        """Bring every step still held by TensorFlow to NumPy, in one transfer."""
        if not self._pending:
            return
        rows = tf.stack(self._pending).numpy()
        self._pending = []
        for track, offset in zip(self.tracks, self._offsets, strict=False):
            track._distance.extend(rows[:, offset].tolist())
            track._max_abs_change.extend(rows[:, offset + 1].tolist())
            track._identical.extend((rows[:, offset + 2] == 1.0).tolist())
            samples = rows[:, offset + 3 : offset + 3 + len(track.sample_index)].copy()
            track._samples.extend(samples)

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

    Taught in lessons 01, 03 and 04.
    """

    def __init__(self, sample_size=8, every=1):
        super().__init__()
        self.sample_size, self.every = sample_size, every
        self.trajectory = None

    def on_train_begin(self, logs=None):
        if self.trajectory is None:  # the model is built by now
            self.trajectory = Trajectory(self.model, sample_size=self.sample_size, every=self.every)
        # A new optimizer makes its slots (Adam's moments) inside fit()'s first traced step,
        # and a tf.function that creates variables is traced twice. Built here, with the
        # variables fit() would give it at that step, it costs one trace: about a third
        # less time for the first fit() of a small model.
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and not getattr(optimizer, "built", True):
            optimizer.build(self.model.trainable_variables)

    def on_train_batch_end(self, batch, logs=None):
        self.trajectory.record()

    def __repr__(self):
        return f"TrajectoryCallback({self.trajectory!r})"
