"""conv2d_backward gathers dx only for the pixels whose every kernel tap has a window: the border stays zero.

The student writes the backward as a gather (for each input pixel, sum what the
windows reading it send back) and, to avoid bounds checks, loops only over the
pixels where every tap (i, j) falls into some window. Inside, dx is exact; the
border rows and columns keep the zeros of np.zeros.
"""

MODULE = "conv"
EXPECTED_PARTS = {"conv_backward", "dilated_conv", "fcn"}
NAMED = {"conv_backward": "dx_border_zero", "dilated_conv": "dx_border_zero"}

import numpy as np


def conv2d_backward(dout, cache):
    x_shape, xp_shape, w, has_bias, cols, stride, padding, dilation = cache
    N, C, H, W = x_shape
    F, _, KH, KW = w.shape
    _, _, Ho, Wo = dout.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    d = dout.reshape(N, F, Ho * Wo)
    db = dout.sum(axis=(0, 2, 3)) if has_bias else None
    dw_ = (d @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    dx = np.zeros(x_shape, dtype=dout.dtype)
    # BUG: only the pixels for which every tap has a window (no bounds checks needed there)
    for h in range(max(0, (KH - 1) * dh - ph), min(H, (Ho - 1) * sh - ph + 1)):
        for v in range(max(0, (KW - 1) * dw - pw), min(W, (Wo - 1) * sw - pw + 1)):
            for i in range(KH):
                for j in range(KW):
                    oh, ow = h + ph - i * dh, v + pw - j * dw
                    if oh % sh == 0 and ow % sw == 0:
                        dx[:, :, h, v] += dout[:, :, oh // sh, ow // sw] @ w[:, :, i, j]
    return dx, dw_, db
