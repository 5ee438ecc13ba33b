"""conv_transpose2d_forward ignores output_padding: the output is one row/column short."""

MODULE = "transposed"
EXPECTED_PARTS = {"transposed_forward", "fcn"}
NAMED = {"transposed_forward": "output_padding_ignored"}
ALSO_NAMED = {"fcn": ["cropped"]}

import numpy as np
from common import conv_transpose_output_size, pair


def conv_transpose2d_forward(x, w, b=None, stride=1, padding=0, output_padding=0, dilation=1):
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    Ho = conv_transpose_output_size(H, KH, sh, ph, 0, dh)  # BUG: output_padding dropped
    Wo = conv_transpose_output_size(W, KW, sw, pw, 0, dw)
    w_taps = w.transpose(2, 3, 1, 0).reshape(KH * KW * C_out, C_in)
    cols = np.matmul(w_taps, x.reshape(N, C_in, H * W)).reshape(N, KH, KW, C_out, H, W)
    buf = np.zeros((N, C_out, Ho + 2 * ph, Wo + 2 * pw), dtype=x.dtype)
    for i in range(KH):
        for j in range(KW):
            buf[:, :, i * dh:i * dh + sh * (H - 1) + 1:sh, j * dw:j * dw + sw * (W - 1) + 1:sw] += cols[:, i, j]
    out = buf[:, :, ph:ph + Ho, pw:pw + Wo]
    if b is not None:
        out += b.reshape(1, C_out, 1, 1)
    return out, (x, w, b is not None, (sh, sw), (ph, pw), (dh, dw))
