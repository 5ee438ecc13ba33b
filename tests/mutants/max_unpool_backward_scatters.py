"""max_unpool2d_backward scatters (inverts the index map) instead of gathering.

The student builds "which input went to output pixel k" with a scatter
inv[indices] = arange(H*W) and routes dout back through it: where several
inputs share an index (overlapping pools, ties) only the last one gets its
gradient. torch gathers: every input reads dout at its own index.
"""

MODULE = "upsample"
EXPECTED_PARTS = {"max_unpool"}
NAMED = {"max_unpool": "unpool_scatter"}

import numpy as np


def max_unpool2d_backward(dout, cache):
    flat_idx, x_shape = cache
    N, C, H, W = x_shape
    d = dout.reshape(N, C, -1)
    dx = np.zeros((N, C, H * W), dtype=dout.dtype)
    for n in range(N):
        for c in range(C):
            inv = np.full(d.shape[2], -1)
            inv[flat_idx[n, c]] = np.arange(H * W)  # BUG: scatter; repeated indices keep the last
            hit = inv >= 0
            dx[n, c, inv[hit]] = d[n, c, hit]
    return dx.reshape(x_shape)
