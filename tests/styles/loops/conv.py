"""Loop style: a careful student's convolution, one output pixel at a time."""

import numpy as np
from common import conv_output_size, pair


def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    sh, sw = pair(stride)
    ph, pw = pair(padding)
    dh, dw = pair(dilation)
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros((N, F, Ho, Wo), dtype=x.dtype)
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                # the receptive field of output pixel (i, j): every dh-th row, every dw-th column
                patch = xp[n, :, i * sh:i * sh + dh * (KH - 1) + 1:dh, j * sw:j * sw + dw * (KW - 1) + 1:dw]
                for f in range(F):
                    out[n, f, i, j] = np.sum(patch * w[f])
    if b is not None:
        for f in range(F):
            out[:, f] += b[f]
    cache = (x, w, b is not None, (sh, sw), (ph, pw), (dh, dw))
    return out, cache


def conv2d_backward(dout, cache):
    x, w, has_bias, (sh, sw), (ph, pw), (dh, dw) = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    _, _, Ho, Wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxp = np.zeros_like(xp)
    dw_ = np.zeros_like(w)
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                rows = slice(i * sh, i * sh + dh * (KH - 1) + 1, dh)
                cols = slice(j * sw, j * sw + dw * (KW - 1) + 1, dw)
                patch = xp[n, :, rows, cols]
                for f in range(F):
                    g = dout[n, f, i, j]
                    dw_[f] += g * patch
                    dxp[n, :, rows, cols] += g * w[f]
    dx = dxp[:, :, ph:ph + H, pw:pw + W].copy()
    db = None
    if has_bias:
        db = np.zeros(F, dtype=dout.dtype)
        for f in range(F):
            db[f] = np.sum(dout[:, f])
    return dx, dw_, db
