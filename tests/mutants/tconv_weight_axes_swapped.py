"""conv_transpose2d reads the weights as (C_out, C_in, KH, KW), the conv2d layout.

torch's transposed convolution stores them (C_in, C_out, KH, KW). The backward
uses the same wrong convention.
"""

MODULE = "transposed"
EXPECTED_PARTS = {"transposed_forward", "transposed_backward", "fcn"}
NAMED = {"transposed_forward": "tconv_weight_axes", "transposed_backward": "axes_swapped"}

import numpy as np
from common import conv_transpose_output_size, pair


def conv_transpose2d_forward(x, w, b=None, stride=1, padding=0, output_padding=0, dilation=1):
    N, C_in, H, W = x.shape
    C_out, _, KH, KW = w.shape  # BUG: axes 0 and 1 swapped
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    oph, opw = pair(output_padding)
    Ho = conv_transpose_output_size(H, KH, sh, ph, oph, dh)
    Wo = conv_transpose_output_size(W, KW, sw, pw, opw, dw)
    w_taps = w.transpose(2, 3, 0, 1).reshape(KH * KW * C_out, C_in)
    cols = np.matmul(w_taps, x.reshape(N, C_in, H * W)).reshape(N, KH, KW, C_out, H, W)
    buf = np.zeros((N, C_out, Ho + 2 * ph, Wo + 2 * pw), dtype=x.dtype)
    for i in range(KH):
        for j in range(KW):
            buf[:, :, i * dh:i * dh + sh * (H - 1) + 1:sh, j * dw:j * dw + sw * (W - 1) + 1:sw] += cols[:, i, j]
    out = buf[:, :, ph:ph + Ho, pw:pw + Wo]
    if b is not None:
        out += b.reshape(1, C_out, 1, 1)
    return out, (x, w, b is not None, (sh, sw), (ph, pw), (dh, dw))


def conv_transpose2d_backward(dout, cache):
    x, w, has_b, (sh, sw), (ph, pw), (dil_h, dil_w) = cache
    N, C_in, H, W = x.shape
    C_out, _, KH, KW = w.shape  # BUG: same convention as the forward
    dbuf = np.pad(dout, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    sN, sC, sH, sW = dbuf.strides
    cols = np.lib.stride_tricks.as_strided(
        dbuf, shape=(C_out, KH, KW, N, H, W),
        strides=(sC, dil_h * sH, dil_w * sW, sN, sh * sH, sw * sW), writeable=False,
    ).reshape(C_out * KH * KW, N * H * W)
    x2d = x.transpose(1, 0, 2, 3).reshape(C_in, N * H * W)
    w_io = w.transpose(1, 0, 2, 3).reshape(C_in, -1)
    dx = (w_io @ cols).reshape(C_in, N, H, W).transpose(1, 0, 2, 3)
    dw = (x2d @ cols.T).reshape(C_in, C_out, KH, KW).transpose(1, 0, 2, 3)
    db = dout.sum(axis=(0, 2, 3)) if has_b else None
    return np.ascontiguousarray(dx), np.ascontiguousarray(dw), db
