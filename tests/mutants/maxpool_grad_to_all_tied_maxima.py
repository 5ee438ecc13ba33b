"""max_pool2d_backward sends the gradient to EVERY input equal to the window's maximum.

The mask (window == max) is right without ties; with ties torch gives the
gradient to the first maximum only.
"""

MODULE = "pooling"
EXPECTED_PARTS = {"max_pool"}
NAMED = {"max_pool": "ties_every_max"}

import numpy as np


def max_pool2d_forward(x, kernel_size, stride=None, padding=0):
    N, C, _, W = x.shape
    kernel, stride, padding, (Ho, Wo) = _sizes(x.shape, kernel_size, stride, padding)
    (KH, KW), (sh, sw), (ph, pw) = kernel, stride, padding
    xp = _pad(x, padding, -np.inf)
    out = np.full((N, C, Ho, Wo), -np.inf, dtype=x.dtype)
    tap = np.zeros((N, C, Ho, Wo), dtype=np.int64)
    for t, window in enumerate(_taps(kernel, stride, (Ho, Wo))):
        values = xp[window]
        tap[values > out] = t
        np.maximum(out, values, out=out)
    corner = (np.arange(Ho)[:, None] * sh - ph) * W + (np.arange(Wo) * sw - pw)
    offset = (np.arange(KH)[:, None] * W + np.arange(KW)).ravel()
    indices = corner + offset[tap]
    return out, indices, (xp, out, x.shape, kernel, stride, padding)


def max_pool2d_backward(dout, cache):
    xp, out, x_shape, kernel, stride, padding = cache
    N, C, H, W = x_shape
    ph, pw = padding
    dxp = np.zeros_like(xp)
    for window in _taps(kernel, stride, dout.shape[2:]):
        dxp[window] += dout * (xp[window] == out)  # BUG: every tied maximum gets the gradient
    return np.ascontiguousarray(dxp[:, :, ph:ph + H, pw:pw + W])
