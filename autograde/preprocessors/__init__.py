"""The preprocessors autograde adds to nbgrader's, one per module as in nbgrader itself.

`nbgrader_config.py` names them as `autograde.preprocessors.NAME` in nbgrader's
configurable lists (`Autograde.sanitize_preprocessors`, `Autograde.autograde_preprocessors`,
`GenerateFeedback.preprocessors`).
"""

from .explain_failures import ExplainFailures
from .forget_duplicate_cells import ForgetDuplicateCells
from .hide_hidden_tests import HideHiddenTests
from .limit_output_bytes import LimitOutputBytes
from .limited_execute import LimitedExecute
from .stderr_costs_no_points import StderrCostsNoPoints

__all__ = [
    "ExplainFailures",
    "ForgetDuplicateCells",
    "HideHiddenTests",
    "LimitOutputBytes",
    "LimitedExecute",
    "StderrCostsNoPoints",
]
