"""course_lib: the small library behind the lessons on frozen and trainable variables.

Import it before TensorFlow: it quiets TensorFlow's C++ start-up chatter (INFO
lines only; warnings and errors still print) unless you have set these yourself.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from .audit import Audit, audit  # noqa: E402
from .checks import (  # noqa: E402
    assert_bit_identical,
    assert_frozen,
    assert_trained,
    check_trajectory,
    problems,
)
from .plots import plot_trajectory, save_png, show  # noqa: E402
from .trajectory import (  # noqa: E402
    Trajectory,
    TrajectoryCallback,
    VariableTrack,
    underlying_tf_variable,
    variable_name,
    variables_of,
)

__all__ = [
    "Audit",
    "Trajectory",
    "TrajectoryCallback",
    "VariableTrack",
    "assert_bit_identical",
    "assert_frozen",
    "assert_trained",
    "audit",
    "check_trajectory",
    "plot_trajectory",
    "problems",
    "save_png",
    "show",
    "underlying_tf_variable",
    "variable_name",
    "variables_of",
]
