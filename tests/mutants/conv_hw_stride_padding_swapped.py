"""conv2d_forward unpacks stride and padding as (w, h): H and W swapped.

Square configurations cannot see it; (sh, sw) = (2, 1) or padding (1, 0) can.
The backward uses the same (swapped) values from the cache.
"""

MODULE = "conv"
EXPECTED_PARTS = {"conv_forward", "conv_backward", "dilated_conv"}
NAMED = {"conv_forward": "hw_swapped"}
ALSO_NAMED = {"dilated_conv": ["hw_swapped", "option_swapped"]}

import numpy as np
from common import conv_output_size, pair


def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1):
    N, _, H, W = x.shape
    F, _, KH, KW = w.shape
    sw, sh = pair(stride, "stride")  # BUG: (h, w) read as (w, h)
    pw, ph = pair(padding, "padding")
    stride, padding = (sh, sw), (ph, pw)
    dilation = pair(dilation, "dilation")
    dh, dw = dilation
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = _im2col(xp, (KH, KW), stride, dilation, (Ho, Wo))
    out = (w.reshape(F, -1) @ cols).reshape(N, F, Ho, Wo)
    if b is not None:
        out += b.reshape(1, F, 1, 1)
    cache = (x.shape, xp.shape, w, b is not None, cols, stride, padding, dilation)
    return out, cache
