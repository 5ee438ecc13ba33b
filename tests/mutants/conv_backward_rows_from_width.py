"""conv2d_backward loops over output rows up to dout's WIDTH: right on square outputs only.

The student's scatter loop takes its row bound from the wrong axis,
Ho = dout.shape[3]. Every visible case has a square output, so they pass; a hidden
case with fewer output columns than rows (3 x 1) leaves the rows of dx that only its
lower windows read at zero (the feedback must say which rows, and that they are 0),
and one with more output columns than rows raises an IndexError (the feedback must
say which line).
"""

MODULE = "conv"
EXPECTED_PARTS = {"conv_backward", "dilated_conv", "fcn"}
NAMED = {"conv_backward": "stops_early"}
ALSO_NAMED = {"dilated_conv": ["stops_early"]}
SAYS = {"conv_backward": ["right: dw, db; wrong: dx", "dx: wrong in every pixel that is in rows 3, 4, 6, 7 and in the "
                          "first 3 columns of every channel, where it is 0",
                          "conv2d_backward raised IndexError at conv.py, line"]}

import numpy as np


def conv2d_backward(dout, cache):
    x_shape, xp_shape, w, has_bias, cols, stride, padding, dilation = cache
    N, C, H, W = x_shape
    F, _, KH, KW = w.shape
    Ho, Wo = dout.shape[3], dout.shape[3]  # BUG: the rows' bound from the width
    (sh, sw), (ph, pw), (dh, dw_) = stride, padding, dilation
    db = dout.sum(axis=(0, 2, 3)) if has_bias else None
    d = dout.reshape(N, F, -1)
    dw = (d @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    dxp = np.zeros(xp_shape)
    for oh in range(Ho):
        for ow in range(Wo):
            contribution = np.einsum("nf,fckl->nckl", dout[:, :, oh, ow], w)
            for i in range(KH):
                for j in range(KW):
                    dxp[:, :, oh * sh + i * dh, ow * sw + j * dw_] += contribution[:, :, i, j]
    dx = dxp[:, :, ph:ph + H, pw:pw + W]
    return dx, dw, db
