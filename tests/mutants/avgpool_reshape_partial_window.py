"""avg_pool2d_forward takes a reshape shortcut for non-overlapping windows without cropping first.

When stride == kernel_size and there is no padding, x.reshape(N, C, H // KH, KH, W // KW, KW) averages
each window in one go: right whenever the windows tile the input, a ValueError when the last partial
window should be dropped (a 7x7 input in 2x2 windows).
"""

MODULE = "pooling"
EXPECTED_PARTS = {"avg_pool"}
DIFFICULTY = {"avg_pool": "partial_window"}

import numpy as np


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0):
    N, C, H, W = x.shape
    kernel, stride, padding, (Ho, Wo) = _sizes(x.shape, kernel_size, stride, padding)
    (KH, KW) = kernel
    if stride == kernel and padding == (0, 0):
        out = x.reshape(N, C, H // KH, KH, W // KW, KW).mean(axis=(3, 5))  # BUG: x[:, :, :Ho*KH, :Wo*KW]
        return out, (x.shape, kernel, stride, padding)
    xp = _pad(x, padding, 0)
    out = np.zeros((N, C, Ho, Wo), dtype=x.dtype)
    for window in _taps(kernel, stride, (Ho, Wo)):
        out += xp[window]
    out /= KH * KW
    return out, (x.shape, kernel, stride, padding)
