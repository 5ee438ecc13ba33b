"""max_pool2d_forward sizes its output with round() instead of floor division.

H_out = round((H + 2p - k) / s) + 1: one window too many whenever the last
window would stick out by more than half a stride. The student pads with
-inf at the bottom/right until that window fits.
"""

MODULE = "pooling"
EXPECTED_PARTS = {"max_pool", "fcn"}
NAMED = {"max_pool": "size_not_floor"}
# On a hidden case (7 x 5, 3 x 2 windows, stride (2, 3)) a height computed from a width predicts the same
# wrong shape: a case where only the rounding fits decides.
SAYS = {"max_pool": [" also fit 'a height used for a width'; case ", " fits only the one above)"]}

import numpy as np
from common import pair


def max_pool2d_forward(x, kernel_size, stride=None, padding=0):
    N, C, H, W = x.shape
    kernel = pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else pair(stride, "stride")
    padding = pair(padding, "padding")
    (KH, KW), (sh, sw), (ph, pw) = kernel, stride, padding
    Ho = round((H + 2 * ph - KH) / sh) + 1  # BUG: round, not //
    Wo = round((W + 2 * pw - KW) / sw) + 1
    extra_h = max(0, (Ho - 1) * sh + KH - (H + 2 * ph))
    extra_w = max(0, (Wo - 1) * sw + KW - (W + 2 * pw))
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph + extra_h), (pw, pw + extra_w)), constant_values=-np.inf)
    out = np.full((N, C, Ho, Wo), -np.inf, dtype=x.dtype)
    tap = np.zeros((N, C, Ho, Wo), dtype=np.int64)
    for t, window in enumerate(_taps(kernel, stride, (Ho, Wo))):
        values = xp[window]
        tap[values > out] = t
        np.maximum(out, values, out=out)
    corner = (np.arange(Ho)[:, None] * sh - ph) * W + (np.arange(Wo) * sw - pw)
    offset = (np.arange(KH)[:, None] * W + np.arange(KW)).ravel()
    indices = np.clip(corner + offset[tap], 0, H * W - 1)
    return out, indices, (x.shape, indices)
