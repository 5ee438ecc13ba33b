"""Stride-tricks style: im2col as a strided view; T is im2col applied to the identity basis."""

import numpy as np
from common import conv_output_size, pair


def _params(H, W, kernel_size, stride, padding, dilation):
    (KH, KW), (sh, sw), (ph, pw), (dh, dw) = pair(kernel_size), pair(stride), pair(padding), pair(dilation)
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    return (KH, KW), (sh, sw), (ph, pw), (dh, dw), Ho, Wo


def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    N, C, H, W = x.shape
    (KH, KW), (sh, sw), (ph, pw), (dh, dw), Ho, Wo = _params(H, W, kernel_size, stride, padding, dilation)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    s = xp.strides
    view = np.lib.stride_tricks.as_strided(
        xp, shape=(N, C, KH, KW, Ho, Wo),
        strides=(s[0], s[1], dh * s[2], dw * s[3], sh * s[2], sw * s[3]), writeable=False)
    return view.reshape(N, C * KH * KW, Ho * Wo)  # reshape of a non-contiguous view copies


def col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1):
    H, W = pair(output_size)
    (KH, KW), (sh, sw), (ph, pw), (dh, dw), Ho, Wo = _params(H, W, kernel_size, stride, padding, dilation)
    N = cols.shape[0]
    C = cols.shape[1] // (KH * KW)
    rows = (np.arange(KH) * dh)[:, None, None, None] + (np.arange(Ho) * sh)[None, None, :, None]
    cls = (np.arange(KW) * dw)[None, :, None, None] + (np.arange(Wo) * sw)[None, None, None, :]
    rows, cls = np.broadcast_arrays(rows, cls)
    out = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    np.add.at(out, (slice(None), slice(None), rows, cls), cols.reshape(N, C, KH, KW, Ho, Wo))
    return out[:, :, ph:ph + H, pw:pw + W].copy()


def conv2d_toeplitz(w, input_size, stride=1, padding=0, dilation=1):
    F, C, KH, KW = w.shape
    C_in, H, W = input_size
    n = C_in * H * W
    basis = np.eye(n, dtype=w.dtype).reshape(n, C_in, H, W)  # column p of T is the conv of pixel p alone
    cols = im2col(basis, (KH, KW), stride, padding, dilation)  # (n, C*KH*KW, L)
    T = np.einsum("fk,pkl->flp", w.reshape(F, -1), cols, optimize=True)
    return T.reshape(F * cols.shape[2], n)


def conv2d_gemm(x, w, b=None, stride=1, padding=0, dilation=1):
    N, C, H, W = x.shape
    F = w.shape[0]
    _, _, _, _, Ho, Wo = _params(H, W, w.shape[2:], stride, padding, dilation)
    cols = im2col(x, w.shape[2:], stride, padding, dilation)
    out = np.tensordot(w.reshape(F, -1), cols, axes=([1], [1]))  # (F, N, L): one GEMM
    out = out.transpose(1, 0, 2).reshape(N, F, Ho, Wo)
    if b is not None:
        out = out + b[None, :, None, None]
    return out
