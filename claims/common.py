"""What every check uses: the documents, `Claim`, `Seen`, and running code while watching it.

A check returns a `Seen`: whether the claim holds (None when running code cannot decide
it), the evidence in words, and, for a measurement, the exact figures of this run.
Checks use `tf.keras`, never `import keras`, so the same check runs under Keras 3 and,
with TF_USE_LEGACY_KERAS=1 set before TensorFlow loads, under legacy Keras 2.
Many checks run a document's example exactly as written (`ran`); each document's module
holds its examples, copied word for word, so the ledger needs nothing outside this package.
"""

import contextlib
import io
import logging
import re
import traceback
import warnings
from functools import cache
from typing import NamedTuple

import numpy as np

# The four documents, by number: (file name, title). Each has its module, `claims/docNNN.py`.
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
    check: object  # a function of the document's module that returns a `Seen`
    correction: str  # one sentence: what is true

    @property
    def seed(self):
        """The document's file name."""
        return DOCUMENTS[self.id[:3]][0]


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
def ran(source):
    """A document's example (one of its `EXAMPLE_n`), run once per process."""
    return run(source)


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
