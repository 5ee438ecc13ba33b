"""conv_transpose2d_forward ADDS the padding (like a convolution) instead of cropping it.

The output is (H - 1)*s + 2p + d(k-1) + 1 + output_padding per axis, the
scattered copies uncropped; right only for padding 0.
"""

MODULE = "transposed"
EXPECTED_PARTS = {"transposed_forward", "fcn"}
NAMED = {"transposed_forward": "tconv_padding_not_cropped"}
ALSO_NAMED = {"fcn": ["extra_border"]}

import numpy as np
from common import conv_transpose_output_size, pair


def conv_transpose2d_forward(x, w, b=None, stride=1, padding=0, output_padding=0, dilation=1):
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    oph, opw = pair(output_padding)
    Ho = conv_transpose_output_size(H, KH, sh, 0, oph, dh)
    Wo = conv_transpose_output_size(W, KW, sw, 0, opw, dw)
    w_taps = w.transpose(2, 3, 1, 0).reshape(KH * KW * C_out, C_in)
    cols = np.matmul(w_taps, x.reshape(N, C_in, H * W)).reshape(N, KH, KW, C_out, H, W)
    out = np.zeros((N, C_out, Ho + 2 * ph, Wo + 2 * pw), dtype=x.dtype)
    for i in range(KH):
        for j in range(KW):
            r0, c0 = ph + i * dh, pw + j * dw  # BUG: the padding shifts and enlarges instead of cropping
            out[:, :, r0:r0 + sh * (H - 1) + 1:sh, c0:c0 + sw * (W - 1) + 1:sw] += cols[:, i, j]
    if b is not None:
        out += b.reshape(1, C_out, 1, 1)
    return out, (x, w, b is not None, (sh, sw), (ph, pw), (dh, dw))
