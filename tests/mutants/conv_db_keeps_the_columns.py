"""conv2d_backward sums db over the batch and the rows only, axis=(0, 2): db keeps one value per output column."""

MODULE = "conv"
EXPECTED_PARTS = {"conv_backward", "dilated_conv", "fcn"}
NAMED = {"conv_backward": "unsummed", "dilated_conv": "unsummed"}
ALSO_NAMED = {"fcn": ["unsummed"]}
SAYS = {"conv_backward": ["db has the expected values before a sum over axis 1 (of size 5 = Ho = Wo = H = W): sum over it as well"]}

import numpy as np


def conv2d_backward(dout, cache):
    x_shape, xp_shape, w, has_bias, cols, stride, padding, dilation = cache
    N, _, H, W = x_shape
    F, _, KH, KW = w.shape
    _, _, Ho, Wo = dout.shape
    ph, pw = padding
    d = dout.reshape(N, F, Ho * Wo)
    db = dout.sum(axis=(0, 2)) if has_bias else None  # BUG: axis=(0, 2, 3)
    dw = (d @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    dcols = w.reshape(F, -1).T @ d
    dxp = _col2im(dcols, xp_shape[2:], (KH, KW), stride, dilation, (Ho, Wo))
    dx = np.ascontiguousarray(dxp[:, :, ph : ph + H, pw : pw + W])
    return dx, dw, db
