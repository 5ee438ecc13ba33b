"""Stride-tricks style: the transposed convolution in its gather form.

Stuff stride - 1 zeros between the input pixels, pad by d(k-1) - p (plus
output_padding at the bottom/right), and convolve with the kernel rotated by
180 degrees and its channel axes swapped. The backward gathers dout's windows
at the input pixels.
"""

import numpy as np
from common import pair


def _pad_or_crop(a, before, after):
    """Pad (positive) or crop (negative) the last two axes."""
    a = np.pad(a, ((0, 0), (0, 0), (max(before[0], 0), max(after[0], 0)), (max(before[1], 0), max(after[1], 0))))
    H, W = a.shape[2:]
    return a[:, :, max(-before[0], 0):H - max(-after[0], 0), max(-before[1], 0):W - max(-after[1], 0)]


def conv_transpose2d_forward(x, w, b=None, stride=1, padding=0, output_padding=0, dilation=1):
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = pair(stride), pair(padding), pair(output_padding), pair(dilation)
    up = np.zeros((N, C_in, (H - 1) * sh + 1, (W - 1) * sw + 1), dtype=x.dtype)
    up[:, :, ::sh, ::sw] = x
    eh, ew = dh * (KH - 1) - ph, dw * (KW - 1) - pw
    up = _pad_or_crop(up, (eh, ew), (eh + oph, ew + opw))
    span = (dh * (KH - 1) + 1, dw * (KW - 1) + 1)
    win = np.lib.stride_tricks.sliding_window_view(up, span, axis=(2, 3))[..., ::dh, ::dw]
    rotated = w[:, :, ::-1, ::-1]
    out = np.einsum("nchwij,coij->nohw", win, rotated, optimize=True)
    if b is not None:
        out = out + b[None, :, None, None]
    return out, (x, w, b is not None, (sh, sw), (ph, pw), (dh, dw))


def conv_transpose2d_backward(dout, cache):
    x, w, has_bias, (sh, sw), (ph, pw), (dh, dw) = cache
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    # input pixel (h, w) wrote to output pixels (h*s - p + i*d, w*s - p + j*d): read them back
    dpad = np.pad(dout, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    span = (dh * (KH - 1) + 1, dw * (KW - 1) + 1)
    win = np.lib.stride_tricks.sliding_window_view(dpad, span, axis=(2, 3))
    win = win[:, :, ::sh, ::sw, ::dh, ::dw][:, :, :H, :W]
    dx = np.einsum("nohwij,coij->nchw", win, w, optimize=True)
    dw_ = np.einsum("nchw,nohwij->coij", x, win, optimize=True)
    db = dout.sum(axis=(0, 2, 3)) if has_bias else None
    return dx, dw_, db
