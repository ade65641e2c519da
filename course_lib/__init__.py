"""course_lib: the small library behind the lessons on frozen and trainable variables.

Import it before TensorFlow: it quiets TensorFlow's C++ start-up chatter (INFO
lines only; warnings and errors still print) unless you have set these yourself, and
drops one Python warning that never applies to the lessons (below).
"""

import logging
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


class _NoRetracingAdvice(logging.Filter):
    """Drop TensorFlow's "triggered tf.function retracing" warning, and only that one.

    Keras 3 traces a new training function for every compiled model; a notebook that
    compiles several models (every lesson does, and so do the exercises' tests) trips
    TensorFlow's count of frequent retracing, whose advice (a tf.function made in a
    loop) is about code the learner did not write. In a test cell that warning is
    stderr output, which stock nbgrader scores 0. Other warnings still print.
    """

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


logging.getLogger("tensorflow").addFilter(_NoRetracingAdvice())

from .audit import audit  # noqa: E402
from .checks import (  # noqa: E402
    assert_bit_identical,
    assert_frozen,
    assert_trained,
    check_trajectory,
    problems,
)
from .plots import plot_trajectory, show  # noqa: E402
from .trajectory import Trajectory, TrajectoryCallback, variable_name  # noqa: E402

__all__ = [
    "Trajectory",
    "TrajectoryCallback",
    "assert_bit_identical",
    "assert_frozen",
    "assert_trained",
    "audit",
    "check_trajectory",
    "plot_trajectory",
    "problems",
    "show",
    "variable_name",
]
