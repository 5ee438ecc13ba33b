"""max_pool2d_forward scans each window column by column: on ties the first maximum in COLUMN-major order wins.

The loops over the kernel taps are nested j-outer, i-inner; torch picks the
first maximum in row-major order. Without ties the result is the same.
"""

MODULE = "pooling"
EXPECTED_PARTS = {"max_pool"}
NAMED = {"max_pool": "ties_first_max"}

import numpy as np


def max_pool2d_forward(x, kernel_size, stride=None, padding=0):
    N, C, _, W = x.shape
    kernel, stride, padding, (Ho, Wo) = _sizes(x.shape, kernel_size, stride, padding)
    (KH, KW), (sh, sw), (ph, pw) = kernel, stride, padding
    xp = _pad(x, padding, -np.inf)
    out = np.full((N, C, Ho, Wo), -np.inf, dtype=x.dtype)
    row = np.zeros((N, C, Ho, Wo), dtype=np.int64)
    col = np.zeros((N, C, Ho, Wo), dtype=np.int64)
    for j in range(KW):  # BUG: columns outside, rows inside
        for i in range(KH):
            values = xp[..., i:i + sh * (Ho - 1) + 1:sh, j:j + sw * (Wo - 1) + 1:sw]
            better = values > out
            row[better], col[better] = i, j
            np.maximum(out, values, out=out)
    rows = np.arange(Ho)[:, None] * sh - ph + row
    cols = np.arange(Wo) * sw - pw + col
    indices = rows * W + cols
    return out, indices, (x.shape, indices)
