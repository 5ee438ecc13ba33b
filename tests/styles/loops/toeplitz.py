"""Loop style: the convolution matrix, im2col and col2im entry by entry."""

import numpy as np
from common import conv_output_size, pair


def conv2d_toeplitz(w, input_size, stride=1, padding=0, dilation=1):
    F, C, KH, KW = w.shape
    _, H, W = input_size
    sh, sw = pair(stride)
    ph, pw = pair(padding)
    dh, dw = pair(dilation)
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    T = np.zeros((F * Ho * Wo, C * H * W), dtype=w.dtype)
    for f in range(F):
        for i in range(Ho):
            for j in range(Wo):
                row = (f * Ho + i) * Wo + j
                for c in range(C):
                    for a in range(KH):
                        for b in range(KW):
                            r = i * sh - ph + a * dh
                            s = j * sw - pw + b * dw
                            if 0 <= r < H and 0 <= s < W:  # taps in the padding multiply zeros
                                T[row, (c * H + r) * W + s] = w[f, c, a, b]
    return T


def _geometry(H, W, kernel_size, stride, padding, dilation):
    KH, KW = pair(kernel_size)
    sh, sw = pair(stride)
    ph, pw = pair(padding)
    dh, dw = pair(dilation)
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    return (KH, KW), (sh, sw), (ph, pw), (dh, dw), Ho, Wo


def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    N, C, H, W = x.shape
    (KH, KW), (sh, sw), (ph, pw), (dh, dw), Ho, Wo = _geometry(H, W, kernel_size, stride, padding, dilation)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = np.zeros((N, C * KH * KW, Ho * Wo), dtype=x.dtype)
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                patch = xp[n, :, i * sh:i * sh + dh * (KH - 1) + 1:dh, j * sw:j * sw + dw * (KW - 1) + 1:dw]
                cols[n, :, i * Wo + j] = patch.reshape(-1)  # (c, a, b) order, c slowest
    return cols


def col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1):
    H, W = pair(output_size)
    (KH, KW), (sh, sw), (ph, pw), (dh, dw), Ho, Wo = _geometry(H, W, kernel_size, stride, padding, dilation)
    N = cols.shape[0]
    C = cols.shape[1] // (KH * KW)
    out = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                patch = cols[n, :, i * Wo + j].reshape(C, KH, KW)
                out[n, :, i * sh:i * sh + dh * (KH - 1) + 1:dh, j * sw:j * sw + dw * (KW - 1) + 1:dw] += patch
    return out[:, :, ph:ph + H, pw:pw + W].copy()


def conv2d_gemm(x, w, b=None, stride=1, padding=0, dilation=1):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    _, _, _, _, Ho, Wo = _geometry(H, W, (KH, KW), stride, padding, dilation)
    cols = im2col(x, (KH, KW), stride, padding, dilation)
    out = np.matmul(w.reshape(F, -1), cols).reshape(N, F, Ho, Wo)
    if b is not None:
        out = out + b.reshape(1, F, 1, 1)
    return out
