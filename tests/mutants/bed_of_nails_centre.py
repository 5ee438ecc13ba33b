"""bed_of_nails puts each value at the CENTRE of its s x s block instead of its top-left."""

MODULE = "upsample"
EXPECTED_PARTS = {"bed_of_nails"}
NAMED = {"bed_of_nails": "nails_not_top_left"}

import numpy as np
from common import pair


def bed_of_nails_forward(x, scale_factor):
    sh, sw = pair(scale_factor, "scale_factor")
    N, C, H, W = x.shape
    out = np.zeros((N, C, H * sh, W * sw), dtype=x.dtype)
    out[:, :, sh // 2::sh, sw // 2::sw] = x  # BUG: the centre
    return out, (sh, sw)


def bed_of_nails_backward(dout, cache):
    sh, sw = cache
    return dout[:, :, sh // 2::sh, sw // 2::sw].copy()
