"""A variable audit: which variables a model has, and what TensorFlow and Keras do with each.

Every column is observed, not assumed: "watched" runs a `tf.GradientTape`,
"saved" round-trips the model through `save_weights`/`load_weights`.
"""

import os
import tempfile

import numpy as np
import tensorflow as tf

from .trajectory import underlying_tf_variable, variable_name, variables_of

COLUMNS = ("name", "shape", "trainable", "tracked", "watched", "saved")


def _stray_variables(model):
    """tf.Variables held as attributes of the model or its layers (Keras 3 does not track them)."""
    found, seen = [], set()
    layers = [model] + list(getattr(model, "_flatten_layers", lambda: [])())
    for layer in layers:
        for value in vars(layer).values():
            candidates = value if isinstance(value, list | tuple) else [value]
            for candidate in candidates:
                if isinstance(candidate, tf.Variable) and id(candidate) not in seen:
                    seen.add(id(candidate))
                    found.append(candidate)
    return found


def _watched_by_default(tf_var):
    """Does a fresh GradientTape watch this variable when it is read, without tape.watch()?"""
    with tf.GradientTape() as tape:
        tf.identity(tf_var)
    return any(w is tf_var for w in tape.watched_variables())


def _restored_by_load_weights(model, tf_vars):
    """Save the weights, overwrite every variable, load them back: which came back?"""
    originals = [v.numpy().copy() for v in tf_vars]
    restored = []
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "audit.weights.h5")
        model.save_weights(path)
        try:
            for v, value in zip(tf_vars, originals, strict=True):
                v.assign((value + 1).astype(value.dtype))
            model.load_weights(path)
            for v, value in zip(tf_vars, originals, strict=True):
                now = v.numpy()
                restored.append(
                    bool(np.array_equal(now, value) and not np.array_equal(now, value + 1))
                )
        finally:
            for v, value in zip(tf_vars, originals, strict=True):
                v.assign(value)
    return restored


class Audit:
    """A table of variables: name, shape, trainable flag, tracked, watched, saved.

    What `audit()` returns; lessons print it and read rows with `row()`.
    """

    def __init__(self, rows):
        self.rows = rows

    def row(self, name):
        """The row of the variable called `name` (full name or unique ending)."""
        matches = [r for r in self.rows if r["name"] == name or r["name"].endswith("/" + name)]
        if len(matches) != 1:
            known = ", ".join(r["name"] for r in self.rows)
            raise KeyError(f"{name!r} matches {len(matches)} variables; the audit has: {known}")
        return matches[0]

    def _cells(self):
        def show(value):
            return "-" if value is None else str(value)

        return [[show(r[c]) for c in COLUMNS] for r in self.rows]

    def __repr__(self):
        cells = [list(COLUMNS)] + self._cells()
        widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def _repr_html_(self):
        head = "".join(f"<th>{c}</th>" for c in COLUMNS)
        body = "".join(
            "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>" for cells in self._cells()
        )
        return f"<table><tr>{head}</tr>{body}</table>"


def audit(source):
    """Audit a Keras model (or layer) or a list of variables.

    For a model, raw `tf.Variable` attributes that Keras 3 ignores are listed too,
    with tracked=False.

    Taught in lesson 01.
    """
    is_keras = hasattr(source, "weights") and not isinstance(source, tf.Variable)
    if is_keras:
        variables = list(source.weights)
        tracked_ids = {id(underlying_tf_variable(v)) for v in variables}
        variables += [v for v in _stray_variables(source) if id(v) not in tracked_ids]
        if not variables:
            raise ValueError(
                f"{type(source).__name__} has no variables yet: build it first "
                "(call it on a batch, or give it an Input) and then audit it"
            )
    else:
        variables = variables_of(source)
    tf_vars = [underlying_tf_variable(v) for v in variables]
    saved = [None] * len(tf_vars)
    if is_keras and hasattr(source, "save_weights"):
        saved = _restored_by_load_weights(source, tf_vars)
    rows = []
    for v, tf_var, was_saved in zip(variables, tf_vars, saved, strict=True):
        rows.append(
            {
                "name": variable_name(v),
                "shape": tuple(tf_var.shape),
                "trainable": bool(v.trainable),
                "tracked": (id(tf_var) in tracked_ids) if is_keras else None,
                "watched": _watched_by_default(tf_var),
                "saved": was_saved,
            }
        )
    return Audit(rows)
