"""conv2d_backward's scatter loop stops a row of windows once a window starts past the padded HEIGHT.

The bounds check of the inner loop (over the output's columns) was copied from the outer one: `if
j * sw >= Hp: break`. Harmless while the windows along the width start inside the height (W_out * sw
<= H); on a wide input without padding the last columns of dx stay zero.
"""

MODULE = "conv"
EXPECTED_PARTS = {"conv_backward", "fcn"}
NAMED = {"conv_backward": "stops_early"}
DIFFICULTY = {"conv_backward": "past_height"}

import numpy as np


def conv2d_backward(dout, cache):
    x_shape, xp_shape, w, has_bias, cols, stride, padding, dilation = cache
    N, C, H, W = x_shape
    F, _, KH, KW = w.shape
    _, _, Ho, Wo = dout.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    Hp = xp_shape[2]
    d = dout.reshape(N, F, Ho * Wo)
    db = dout.sum(axis=(0, 2, 3)) if has_bias else None
    dw_ = (d @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    dxp = np.zeros(xp_shape, dtype=dout.dtype)
    for i in range(Ho):
        if i * sh >= Hp:
            break
        for j in range(Wo):
            if j * sw >= Hp:  # BUG: the padded width, xp_shape[3]
                break
            patch = np.einsum("nf,fckl->nckl", dout[:, :, i, j], w)
            dxp[:, :, i * sh:i * sh + dh * (KH - 1) + 1:dh, j * sw:j * sw + dw * (KW - 1) + 1:dw] += patch
    return np.ascontiguousarray(dxp[:, :, ph:ph + H, pw:pw + W]), dw_, db
