"""conv2d_gemm with a Python loop over output pixels: correct, but far too slow.

Must lose only the efficiency part.
"""

MODULE = "toeplitz"
EXPECTED_PARTS = {"gemm_efficiency"}

import numpy as np
from common import conv_output_size, pair


def conv2d_gemm(x, w, b=None, stride=1, padding=0, dilation=1):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    w2 = w.reshape(F, -1)
    out = np.zeros((N, F, Ho, Wo), dtype=x.dtype)
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                patch = xp[n, :, i * sh:i * sh + dh * (KH - 1) + 1:dh, j * sw:j * sw + dw * (KW - 1) + 1:dw]
                out[n, :, i, j] = w2 @ patch.ravel()
    if b is not None:
        out += b.reshape(1, F, 1, 1)
    return out
