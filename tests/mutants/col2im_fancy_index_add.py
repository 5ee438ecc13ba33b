"""col2im adds with fancy-index += : repeated target pixels are added only once.

x[idx] += v buffers the update, so where patches overlap all but one
contribution is lost. Right only when the patches do not overlap.
"""

MODULE = "toeplitz"
EXPECTED_PARTS = {"col2im"}
NAMED = {"col2im": "col2im_fancy_add"}

import numpy as np
from common import conv_output_size, pair


def col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1):
    (H, W), (KH, KW) = pair(output_size), pair(kernel_size)
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    N, CKK, L = cols.shape
    C = CKK // (KH * KW)
    c = np.arange(C).reshape(C, 1, 1, 1, 1)
    rows = (np.arange(KH).reshape(1, KH, 1, 1, 1) * dh + np.arange(Ho).reshape(1, 1, 1, Ho, 1) * sh)
    colm = (np.arange(KW).reshape(1, 1, KW, 1, 1) * dw + np.arange(Wo).reshape(1, 1, 1, 1, Wo) * sw)
    c, rows, colm = np.broadcast_arrays(c, rows, colm)
    out = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    out[:, c, rows, colm] += cols.reshape(N, C, KH, KW, Ho, Wo)  # BUG: duplicates lost
    return out[:, :, ph:ph + H, pw:pw + W]
