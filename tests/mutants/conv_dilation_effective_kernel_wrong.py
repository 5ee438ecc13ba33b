"""conv2d_forward takes the dilated kernel's size as d*k instead of d*(k-1)+1.

The same for dilation 1; one row/column of output too few (or an error) for d > 1.
"""

MODULE = "conv"
EXPECTED_PARTS = {"dilated_conv"}
NAMED = {"dilated_conv": "dilated_kernel_size"}

import numpy as np
from common import pair


def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1):
    N, _, H, W = x.shape
    F, _, KH, KW = w.shape
    stride, padding = pair(stride, "stride"), pair(padding, "padding")
    dilation = pair(dilation, "dilation")
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    Ho = (H + 2 * ph - dh * KH) // sh + 1  # BUG: effective size d*k
    Wo = (W + 2 * pw - dw * KW) // sw + 1
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = _im2col(xp, (KH, KW), stride, dilation, (Ho, Wo))
    out = (w.reshape(F, -1) @ cols).reshape(N, F, Ho, Wo)
    if b is not None:
        out += b.reshape(1, F, 1, 1)
    cache = (x.shape, xp.shape, w, b is not None, cols, stride, padding, dilation)
    return out, cache


def _im2col(xp, kernel, stride, dilation, out_size):
    (KH, KW), (sh, sw), (dh, dw), (Ho, Wo) = kernel, stride, dilation, out_size
    N, C = xp.shape[:2]
    span = (dh * (KH - 1) + 1, dw * (KW - 1) + 1)
    win = np.lib.stride_tricks.sliding_window_view(xp, span, axis=(2, 3))
    win = win[:, :, ::sh, ::sw, ::dh, ::dw][:, :, :Ho, :Wo]
    return win.transpose(0, 1, 4, 5, 2, 3).reshape(N, C * KH * KW, Ho * Wo)
