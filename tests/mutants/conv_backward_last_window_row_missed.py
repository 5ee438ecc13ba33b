"""conv2d_backward's scatter loop over output rows stops one short: the last window row is never scattered.

The student loops over the output rows with a bound computed from the input,
(H + 2*ph - dh*(KH - 1) - 1) // sh, and forgets the + 1. Every case loses the
last row of windows: the rows of dx that only those windows read, and their
share of dw. db is right. No catalogued mistake matches, so the feedback must
say where dx is wrong (its last rows) instead of general advice about strides.
"""

MODULE = "conv"
EXPECTED_PARTS = {"conv_backward", "dilated_conv", "fcn"}
NAMED = {"conv_backward": "stops_early", "dilated_conv": "stops_early", "fcn": "stops_early"}
SAYS = {"conv_backward": ["right: db; wrong: dx, dw", "dx: wrong in the last"]}

import numpy as np


def conv2d_backward(dout, cache):
    x_shape, xp_shape, w, has_bias, cols, stride, padding, dilation = cache
    N, C, H, W = x_shape
    F, _, KH, KW = w.shape
    _, _, Ho, Wo = dout.shape
    (sh, sw), (ph, pw), (dh, dw_) = stride, padding, dilation
    db = dout.sum(axis=(0, 2, 3)) if has_bias else None
    dxp = np.zeros(xp_shape)
    dw = np.zeros(w.shape)
    windows = cols.reshape(N, C, KH, KW, Ho, Wo)
    rows = (H + 2 * ph - dh * (KH - 1) - 1) // sh  # BUG: + 1 forgotten
    for oh in range(rows):
        for ow in range(Wo):
            g = dout[:, :, oh, ow]  # (N, F)
            dw += np.einsum("nf,nckl->fckl", g, windows[:, :, :, :, oh, ow])
            contribution = np.einsum("nf,fckl->nckl", g, w)
            for i in range(KH):
                for j in range(KW):
                    dxp[:, :, oh * sh + i * dh, ow * sw + j * dw_] += contribution[:, :, i, j]
    dx = dxp[:, :, ph:ph + H, pw:pw + W]
    return dx, dw, db
