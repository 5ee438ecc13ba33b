"""avg_pool2d_backward divides dout by the kernel's height only, KH instead of KH * KW.

Every window's share is KW times too large: dx is the right gradient times KW, everywhere. The forward is
right.
"""

MODULE = "pooling"
EXPECTED_PARTS = {"avg_pool"}
NAMED = {"avg_pool": "scaled"}
SAYS = {"avg_pool": ["dx is the expected dx times 3 = KH = KW"]}

import numpy as np


def avg_pool2d_backward(dout, cache):
    x_shape, kernel, stride, padding = cache
    N, C, H, W = x_shape
    ph, pw = padding
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=dout.dtype)
    share = dout / kernel[0]  # BUG: / (kernel[0] * kernel[1])
    for window in _taps(kernel, stride, dout.shape[2:]):
        dxp[window] += share
    return np.ascontiguousarray(dxp[:, :, ph : ph + H, pw : pw + W])
