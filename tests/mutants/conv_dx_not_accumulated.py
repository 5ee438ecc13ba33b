"""conv2d_backward writes dx with = instead of +=: overlapping windows overwrite each other.

A pixel read by several windows keeps only the last window's contribution.
"""

MODULE = "conv"
EXPECTED_PARTS = {"conv_backward", "dilated_conv", "fcn"}
NAMED = {"conv_backward": "overwrite_not_accumulate", "dilated_conv": "overwrite_not_accumulate"}

import numpy as np


def _col2im(cols, padded_size, kernel, stride, dilation, out_size):
    (KH, KW), (sh, sw), (dh, dw), (Ho, Wo) = kernel, stride, dilation, out_size
    N = cols.shape[0]
    C = cols.shape[1] // (KH * KW)
    cols = cols.reshape(N, C, KH, KW, Ho, Wo)
    dxp = np.zeros((N, C) + tuple(padded_size), dtype=cols.dtype)
    for i in range(KH):
        for j in range(KW):
            r = slice(i * dh, i * dh + sh * (Ho - 1) + 1, sh)
            c = slice(j * dw, j * dw + sw * (Wo - 1) + 1, sw)
            dxp[:, :, r, c] = cols[:, :, i, j]  # BUG: = instead of +=
    return dxp
