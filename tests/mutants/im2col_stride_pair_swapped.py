"""im2col unpacks a stride pair the wrong way round: `sw, sh = pair(stride)`.

Right for an int stride and for (s, s); with stride (2, 1) the windows step 1 along H and 2 along W, so cols has
another number of windows. conv2d_gemm, built on it, inherits the bug.
"""

MODULE = "toeplitz"
EXPECTED_PARTS = {"im2col", "gemm"}
NAMED = {"im2col": "option_swapped"}
ALSO_NAMED = {"gemm": ["option_swapped"]}
DIFFICULTY = {"im2col": "stride_pair"}
SAYS = {"im2col": ["cols is what stride=(1, 2) gives: the case has stride=(2, 1), 2 along H (rows) and 1 along W "
                   "(columns)"]}

import numpy as np
from common import conv_output_size, pair


def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    (KH, KW), (sw, sh) = pair(kernel_size), pair(stride)  # BUG: (sh, sw)
    (ph, pw), (dh, dw) = pair(padding), pair(dilation)
    N, C, H, W = x.shape
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = np.empty((N, C, KH, KW, Ho, Wo))
    for i in range(KH):
        for j in range(KW):
            cols[:, :, i, j] = xp[:, :, i * dh:i * dh + sh * (Ho - 1) + 1:sh, j * dw:j * dw + sw * (Wo - 1) + 1:sw]
    return cols.reshape(N, C * KH * KW, Ho * Wo)
