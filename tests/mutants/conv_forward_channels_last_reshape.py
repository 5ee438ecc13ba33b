"""conv2d_forward multiplies in the (N, Ho*Wo, F) layout and reshapes it to (N, F, Ho, Wo) without a transpose.

The student writes the product with the windows first, cols^T @ w^T, whose result holds one row of F values per
output pixel (channels last), then reshapes it to NCHW: the right numbers, in the wrong places. The backward
only reads the cache, so conv2d_backward is right.
"""

MODULE = "conv"
EXPECTED_PARTS = {"conv_forward", "dilated_conv", "fcn"}
NAMED = {"conv_forward": "reshape_order", "dilated_conv": "reshape_order"}
SAYS = {"conv_forward": ["out holds the expected values in the order (samples, rows, columns, channels: channels last) "
                         "where (samples, channels, rows, columns) is expected"]}

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
    out = cols.transpose(0, 2, 1) @ w.reshape(F, -1).T  # (N, Ho*Wo, F)
    out = out.reshape(N, F, Ho, Wo)  # BUG: out.transpose(0, 2, 1).reshape(N, F, Ho, Wo)
    if b is not None:
        out = out + b.reshape(1, F, 1, 1)
    cache = (x.shape, xp.shape, w, b is not None, cols, stride, padding, dilation)
    return out, cache
