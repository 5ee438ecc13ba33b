"""dilate_kernel inserts d zeros between taps instead of d - 1 (size (d+1)(k-1)+1)."""

MODULE = "dilated"
EXPECTED_PARTS = {"dilate_kernel"}
NAMED = {"dilate_kernel": "dilate_d_zeros"}

import numpy as np
from common import pair


def dilate_kernel(w, dilation):
    dh, dw = pair(dilation, "dilation")
    F, C, KH, KW = w.shape
    sh, sw = dh + 1, dw + 1  # BUG: d zeros, so taps d + 1 apart
    w_dilated = np.zeros((F, C, sh * (KH - 1) + 1, sw * (KW - 1) + 1), dtype=w.dtype)
    w_dilated[:, :, ::sh, ::sw] = w
    return w_dilated
