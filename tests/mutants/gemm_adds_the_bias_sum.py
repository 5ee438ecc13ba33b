"""conv2d_gemm adds the sum of the biases to every output value instead of b[f] to filter f's channel.

`out += np.sum(b)`: a scalar broadcasts without complaint. Each output channel f is off by sum(b) - b[f], the same
at every pixel.
"""

MODULE = "toeplitz"
EXPECTED_PARTS = {"gemm", "gemm_efficiency"}
NAMED = {"gemm": "offset", "gemm_efficiency": "offset"}
SAYS = {"gemm": ["out is the expected out plus one constant per channel (axis 1)"]}

import numpy as np


def conv2d_gemm(x, w, b=None, stride=1, padding=0, dilation=1):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    cols = im2col(x, (KH, KW), stride, padding, dilation)
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    out = (w.reshape(F, -1) @ cols).reshape(N, F, Ho, Wo)
    if b is not None:
        out = out + np.sum(b)  # BUG: b.reshape(1, F, 1, 1)
    return out
