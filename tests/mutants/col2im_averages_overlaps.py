"""col2im averages the patches where they overlap instead of summing them.

The student counts how many patches cover each pixel and divides by it, as if col2im undid im2col (it is its
adjoint: F.fold sums). Right wherever no patches overlap.
"""

MODULE = "toeplitz"
EXPECTED_PARTS = {"col2im"}
NAMED = {"col2im": "col2im_mean_overlaps"}
DIFFICULTY = {"col2im": "overlap"}

import numpy as np
from common import conv_output_size, pair


def col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1):
    (H, W), (KH, KW) = pair(output_size), pair(kernel_size)
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    N, CKK, L = cols.shape
    C = CKK // (KH * KW)
    c = cols.reshape(N, C, KH, KW, Ho, Wo)
    out = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    count = np.zeros((H + 2 * ph, W + 2 * pw))
    for i in range(KH):
        for j in range(KW):
            r = slice(i * dh, i * dh + sh * (Ho - 1) + 1, sh)
            q = slice(j * dw, j * dw + sw * (Wo - 1) + 1, sw)
            out[:, :, r, q] += c[:, :, i, j]
            count[r, q] += 1
    out = out / np.maximum(count, 1)  # BUG: a sum, not a mean
    return out[:, :, ph:ph + H, pw:pw + W]
