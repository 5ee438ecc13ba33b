"""nearest_upsample_forward uses np.tile: the whole image repeated, not each pixel.

The backward is consistent with the tiling, so both are wrong.
"""

MODULE = "upsample"
EXPECTED_PARTS = {"nearest"}
NAMED = {"nearest": "nearest_tiles"}

import numpy as np
from common import pair


def nearest_upsample_forward(x, scale_factor):
    sh, sw = pair(scale_factor, "scale_factor")
    out = np.tile(x, (1, 1, sh, sw))  # BUG: np.repeat along each axis
    return out, (x.shape, sh, sw)


def nearest_upsample_backward(dout, cache):
    (N, C, H, W), sh, sw = cache
    return dout.reshape(N, C, sh, H, sw, W).sum(axis=(2, 4))
