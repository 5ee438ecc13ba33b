"""conv_transpose2d_backward gathers dout at adjacent taps: the dilation is forgotten in the backward.

The forward is right; only dilated cases see the wrong dx and dw.
"""

MODULE = "transposed"
EXPECTED_PARTS = {"transposed_backward"}
NAMED = {"transposed_backward": "backward_ignores_dilation"}

import numpy as np


def conv_transpose2d_backward(dout, cache):
    x, w, has_b, (sh, sw), (ph, pw), _ = cache  # BUG: the dilation is dropped
    dil_h = dil_w = 1
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    dbuf = np.pad(dout, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    sN, sC, sH, sW = dbuf.strides
    cols = np.lib.stride_tricks.as_strided(
        dbuf, shape=(C_out, KH, KW, N, H, W),
        strides=(sC, dil_h * sH, dil_w * sW, sN, sh * sH, sw * sW), writeable=False,
    ).reshape(C_out * KH * KW, N * H * W)
    x2d = x.transpose(1, 0, 2, 3).reshape(C_in, N * H * W)
    dx = (w.reshape(C_in, -1) @ cols).reshape(C_in, N, H, W).transpose(1, 0, 2, 3)
    dw = (x2d @ cols.T).reshape(w.shape)
    db = dout.sum(axis=(0, 2, 3)) if has_b else None
    return np.ascontiguousarray(dx), dw, db
