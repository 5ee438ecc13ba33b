"""conv2d_toeplitz returns T with rows and columns swapped: shape (C*H*W, F*Ho*Wo).

The student built the matrix of the transposed convolution (one row per input pixel).
"""

MODULE = "toeplitz"
EXPECTED_PARTS = {"toeplitz"}
NAMED = {"toeplitz": "toeplitz_transposed"}

import numpy as np
from common import conv_output_size, pair


def conv2d_toeplitz(w, input_size, stride=1, padding=0, dilation=1):
    F, C, KH, KW = w.shape
    _, H, W = input_size
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    T = np.zeros((C * H * W, F * Ho * Wo), dtype=w.dtype)  # BUG: (inputs, outputs)
    for f in range(F):
        for oh in range(Ho):
            for ow in range(Wo):
                for c in range(C):
                    for i in range(KH):
                        for j in range(KW):
                            h, v = oh * sh - ph + i * dh, ow * sw - pw + j * dw
                            if 0 <= h < H and 0 <= v < W:
                                T[(c * H + h) * W + v, (f * Ho + oh) * Wo + ow] = w[f, c, i, j]
    return T
