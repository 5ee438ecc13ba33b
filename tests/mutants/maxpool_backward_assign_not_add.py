"""max_pool2d_backward scatters with = (fancy assignment) instead of adding.

When overlapping windows share a maximum, only one window's gradient survives.
"""

MODULE = "pooling"
EXPECTED_PARTS = {"max_pool"}
NAMED = {"max_pool": "overwrite_not_accumulate"}

import numpy as np


def max_pool2d_backward(dout, cache):
    x_shape, indices = cache
    N, C, H, W = x_shape
    dx = np.zeros((N, C, H * W), dtype=dout.dtype)
    n, c = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
    flat = indices.reshape(N, C, -1)
    dx[n[..., None], c[..., None], flat] = dout.reshape(N, C, -1)  # BUG: duplicates overwrite
    return dx.reshape(x_shape)
