"""im2col orders the rows (kh, kw, c) -- channel fastest -- instead of torch's (c, kh, kw).

conv2d_gemm uses it with w.reshape(F, C*KH*KW), so the GEMM is wrong too.
"""

MODULE = "toeplitz"
EXPECTED_PARTS = {"im2col", "gemm", "gemm_efficiency"}
NAMED = {"im2col": "im2col_order"}
SAYS = {"gemm": ["conv2d_gemm used your im2col, which fails 4.2 im2col: fix that first"]}

import numpy as np
from common import conv_output_size, pair


def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    (KH, KW), (sh, sw) = pair(kernel_size), pair(stride)
    (ph, pw), (dh, dw) = pair(padding), pair(dilation)
    N, C, H, W = x.shape
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = np.empty((N, KH, KW, C, Ho, Wo), dtype=x.dtype)  # BUG: taps before channels
    for i in range(KH):
        for j in range(KW):
            cols[:, i, j] = xp[:, :, i * dh:i * dh + sh * (Ho - 1) + 1:sh, j * dw:j * dw + sw * (Wo - 1) + 1:sw]
    return cols.reshape(N, KH * KW * C, Ho * Wo)
