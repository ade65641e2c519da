"""The claims ledger: every claim the four source documents make about TensorFlow, checked.

Each document has its module, `doc000` to `doc003`: its examples, copied word for word,
its claims, quoted in its own words, and a short function per claim that runs TensorFlow
and reports what it saw. Lesson 04, which answers no document, has `lesson04`: its own
claims, quoted from the lesson, checked the same way. `common` holds what the checks share, `table` collects the claims.
The ledger runs every check under Keras 3 and under legacy Keras 2, each in its own
subprocess (`ledger.run`). The package imports nothing from the rest of the repository
and reads none of the documents from disk. Commands: `python -m claims` (a table),
`--json` (the records) and `--markdown` (the student page, notebooks/claims.md).
"""

import os


def quiet_tensorflow(env):
    """Keep TensorFlow's start-up chatter out of the process `env` is for, unless already set."""
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # no INFO lines from TensorFlow's C++ side
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # no oneDNN notice, and no round-off of its own
    return env


quiet_tensorflow(os.environ)  # here, before any module of the package imports TensorFlow
