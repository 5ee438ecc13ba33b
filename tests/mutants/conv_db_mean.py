"""conv2d_backward takes db as a MEAN of dout instead of its sum."""

MODULE = "conv"
EXPECTED_PARTS = {"conv_backward", "dilated_conv", "fcn"}
NAMED = {"conv_backward": "grad_mean_not_sum", "dilated_conv": "grad_mean_not_sum", "fcn": "scaled"}

import numpy as np


def conv2d_backward(dout, cache):
    x_shape, xp_shape, w, has_bias, cols, stride, padding, dilation = cache
    N, _, H, W = x_shape
    F, _, KH, KW = w.shape
    _, _, Ho, Wo = dout.shape
    ph, pw = padding
    d = dout.reshape(N, F, Ho * Wo)
    db = dout.mean(axis=(0, 2, 3)) if has_bias else None  # BUG: mean
    dw = (d @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    dcols = w.reshape(F, -1).T @ d
    dxp = _col2im(dcols, xp_shape[2:], (KH, KW), stride, dilation, (Ho, Wo))
    dx = np.ascontiguousarray(dxp[:, :, ph : ph + H, pw : pw + W])
    return dx, dw, db
