"""conv_transpose2d_backward computes dw as a (C_out*KH*KW, C_in) product and reshapes it to w's shape.

The product is the transpose of the one it needs (cols @ x2d.T, not x2d @ cols.T): the right numbers, read in the
wrong order by the reshape.
"""

MODULE = "transposed"
EXPECTED_PARTS = {"transposed_backward", "fcn"}
NAMED = {"transposed_backward": "reshape_order"}
ALSO_NAMED = {"fcn": ["reshape_order"]}

import numpy as np


def conv_transpose2d_backward(dout, cache):
    x, w, has_b, (sh, sw), (ph, pw), (dil_h, dil_w) = cache
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    dbuf = np.pad(dout, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else dout
    sN, sC, sH, sW = dbuf.strides
    cols = np.lib.stride_tricks.as_strided(
        dbuf, shape=(C_out, KH, KW, N, H, W), strides=(sC, dil_h * sH, dil_w * sW, sN, sh * sH, sw * sW),
        writeable=False).reshape(C_out * KH * KW, N * H * W)
    x2d = x.transpose(1, 0, 2, 3).reshape(C_in, N * H * W)
    dx = (w.reshape(C_in, -1) @ cols).reshape(C_in, N, H, W).transpose(1, 0, 2, 3)
    dw = (cols @ x2d.T).reshape(w.shape)  # BUG: (C_out*KH*KW, C_in) reshaped as (C_in, C_out, KH, KW)
    db = dout.sum(axis=(0, 2, 3)) if has_b else None
    return np.ascontiguousarray(dx), dw, db
