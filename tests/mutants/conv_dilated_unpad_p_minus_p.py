"""conv2d_backward's dilated path crops the padding with dxp[p:-p], which is EMPTY when p = 0.

The student added dilation later as a path of its own (dilate the kernel, reuse the backward, crop);
the undilated path crops right. Every dilated case with padding > 0 passes.
"""

MODULE = "conv"
EXPECTED_PARTS = {"dilated_conv"}
NAMED = {"dilated_conv": "crop_p_minus_p"}
DIFFICULTY = {"dilated_conv": "no_padding"}

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
    if dilation != (1, 1):
        dx = np.ascontiguousarray(dxp[:, :, ph:-ph, pw:-pw])  # BUG: [0:-0] is empty
    else:
        dx = np.ascontiguousarray(dxp[:, :, ph:ph + H, pw:pw + W])
    return dx, dw, db
