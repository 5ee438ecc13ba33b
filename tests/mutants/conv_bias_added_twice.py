"""conv2d_forward adds the bias twice: once into each window's sum and once more at the end.

The student folds b into the matrix product (a row of ones in the columns) and
then keeps the "out += b" of the first version too.
"""

MODULE = "conv"
EXPECTED_PARTS = {"conv_forward", "dilated_conv", "fcn"}
NAMED = {"conv_forward": "bias_twice", "dilated_conv": "bias_twice"}

import numpy as np
from common import conv_output_size, pair


def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1):
    N, _, H, W = x.shape
    F, _, KH, KW = w.shape
    stride, padding = pair(stride, "stride"), pair(padding, "padding")
    dilation = pair(dilation, "dilation")
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = _im2col(xp, (KH, KW), stride, dilation, (Ho, Wo))
    if b is not None:
        ones = np.ones((N, 1, Ho * Wo))
        out = np.concatenate([w.reshape(F, -1), b[:, None]], axis=1) @ np.concatenate([cols, ones], axis=1)
        out = out.reshape(N, F, Ho, Wo)
        out += b.reshape(1, F, 1, 1)  # BUG: the bias is already in the product
    else:
        out = (w.reshape(F, -1) @ cols).reshape(N, F, Ho, Wo)
    cache = (x.shape, xp.shape, w, b is not None, cols, stride, padding, dilation)
    return out, cache
