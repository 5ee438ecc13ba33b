"""dilate_kernel puts d - 1 zeros after EVERY tap, the last one included: d*K rows instead of d*(K - 1) + 1.

The taps sit where they belong; the kernel ends with d - 1 rows and columns of zeros too many.
"""

MODULE = "dilated"
EXPECTED_PARTS = {"dilate_kernel"}
NAMED = {"dilate_kernel": "extra_border"}
SAYS = {"dilate_kernel": ["w_dilated holds the expected w_dilated in rows 0-4 and columns 0-4 of its 6 x 6: 1 row at the bottom, 1 column at the right of zeros too many"]}

import numpy as np
from common import pair


def dilate_kernel(w, dilation):
    dh, dw = pair(dilation, "dilation")
    F, C, KH, KW = w.shape
    w_dilated = np.zeros((F, C, dh * KH, dw * KW), dtype=w.dtype)  # BUG: dh*(KH - 1) + 1
    w_dilated[:, :, ::dh, ::dw] = w
    return w_dilated
