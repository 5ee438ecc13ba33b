"""conv2d_backward crops the padding off dx with dxp[:, :, ph:H, pw:W]: the end forgets the + ph.

Right without padding; with padding ph, dx loses its last ph rows and pw columns (the slice ends at H of the
padded array, not at ph + H).
"""

MODULE = "conv"
EXPECTED_PARTS = {"conv_backward", "dilated_conv", "fcn"}
NAMED = {"conv_backward": "cropped", "dilated_conv": "cropped"}
DIFFICULTY = {"conv_backward": "padding"}
SAYS = {"conv_backward": ["dx is rows 0-5 and columns 0-5 of the expected 7 x 7 dx: 1 row at the bottom, 1 column at "
                          "the right missing"]}

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
    dx = np.ascontiguousarray(dxp[:, :, ph:H, pw:W])  # BUG: ph:ph + H, pw:pw + W
    return dx, dw, db
