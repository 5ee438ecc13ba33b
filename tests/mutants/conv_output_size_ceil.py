"""conv2d_forward rounds the output size UP (ceil) instead of down (floor).

Only visible when (H + 2p - d(k-1) - 1) is not a multiple of the stride: one
extra row or column of windows that do not fit.
"""

MODULE = "conv"
EXPECTED_PARTS = {"conv_forward", "conv_backward", "dilated_conv"}
NAMED = {"conv_forward": "size_not_floor", "dilated_conv": "size_not_floor"}

import math

import numpy as np
from common import pair


def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1):
    N, _, H, W = x.shape
    F, _, KH, KW = w.shape
    stride, padding = pair(stride, "stride"), pair(padding, "padding")
    dilation = pair(dilation, "dilation")
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    Ho = math.ceil((H + 2 * ph - dh * (KH - 1) - 1) / sh) + 1  # BUG: ceil
    Wo = math.ceil((W + 2 * pw - dw * (KW - 1) - 1) / sw) + 1
    # The student pads enough on the bottom/right for the extra windows.
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph + sh), (pw, pw + sw)))
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
