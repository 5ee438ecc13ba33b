"""conv2d_backward crops the padding with dxp[p:-p], which is EMPTY when p = 0.

Right for every padding > 0; a (N, C, 0, W) gradient for padding 0.
"""

MODULE = "conv"
EXPECTED_PARTS = {"conv_backward", "dilated_conv", "fcn"}
NAMED = {"conv_backward": "crop_p_minus_p", "dilated_conv": "crop_p_minus_p"}

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
    dxp = _col2im(dcols, xp_shape[2:], (KH, KW), stride, dilation, (Ho, Wo))
    dx = np.ascontiguousarray(dxp[:, :, ph:-ph, pw:-pw])  # BUG: [0:-0] is empty
    return dx, dw, db
