"""conv2d_backward returns the gradient of the PADDED input: the padding is never cropped off dx.

Right for padding 0; dx is (H + 2p, W + 2p) otherwise.
"""

MODULE = "conv"
EXPECTED_PARTS = {"conv_backward", "dilated_conv", "fcn"}
NAMED = {"conv_backward": "dx_not_cropped", "dilated_conv": "dx_not_cropped"}

import numpy as np


def conv2d_backward(dout, cache):
    x_shape, xp_shape, w, has_bias, cols, stride, padding, dilation = cache
    N, _, H, W = x_shape
    F, _, KH, KW = w.shape
    _, _, Ho, Wo = dout.shape
    d = dout.reshape(N, F, Ho * Wo)
    db = dout.sum(axis=(0, 2, 3)) if has_bias else None
    dw = (d @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    dcols = w.reshape(F, -1).T @ d
    dx = _col2im(dcols, xp_shape[2:], (KH, KW), stride, dilation, (Ho, Wo))  # BUG: not cropped
    return dx, dw, db
