"""conv2d_gemm never adds the bias b (im2col + matmul only)."""

MODULE = "toeplitz"
EXPECTED_PARTS = {"gemm", "gemm_efficiency"}
NAMED = {"gemm": "bias_missing", "gemm_efficiency": "bias_missing"}

import numpy as np
from common import conv_output_size, pair


def conv2d_gemm(x, w, b=None, stride=1, padding=0, dilation=1):
    N, H, W = x.shape[0], x.shape[2], x.shape[3]
    F, C, KH, KW = w.shape
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    cols = im2col(x, (KH, KW), stride, padding, dilation)
    return np.matmul(w.reshape(F, C * KH * KW), cols).reshape(N, F, Ho, Wo)  # BUG: + b forgotten
