"""avg_pool2d_forward's unpadded path computes W_out with the kernel HEIGHT: Wo = (W - KH) // sw + 1.

The student pads only when padding > 0 and wrote the size twice; the padded path is right. Square
kernels hide it, and so does any padding: only a non-square kernel on an unpadded input shows it.
"""

MODULE = "pooling"
EXPECTED_PARTS = {"avg_pool"}
NAMED = {"avg_pool": "height_for_width"}
DIFFICULTY = {"avg_pool": "nonsquare_kernel"}

import numpy as np


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0):
    N, C, H, W = x.shape
    kernel, stride, padding, (Ho, Wo) = _sizes(x.shape, kernel_size, stride, padding)
    if padding == (0, 0):
        Wo = (W - kernel[0]) // stride[1] + 1  # BUG: KH for the width
        xp = x
    else:
        xp = _pad(x, padding, 0)
    out = np.zeros((N, C, Ho, Wo), dtype=x.dtype)
    for window in _taps(kernel, stride, (Ho, Wo)):
        out += xp[window]
    out /= kernel[0] * kernel[1]
    return out, (x.shape, kernel, stride, padding)
