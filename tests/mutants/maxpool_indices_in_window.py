"""max_pool2d_forward returns each maximum's position INSIDE its window (0 .. kh*kw-1).

The backward uses the window positions correctly, so dx is right; the
returned indices are not the flat row * W + col positions torch returns.
"""

MODULE = "pooling"
EXPECTED_PARTS = {"max_pool"}
NAMED = {"max_pool": "indices_in_window"}

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
    flat = corner + offset[tap]
    return out, tap, (x.shape, flat)  # BUG: returns the in-window position
