"""max_pool2d_forward returns indices in the PADDED plane: (row + p) * (W + 2p) + (col + p).

The backward is consistent with them (scatter into the padded plane, then
crop), so dx is right; the indices are wrong whenever padding > 0.
"""

MODULE = "pooling"
EXPECTED_PARTS = {"max_pool"}
NAMED = {"max_pool": "indices_padded"}

import numpy as np


def max_pool2d_forward(x, kernel_size, stride=None, padding=0):
    N, C, H, W = x.shape
    kernel, stride, padding, (Ho, Wo) = _sizes(x.shape, kernel_size, stride, padding)
    (KH, KW), (sh, sw), (ph, pw) = kernel, stride, padding
    xp = _pad(x, padding, -np.inf)
    Wp = W + 2 * pw
    out = np.full((N, C, Ho, Wo), -np.inf, dtype=x.dtype)
    tap = np.zeros((N, C, Ho, Wo), dtype=np.int64)
    for t, window in enumerate(_taps(kernel, stride, (Ho, Wo))):
        values = xp[window]
        tap[values > out] = t
        np.maximum(out, values, out=out)
    corner = (np.arange(Ho)[:, None] * sh) * Wp + (np.arange(Wo) * sw)  # BUG: padded coordinates
    offset = (np.arange(KH)[:, None] * Wp + np.arange(KW)).ravel()
    indices = corner + offset[tap]
    return out, indices, (x.shape, indices, padding)


def max_pool2d_backward(dout, cache):
    x_shape, indices, (ph, pw) = cache
    N, C, H, W = x_shape
    Hp, Wp = H + 2 * ph, W + 2 * pw
    flat = indices.reshape(N * C, -1) + np.arange(N * C)[:, None] * (Hp * Wp)
    dxp = np.bincount(flat.ravel(), weights=dout.ravel(), minlength=N * C * Hp * Wp).reshape(N, C, Hp, Wp)
    return np.ascontiguousarray(dxp[:, :, ph:ph + H, pw:pw + W])
