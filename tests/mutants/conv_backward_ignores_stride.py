"""conv2d_backward ignores the stride: the gradient is folded back as if stride were 1.

The forward is right; the student's col2im in the backward steps one pixel
between windows, so dx is wrong whenever the stride is > 1.
"""

MODULE = "conv"
EXPECTED_PARTS = {"conv_backward", "dilated_conv"}
NAMED = {"conv_backward": "backward_ignores_stride"}
ALSO_NAMED = {"dilated_conv": ["backward_ignores_stride"]}

import numpy as np


def conv2d_backward(dout, cache):
    x_shape, xp_shape, w, has_bias, cols, stride, padding, dilation = cache
    N, _, H, W = x_shape
    F, _, KH, KW = w.shape
    _, _, Ho, Wo = dout.shape
    ph, pw = padding
    d = dout.reshape(N, F, Ho * Wo)
    db = dout.sum(axis=(0, 2, 3)) if has_bias else None
    dw = (d @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    dcols = w.reshape(F, -1).T @ d
    dxp = _col2im(dcols, xp_shape[2:], (KH, KW), (1, 1), dilation, (Ho, Wo))  # BUG: stride forgotten
    dx = np.ascontiguousarray(dxp[:, :, ph : ph + H, pw : pw + W])
    return dx, dw, db
