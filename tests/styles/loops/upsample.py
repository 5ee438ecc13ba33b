"""Loop style: upsampling pixel by pixel."""

import numpy as np
from common import conv_transpose_output_size, pair


def nearest_upsample_forward(x, scale_factor):
    sh, sw = pair(scale_factor)
    N, C, H, W = x.shape
    out = np.zeros((N, C, H * sh, W * sw), dtype=x.dtype)
    for i in range(H * sh):
        for j in range(W * sw):
            out[:, :, i, j] = x[:, :, i // sh, j // sw]
    return out, (x.shape, sh, sw)


def nearest_upsample_backward(dout, cache):
    (N, C, H, W), sh, sw = cache
    dx = np.zeros((N, C, H, W), dtype=dout.dtype)
    for i in range(H):
        for j in range(W):
            dx[:, :, i, j] = dout[:, :, i * sh:(i + 1) * sh, j * sw:(j + 1) * sw].sum(axis=(2, 3))
    return dx


def bed_of_nails_forward(x, scale_factor):
    sh, sw = pair(scale_factor)
    N, C, H, W = x.shape
    out = np.zeros((N, C, H * sh, W * sw), dtype=x.dtype)
    for i in range(H):
        for j in range(W):
            out[:, :, i * sh, j * sw] = x[:, :, i, j]
    return out, (x.shape, sh, sw)


def bed_of_nails_backward(dout, cache):
    (N, C, H, W), sh, sw = cache
    dx = np.zeros((N, C, H, W), dtype=dout.dtype)
    for i in range(H):
        for j in range(W):
            dx[:, :, i, j] = dout[:, :, i * sh, j * sw]
    return dx


def max_unpool2d_forward(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    kh, kw = pair(kernel_size)
    sh, sw = (kh, kw) if stride is None else pair(stride)
    ph, pw = pair(padding)
    N, C, H, W = x.shape
    if output_size is None:
        Ho, Wo = conv_transpose_output_size(H, kh, sh, ph), conv_transpose_output_size(W, kw, sw, pw)
    else:
        Ho, Wo = pair(output_size)
    out = np.zeros((N, C, Ho, Wo), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H):
                for j in range(W):
                    k = indices[n, c, i, j]
                    out[n, c, k // Wo, k % Wo] = x[n, c, i, j]
    return out, (indices, x.shape, Wo)


def max_unpool2d_backward(dout, cache):
    indices, (N, C, H, W), Wo = cache
    dx = np.zeros((N, C, H, W), dtype=dout.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H):
                for j in range(W):
                    k = indices[n, c, i, j]
                    dx[n, c, i, j] = dout[n, c, k // Wo, k % Wo]
    return dx
