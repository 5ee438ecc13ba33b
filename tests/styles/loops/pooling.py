"""Loop style: pooling one window at a time."""

import numpy as np
from common import conv_output_size, pair


def _setup(x, kernel_size, stride, padding):
    KH, KW = pair(kernel_size)
    sh, sw = (KH, KW) if stride is None else pair(stride)
    ph, pw = pair(padding)
    H, W = x.shape[2:]
    return (KH, KW), (sh, sw), (ph, pw), conv_output_size(H, KH, sh, ph), conv_output_size(W, KW, sw, pw)


def max_pool2d_forward(x, kernel_size, stride=None, padding=0):
    N, C, H, W = x.shape
    (KH, KW), (sh, sw), (ph, pw), Ho, Wo = _setup(x, kernel_size, stride, padding)
    out = np.zeros((N, C, Ho, Wo), dtype=x.dtype)
    indices = np.zeros((N, C, Ho, Wo), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    best, best_idx = -np.inf, -1
                    for a in range(KH):
                        for b in range(KW):
                            r, s = i * sh - ph + a, j * sw - pw + b
                            if 0 <= r < H and 0 <= s < W and (best_idx < 0 or x[n, c, r, s] > best):
                                best, best_idx = x[n, c, r, s], r * W + s  # strictly greater: first wins
                    out[n, c, i, j] = best
                    indices[n, c, i, j] = best_idx
    return out, indices, (x.shape, indices)


def max_pool2d_backward(dout, cache):
    (N, C, H, W), indices = cache
    dx = np.zeros((N, C, H, W), dtype=dout.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    k = indices[n, c, i, j]
                    dx[n, c, k // W, k % W] += dout[n, c, i, j]
    return dx


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0):
    N, C, H, W = x.shape
    (KH, KW), (sh, sw), (ph, pw), Ho, Wo = _setup(x, kernel_size, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros((N, C, Ho, Wo), dtype=x.dtype)
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = np.sum(xp[:, :, i * sh:i * sh + KH, j * sw:j * sw + KW], axis=(2, 3)) / (KH * KW)
    return out, (x.shape, (KH, KW), (sh, sw), (ph, pw))


def avg_pool2d_backward(dout, cache):
    (N, C, H, W), (KH, KW), (sh, sw), (ph, pw) = cache
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=dout.dtype)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dxp[:, :, i * sh:i * sh + KH, j * sw:j * sw + KW] += dout[:, :, i, j][:, :, None, None] / (KH * KW)
    return dxp[:, :, ph:ph + H, pw:pw + W].copy()
