"""conv2d_forward flips the kernel: a true convolution instead of torch's cross-correlation.

The backward (from the cache) is the reference one, so only the forward output
is wrong; every kernel larger than 1x1 shows it.
"""

MODULE = "conv"
EXPECTED_PARTS = {"conv_forward", "dilated_conv", "fcn"}
NAMED = {"conv_forward": "kernel_flipped", "dilated_conv": "kernel_flipped"}

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
    w_flipped = w[:, :, ::-1, ::-1]  # BUG: the lecture's "convolution" flips, torch's does not
    out = (w_flipped.reshape(F, -1) @ cols).reshape(N, F, Ho, Wo)
    if b is not None:
        out += b.reshape(1, F, 1, 1)
    cache = (x.shape, xp.shape, w, b is not None, cols, stride, padding, dilation)
    return out, cache
