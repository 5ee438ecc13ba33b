"""avg_pool2d_forward takes stride=None as stride 1 (torch: stride = kernel_size)."""

MODULE = "pooling"
EXPECTED_PARTS = {"avg_pool"}
NAMED = {"avg_pool": "stride_none"}

import numpy as np


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0):
    N, C = x.shape[:2]
    kernel, stride, padding, (Ho, Wo) = _sizes(x.shape, kernel_size, 1 if stride is None else stride, padding)
    xp = _pad(x, padding, 0)
    out = np.zeros((N, C, Ho, Wo), dtype=x.dtype)
    for window in _taps(kernel, stride, (Ho, Wo)):
        out += xp[window]
    out /= kernel[0] * kernel[1]
    return out, (x.shape, kernel, stride, padding)
