"""max_pool2d_forward keeps the LAST maximum on ties (>= instead of >).

Indices (and so the gradient) point at the last tied maximum of the window;
torch picks the first in row-major order.
"""

MODULE = "pooling"
EXPECTED_PARTS = {"max_pool"}
NAMED = {"max_pool": "ties_last_max"}

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
        tap[values >= out] = t  # BUG: a later tie replaces the earlier maximum
        np.maximum(out, values, out=out)
    corner = (np.arange(Ho)[:, None] * sh - ph) * W + (np.arange(Wo) * sw - pw)
    offset = (np.arange(KH)[:, None] * W + np.arange(KW)).ravel()
    indices = corner + offset[tap]
    return out, indices, (x.shape, indices)
