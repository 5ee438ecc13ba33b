"""conv2d_backward ignores the dilation: the gradient goes back to adjacent taps.

Invisible without dilation; wrong dx for every dilated case.
"""

MODULE = "conv"
EXPECTED_PARTS = {"dilated_conv"}
NAMED = {"dilated_conv": "backward_ignores_dilation"}

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
    dxp = _col2im(dcols, xp_shape[2:], (KH, KW), stride, (1, 1), (Ho, Wo))  # BUG: dilation forgotten
    dx = np.ascontiguousarray(dxp[:, :, ph : ph + H, pw : pw + W])
    return dx, dw, db
