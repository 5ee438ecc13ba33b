"""avg_pool2d_backward forgets the 1/(kh*kw): every input gets the whole dout."""

MODULE = "pooling"
EXPECTED_PARTS = {"avg_pool"}
NAMED = {"avg_pool": "avg_missing_scale"}

import numpy as np


def avg_pool2d_backward(dout, cache):
    x_shape, kernel, stride, padding = cache
    N, C, H, W = x_shape
    ph, pw = padding
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=dout.dtype)
    for window in _taps(kernel, stride, dout.shape[2:]):
        dxp[window] += dout  # BUG: dout / (kh*kw)
    return np.ascontiguousarray(dxp[:, :, ph:ph + H, pw:pw + W])
