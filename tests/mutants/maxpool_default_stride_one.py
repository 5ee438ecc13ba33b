"""max_pool2d_forward has the default stride=1 in its signature instead of None (= kernel_size).

Right whenever the stride is given; wrong when the caller leaves it out.
"""

MODULE = "pooling"
EXPECTED_PARTS = {"max_pool"}
NAMED = {"max_pool": "stride_none"}

import numpy as np


def max_pool2d_forward(x, kernel_size, stride=1, padding=0):  # BUG: default stride
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
    return out, indices, (x.shape, indices)
