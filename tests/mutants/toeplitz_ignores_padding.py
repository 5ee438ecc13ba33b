"""conv2d_toeplitz gets the output size right but forgets to shift by the padding.

Row (oh, ow) reads the columns of input pixel oh*s + i*d instead of
oh*s - p + i*d: every tap lands p pixels down and right.
"""

MODULE = "toeplitz"
EXPECTED_PARTS = {"toeplitz"}
NAMED = {"toeplitz": "toeplitz_ignores_padding"}

import numpy as np
from common import conv_output_size, pair


def conv2d_toeplitz(w, input_size, stride=1, padding=0, dilation=1):
    F, C, KH, KW = w.shape
    _, H, W = input_size
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    T = np.zeros((F * Ho * Wo, C * H * W), dtype=w.dtype)
    for f in range(F):
        for oh in range(Ho):
            for ow in range(Wo):
                row = (f * Ho + oh) * Wo + ow
                for c in range(C):
                    for i in range(KH):
                        for j in range(KW):
                            h = oh * sh + i * dh  # BUG: - ph forgotten
                            v = ow * sw + j * dw  # BUG: - pw forgotten
                            if 0 <= h < H and 0 <= v < W:
                                T[row, (c * H + h) * W + v] = w[f, c, i, j]
    return T
