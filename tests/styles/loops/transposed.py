"""Loop style: each input pixel scatters a scaled copy of the kernel."""

import numpy as np
from common import conv_transpose_output_size, pair


def conv_transpose2d_forward(x, w, b=None, stride=1, padding=0, output_padding=0, dilation=1):
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    sh, sw = pair(stride)
    ph, pw = pair(padding)
    oph, opw = pair(output_padding)
    dh, dw = pair(dilation)
    Ho = conv_transpose_output_size(H, KH, sh, ph, oph, dh)
    Wo = conv_transpose_output_size(W, KW, sw, pw, opw, dw)
    big = np.zeros((N, C_out, Ho + 2 * ph, Wo + 2 * pw), dtype=x.dtype)  # the output before cropping
    for n in range(N):
        for i in range(H):
            for j in range(W):
                for c in range(C_in):
                    big[n, :, i * sh:i * sh + dh * (KH - 1) + 1:dh, j * sw:j * sw + dw * (KW - 1) + 1:dw] += \
                        x[n, c, i, j] * w[c]
    out = big[:, :, ph:ph + Ho, pw:pw + Wo].copy()
    if b is not None:
        for c in range(C_out):
            out[:, c] += b[c]
    return out, (x, w, b is not None, (sh, sw), (ph, pw), (dh, dw))


def conv_transpose2d_backward(dout, cache):
    x, w, has_bias, (sh, sw), (ph, pw), (dh, dw) = cache
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    dbig = np.pad(dout, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dx = np.zeros_like(x)
    dw_ = np.zeros_like(w)
    for n in range(N):
        for i in range(H):
            for j in range(W):
                region = dbig[n, :, i * sh:i * sh + dh * (KH - 1) + 1:dh, j * sw:j * sw + dw * (KW - 1) + 1:dw]
                for c in range(C_in):
                    dx[n, c, i, j] = np.sum(region * w[c])
                    dw_[c] += x[n, c, i, j] * region
    db = dout.sum(axis=(0, 2, 3)) if has_bias else None
    return dx, dw_, db
