"""max_pool2d_forward computes W_out with the kernel HEIGHT: Wo = (W + 2pw - KH) // sw + 1.

Invisible with square kernels; a kernel (3, 2) gets fewer output columns.
"""

MODULE = "pooling"
EXPECTED_PARTS = {"max_pool"}
NAMED = {"max_pool": "height_for_width"}

import numpy as np
from common import conv_output_size, pair


def max_pool2d_forward(x, kernel_size, stride=None, padding=0):
    N, C, H, W = x.shape
    kernel = pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else pair(stride, "stride")
    padding = pair(padding, "padding")
    (KH, KW), (sh, sw), (ph, pw) = kernel, stride, padding
    Ho = conv_output_size(H, KH, sh, ph)
    Wo = conv_output_size(W, KH, sw, pw)  # BUG: KH for the width
    xp = _pad(x, padding, -np.inf)
    out = np.full((N, C, Ho, Wo), -np.inf, dtype=x.dtype)
    tap = np.zeros((N, C, Ho, Wo), dtype=np.int64)
    for t, window in enumerate(_taps(kernel, stride, (Ho, Wo))):
        values = xp[window]
        tap[values > out] = t
        np.maximum(out, values, out=out)
    corner = (np.arange(Ho)[:, None] * sh - ph) * W + (np.arange(Wo) * sw - pw)
    offset = (np.arange(KH)[:, None] * W + np.arange(KW)).ravel()
    indices = corner + offset[tap]
    return out, indices, (x.shape, indices)
