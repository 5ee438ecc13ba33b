"""conv2d_backward scatters dx with two loops over the output, the inner one over range(Ho), not Wo.

Right whenever the output is square (a square input with square kernels and scalar options); a wider
output loses its last columns of dx, a taller one raises an IndexError.
"""

MODULE = "conv"
EXPECTED_PARTS = {"conv_backward", "dilated_conv", "fcn"}
NAMED = {"conv_backward": "stops_early", "dilated_conv": "stops_early"}
DIFFICULTY = {"conv_backward": "nonsquare_input", "dilated_conv": "nonsquare_input"}

import numpy as np


def conv2d_backward(dout, cache):
    x_shape, xp_shape, w, has_bias, cols, stride, padding, dilation = cache
    N, C, H, W = x_shape
    F, _, KH, KW = w.shape
    _, _, Ho, Wo = dout.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    d = dout.reshape(N, F, Ho * Wo)
    db = dout.sum(axis=(0, 2, 3)) if has_bias else None
    dw_ = (d @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    dxp = np.zeros(xp_shape, dtype=dout.dtype)
    for i in range(Ho):
        for j in range(Ho):  # BUG: range(Wo)
            patch = np.einsum("nf,fckl->nckl", dout[:, :, i, j], w)
            dxp[:, :, i * sh:i * sh + dh * (KH - 1) + 1:dh, j * sw:j * sw + dw * (KW - 1) + 1:dw] += patch
    return np.ascontiguousarray(dxp[:, :, ph:ph + H, pw:pw + W]), dw_, db
