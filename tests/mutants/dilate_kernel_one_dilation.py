"""dilate_kernel takes one dilation for both axes: the first value of a pair.

`d = dilation if isinstance(dilation, int) else dilation[0]`: right for an int and for (d, d); a pair (dh, dw)
with dh != dw gets dh along the width too, and the wrong shape.
"""

MODULE = "dilated"
EXPECTED_PARTS = {"dilate_kernel"}
NAMED = {"dilate_kernel": "option_one_value"}
DIFFICULTY = {"dilate_kernel": "dilation_pair"}

import numpy as np


def dilate_kernel(w, dilation):
    d = dilation if isinstance(dilation, int) else dilation[0]  # BUG: one value for both axes
    F, C, KH, KW = w.shape
    w_dilated = np.zeros((F, C, d * (KH - 1) + 1, d * (KW - 1) + 1), dtype=w.dtype)
    w_dilated[:, :, ::d, ::d] = w
    return w_dilated
