"""avg_pool2d_forward was copied from the max pooling code and still takes each window's maximum.

The student starts from a working max_pool2d_forward (padding with -inf, a running np.maximum over the taps) and
forgets to turn it into a sum divided by KH * KW. The backward, written afresh, is right.
"""

MODULE = "pooling"
EXPECTED_PARTS = {"avg_pool"}
NAMED = {"avg_pool": "other_layer"}
SAYS = {"avg_pool": ["out is what max_pool2d gives on this case's inputs"]}

import numpy as np


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0):
    N, C = x.shape[:2]
    kernel, stride, padding, (Ho, Wo) = _sizes(x.shape, kernel_size, stride, padding)
    xp = _pad(x, padding, -np.inf)
    out = np.full((N, C, Ho, Wo), -np.inf, dtype=x.dtype)
    for window in _taps(kernel, stride, (Ho, Wo)):
        np.maximum(out, xp[window], out=out)  # BUG: out += xp[window], then out /= KH * KW
    return out, (x.shape, kernel, stride, padding)
