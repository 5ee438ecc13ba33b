"""Stride-tricks style: windows as views, einsum for the products, np.add.at for the scatter."""

import numpy as np
from common import conv_output_size, pair


def _windows(xp, kernel, stride, dilation):
    """View (N, C, Ho, Wo, KH, KW) of the receptive fields of the padded input."""
    (KH, KW), (sh, sw), (dh, dw) = kernel, stride, dilation
    span = (dh * (KH - 1) + 1, dw * (KW - 1) + 1)
    return np.lib.stride_tricks.sliding_window_view(xp, span, axis=(2, 3))[:, :, ::sh, ::sw, ::dh, ::dw]


def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1):
    stride, padding, dilation = pair(stride), pair(padding), pair(dilation)
    (ph, pw) = padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    win = _windows(xp, w.shape[2:], stride, dilation)
    Ho = conv_output_size(x.shape[2], w.shape[2], stride[0], ph, dilation[0])
    Wo = conv_output_size(x.shape[3], w.shape[3], stride[1], pw, dilation[1])
    win = win[:, :, :Ho, :Wo]
    out = np.einsum("nchwij,fcij->nfhw", win, w, optimize=True)
    if b is not None:
        out = out + b[None, :, None, None]
    return out, (x, w, b is not None, stride, padding, dilation)


def conv2d_backward(dout, cache):
    x, w, has_bias, (sh, sw), (ph, pw), (dh, dw) = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    _, _, Ho, Wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    win = _windows(xp, (KH, KW), (sh, sw), (dh, dw))[:, :, :Ho, :Wo]
    dw_ = np.einsum("nfhw,nchwij->fcij", dout, win, optimize=True)
    # every window's share of dx, then scatter-add it onto the pixels it read
    contrib = np.einsum("nfhw,fcij->nchwij", dout, w, optimize=True)
    rows = (np.arange(Ho) * sh)[:, None, None, None] + (np.arange(KH) * dh)[None, None, :, None]
    cols = (np.arange(Wo) * sw)[None, :, None, None] + (np.arange(KW) * dw)[None, None, None, :]
    rows, cols = np.broadcast_arrays(rows, cols)
    dxp = np.zeros_like(xp)
    np.add.at(dxp, (slice(None), slice(None), rows, cols), contrib)
    dx = dxp[:, :, ph:ph + H, pw:pw + W].copy()
    db = dout.sum(axis=(0, 2, 3)) if has_bias else None
    return dx, dw_, db
