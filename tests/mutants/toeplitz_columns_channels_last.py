"""conv2d_toeplitz numbers T's columns (h, w, c), channels last, instead of x[n].ravel()'s (c, h, w).

The student pictures one sample as an H x W image of C-vectors and flattens it that way: T holds every weight,
each in the column of the right input pixel and channel, but in a channels-last order of the columns. With one
channel the two orders agree.
"""

MODULE = "toeplitz"
EXPECTED_PARTS = {"toeplitz"}
NAMED = {"toeplitz": "reshape_order"}
SAYS = {"toeplitz": ["T holds the expected values in the order (rows, H, W, C) where (rows, C, H, W) "
                     "is expected"]}

import numpy as np
from common import conv_output_size, pair


def conv2d_toeplitz(w, input_size, stride=1, padding=0, dilation=1):
    F, C, KH, KW = w.shape
    _, H, W = input_size
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    T = np.zeros((F * Ho * Wo, C * H * W))
    for f in range(F):
        for oh in range(Ho):
            for ow in range(Wo):
                row = (f * Ho + oh) * Wo + ow
                for c in range(C):
                    for i in range(KH):
                        for j in range(KW):
                            h, v = oh * sh - ph + i * dh, ow * sw - pw + j * dw
                            if 0 <= h < H and 0 <= v < W:
                                T[row, (h * W + v) * C + c] = w[f, c, i, j]  # BUG: (c * H + h) * W + v
    return T
