"""im2col ignores the dilation (adjacent taps), and conv2d_gemm, built on it, inherits the bug.

Only hidden cases of im2col and of conv2d_gemm have a dilation > 1. The gemm's
feedback must trace the cause to the student's own im2col, which fails its part:
the worker records that conv2d_gemm called im2col.
"""

MODULE = "toeplitz"
EXPECTED_PARTS = {"im2col", "gemm"}
NAMED = {"gemm": "option_ignored", "im2col": "option_ignored"}
SAYS = {"gemm": ["conv2d_gemm used your im2col, which fails 4.2 im2col: fix that first"]}

import numpy as np


def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    (KH, KW), (sh, sw) = pair(kernel_size), pair(stride)
    (ph, pw), (dh, dw) = pair(padding), pair(dilation)
    N, C, H, W = x.shape
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = np.empty((N, C, KH, KW, Ho, Wo))
    for i in range(KH):
        for j in range(KW):
            cols[:, :, i, j] = xp[:, :, i:i + sh * (Ho - 1) + 1:sh, j:j + sw * (Wo - 1) + 1:sw]  # BUG: no i*dh
    return cols.reshape(N, C * KH * KW, Ho * Wo)
