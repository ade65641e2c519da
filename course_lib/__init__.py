"""course_lib: the small library behind the lessons on frozen and trainable variables.

Import it before TensorFlow: it quiets TensorFlow's C++ start-up chatter (INFO
lines only; warnings and errors still print) unless you have set these yourself.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

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
