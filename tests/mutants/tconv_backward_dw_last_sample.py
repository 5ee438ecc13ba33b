"""conv_transpose2d_backward keeps only the last sample's dw (= instead of += in a loop over the batch)."""

MODULE = "transposed"
EXPECTED_PARTS = {"transposed_backward", "fcn"}
NAMED = {"transposed_backward": "grad_last_sample"}

import numpy as np


def conv_transpose2d_backward(dout, cache):
    x, w, has_b, (sh, sw), (ph, pw), (dil_h, dil_w) = cache
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    dbuf = np.pad(dout, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    sN, sC, sH, sW = dbuf.strides
    cols = np.lib.stride_tricks.as_strided(
        dbuf, shape=(N, C_out, KH, KW, H, W),
        strides=(sN, sC, dil_h * sH, dil_w * sW, sh * sH, sw * sW), writeable=False,
    ).reshape(N, C_out * KH * KW, H * W)
    dx = (w.reshape(C_in, -1) @ cols).reshape(N, C_in, H, W)
    for n in range(N):
        dw = (x[n].reshape(C_in, H * W) @ cols[n].T).reshape(w.shape)  # BUG: = instead of +=
    db = dout.sum(axis=(0, 2, 3)) if has_b else None
    return dx, dw, db
