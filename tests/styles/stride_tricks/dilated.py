"""Stride-tricks style: a Kronecker product spreads the taps; cumulative products give the jumps."""

import numpy as np
from common import pair


def dilate_kernel(w, dilation):
    dh, dw = pair(dilation)
    KH, KW = w.shape[2:]
    nail = np.zeros((1, 1, dh, dw), dtype=w.dtype)
    nail[0, 0, 0, 0] = 1
    spread = np.kron(w, nail)  # each tap becomes a dh x dw block with the tap at its top-left
    return np.ascontiguousarray(spread[:, :, :dh * (KH - 1) + 1, :dw * (KW - 1) + 1])


def receptive_field(kernel_sizes, strides=None, dilations=None):
    k = np.asarray(kernel_sizes, dtype=np.int64)
    s = np.ones_like(k) if strides is None else np.asarray(strides, dtype=np.int64)
    d = np.ones_like(k) if dilations is None else np.asarray(dilations, dtype=np.int64)
    jumps = np.concatenate([[1], np.cumprod(s)[:-1]])
    return [int(v) for v in 1 + np.cumsum((k - 1) * d * jumps)]
