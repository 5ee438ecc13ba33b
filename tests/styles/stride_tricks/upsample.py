"""Stride-tricks style: broadcast views and fancy indexing."""

import numpy as np
from common import conv_transpose_output_size, pair


def nearest_upsample_forward(x, scale_factor):
    sh, sw = pair(scale_factor)
    N, C, H, W = x.shape
    blocks = np.broadcast_to(x[:, :, :, None, :, None], (N, C, H, sh, W, sw))  # a view, no copy
    return blocks.reshape(N, C, H * sh, W * sw), (x.shape, sh, sw)


def nearest_upsample_backward(dout, cache):
    (N, C, H, W), sh, sw = cache
    return np.einsum("nchiwj->nchw", dout.reshape(N, C, H, sh, W, sw))


def bed_of_nails_forward(x, scale_factor):
    sh, sw = pair(scale_factor)
    N, C, H, W = x.shape
    nail = np.zeros((sh, sw), dtype=x.dtype)
    nail[0, 0] = 1
    out = np.einsum("nchw,ij->nchiwj", x, nail).reshape(N, C, H * sh, W * sw)
    return out, (x.shape, sh, sw)


def bed_of_nails_backward(dout, cache):
    (N, C, H, W), sh, sw = cache
    return dout.reshape(N, C, H, sh, W, sw)[:, :, :, 0, :, 0].copy()


def max_unpool2d_forward(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    kh, kw = pair(kernel_size)
    sh, sw = (kh, kw) if stride is None else pair(stride)
    ph, pw = pair(padding)
    N, C, H, W = x.shape
    if output_size is None:
        size = (conv_transpose_output_size(H, kh, sh, ph), conv_transpose_output_size(W, kw, sw, pw))
    else:
        size = pair(output_size)
    plane = np.arange(N * C)[:, None]
    idx = indices.reshape(N * C, H * W)
    out = np.zeros((N * C, size[0] * size[1]), dtype=x.dtype)
    out[plane, idx] = x.reshape(N * C, H * W)  # repeated indices carry equal values: assignment is safe
    return out.reshape(N, C, *size), (plane, idx, x.shape)


def max_unpool2d_backward(dout, cache):
    plane, idx, x_shape = cache
    N, C = x_shape[:2]
    return dout.reshape(N * C, -1)[plane, idx].reshape(x_shape)
