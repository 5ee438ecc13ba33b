"""avg_pool2d_forward sizes its output without the padding: Ho = (H - k) // s + 1.

The input is padded, but only the first windows of the padded input are
pooled: fewer outputs, shifted by the padding.
"""

MODULE = "pooling"
EXPECTED_PARTS = {"avg_pool"}
NAMED = {"avg_pool": "size_ignores_padding"}

import numpy as np
from common import conv_output_size, pair


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0):
    N, C, H, W = x.shape
    kernel = pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else pair(stride, "stride")
    padding = pair(padding, "padding")
    Ho = conv_output_size(H, kernel[0], stride[0])  # BUG: the padding left out
    Wo = conv_output_size(W, kernel[1], stride[1])
    xp = _pad(x, padding, 0)
    out = np.zeros((N, C, Ho, Wo), dtype=x.dtype)
    for window in _taps(kernel, stride, (Ho, Wo)):
        out += xp[window]
    out /= kernel[0] * kernel[1]
    return out, (x.shape, kernel, stride, padding)
