"""conv2d_backward does not sum dw over the batch: it keeps the last sample's gradient.

The student loops over the samples and writes dw = ... instead of dw += ...
"""

MODULE = "conv"
EXPECTED_PARTS = {"conv_backward", "dilated_conv", "fcn"}
NAMED = {"conv_backward": "grad_last_sample", "dilated_conv": "grad_last_sample"}

import numpy as np


def conv2d_backward(dout, cache):
    x_shape, xp_shape, w, has_bias, cols, stride, padding, dilation = cache
    N, _, H, W = x_shape
    F, _, KH, KW = w.shape
    _, _, Ho, Wo = dout.shape
    ph, pw = padding
    d = dout.reshape(N, F, Ho * Wo)
    db = dout.sum(axis=(0, 2, 3)) if has_bias else None
    for n in range(N):
        dw = (d[n] @ cols[n].T).reshape(w.shape)  # BUG: = instead of +=
    dcols = w.reshape(F, -1).T @ d
    dxp = _col2im(dcols, xp_shape[2:], (KH, KW), stride, dilation, (Ho, Wo))
    dx = np.ascontiguousarray(dxp[:, :, ph : ph + H, pw : pw + W])
    return dx, dw, db
