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

__all__ = ["CHECKERS", "Failed"]
