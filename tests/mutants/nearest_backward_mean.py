"""nearest_upsample_backward averages dout over each sh x sw block instead of summing it.

Each input pixel was copied to the sh * sw pixels of its block, so its gradient is the SUM of dout there; the mean
is that sum divided by sh * sw.
"""

MODULE = "upsample"
EXPECTED_PARTS = {"nearest"}
NAMED = {"nearest": "scaled"}
SAYS = {"nearest": ["dx is the expected dx times 0.25 = 1/(fh*fw)"]}

import numpy as np


def nearest_upsample_backward(dout, cache):
    (N, C, H, W), sh, sw = cache
    return dout.reshape(N, C, H, sh, W, sw).mean(axis=(3, 5))  # BUG: .sum
