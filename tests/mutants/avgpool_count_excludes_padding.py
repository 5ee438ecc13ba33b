"""avg_pool2d divides by the number of real (non-padding) pixels: count_include_pad=False."""

MODULE = "pooling"
EXPECTED_PARTS = {"avg_pool"}
NAMED = {"avg_pool": "count_include_pad"}

import numpy as np


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0):
    N, C, H, W = x.shape
    kernel, stride, padding, (Ho, Wo) = _sizes(x.shape, kernel_size, stride, padding)
    xp = _pad(x, padding, 0)
    ones = _pad(np.ones((1, 1, H, W)), padding, 0)
    out = np.zeros((N, C, Ho, Wo), dtype=x.dtype)
    count = np.zeros((1, 1, Ho, Wo))
    for window in _taps(kernel, stride, (Ho, Wo)):
        out += xp[window]
        count += ones[window]
    out /= count  # BUG: torch counts the zero padding (divides by kh*kw)
    return out, (x.shape, kernel, stride, padding, count)


def avg_pool2d_backward(dout, cache):
    x_shape, kernel, stride, padding, count = cache
    N, C, H, W = x_shape
    ph, pw = padding
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=dout.dtype)
    share = dout / count
    for window in _taps(kernel, stride, dout.shape[2:]):
        dxp[window] += share
    return np.ascontiguousarray(dxp[:, :, ph:ph + H, pw:pw + W])
