"""Which checker runs a part: the generic layer checker (layer.py) unless the table names a bespoke one
(checks.py). A checker takes (sandbox, part entry, case) and returns the case's problems (none: passed)."""

from .calls import Failed
from .checks import check_gemm_efficiency, check_receptive_field
from .layer import check_layer

CHECKERS = {
    "layer": check_layer,
    "receptive_field": check_receptive_field,
    "gemm_efficiency": check_gemm_efficiency,
}
# What a checker measures on a case (CaseResult.metrics) that a part's ``leaderboard:`` can report to Gradescope:
# {check: (metric, order)}, order "asc" when lower is better.
METRICS = {
    "gemm_efficiency": ("time_vs_torch", "asc"),
}

__all__ = ["CHECKERS", "METRICS", "Failed"]
