"""Stride-tricks style: pooling windows as views, argmax for the indices, np.add.at for the backward."""

import numpy as np
from common import pair


def _windows(x, kernel_size, stride, padding, fill):
    kernel = pair(kernel_size)
    stride = kernel if stride is None else pair(stride)
    ph, pw = pair(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    win = np.lib.stride_tricks.sliding_window_view(xp, kernel, axis=(2, 3))[:, :, ::stride[0], ::stride[1]]
    return win, kernel, stride, (ph, pw)


def max_pool2d_forward(x, kernel_size, stride=None, padding=0):
    N, C, H, W = x.shape
    win, (KH, KW), (sh, sw), (ph, pw) = _windows(x, kernel_size, stride, padding, -np.inf)
    Ho, Wo = win.shape[2:4]
    flat = win.reshape(N, C, Ho, Wo, KH * KW)
    arg = flat.argmax(axis=-1)  # argmax returns the first maximum: torch's tie rule
    out = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
    r = np.arange(Ho)[:, None] * sh - ph + arg // KW
    c = np.arange(Wo)[None, :] * sw - pw + arg % KW
    indices = (r * W + c).astype(np.int64)
    return out, indices, (x.shape, indices)


def max_pool2d_backward(dout, cache):
    (N, C, H, W), indices = cache
    dx = np.zeros((N, C, H * W), dtype=dout.dtype)
    n = np.arange(N)[:, None, None, None]
    c = np.arange(C)[None, :, None, None]
    np.add.at(dx, (n, c, indices), dout)  # repeated indices add up
    return dx.reshape(N, C, H, W)


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0):
    win, kernel, stride, padding = _windows(x, kernel_size, stride, padding, 0.0)
    out = np.einsum("nchwij->nchw", win) / (kernel[0] * kernel[1])
    return out, (x.shape, kernel, stride, padding)


def avg_pool2d_backward(dout, cache):
    (N, C, H, W), (KH, KW), (sh, sw), (ph, pw) = cache
    Ho, Wo = dout.shape[2:]
    rows = (np.arange(Ho) * sh)[:, None, None, None] + np.arange(KH)[None, None, :, None]
    cols = (np.arange(Wo) * sw)[None, :, None, None] + np.arange(KW)[None, None, None, :]
    rows, cols = np.broadcast_arrays(rows, cols)
    share = np.broadcast_to((dout / (KH * KW))[..., None, None], (N, C, Ho, Wo, KH, KW))
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=dout.dtype)
    np.add.at(dxp, (slice(None), slice(None), rows, cols), share)
    return dxp[:, :, ph:ph + H, pw:pw + W].copy()
