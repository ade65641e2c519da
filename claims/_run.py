"""Run every check in this process, under whichever Keras `tf.keras` is, and print JSON.

The ledger starts this module twice, `python -m claims._run`, once with
TF_USE_LEGACY_KERAS=1 in its environment (legacy Keras 2) and once without (Keras 3).
"""

import contextlib
import json
import sys

import tensorflow as tf

from .common import short
from .table import CLAIMS

VERDICTS = {True: "true", False: "false", None: "untestable"}


def check_all():
    """{claim id: {"verdict", "evidence", "figures"}} for every claim, in table order."""
    results = {}
    for claim in CLAIMS:
        tf.keras.utils.set_random_seed(0)  # the same values, hence the same evidence, every run
        try:
            seen = claim.check()
            result = {
                "verdict": VERDICTS[seen.holds],
                "evidence": seen.evidence,
                "figures": seen.figures,
            }
        except Exception as e:  # a check that breaks is reported, not hidden
            result = {
                "verdict": "error",
                "evidence": f"the check failed: {type(e).__name__}: {short(e)}",
            }
            result["figures"] = ""
        results[claim.id] = result
    return results


def main():
    """Print the results as JSON on stdout; anything the checks print goes to stderr."""
    with contextlib.redirect_stdout(sys.stderr):
        results = check_all()
    # "keras" for Keras 3, "tf_keras" for legacy Keras 2: the ledger checks it got the one it asked for.
    keras = tf.keras.Model.__module__.split(".")[0]
    json.dump({"keras": keras, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
