"""conv2d reuses the padded input as the backward's scratch buffer; with padding 0 that IS x.

The student skips np.pad when the padding is 0 (xp = x, no copy), keeps xp in
the cache and, in the backward, zeroes it and accumulates dx into it: the
caller's x is overwritten by the backward. Values are right, the input is not.
"""

MODULE = "conv"
EXPECTED_PARTS = {"conv_backward", "dilated_conv"}

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
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x  # no copy without padding
    cols = _im2col(xp, (KH, KW), stride, dilation, (Ho, Wo))
    out = (w.reshape(F, -1) @ cols).reshape(N, F, Ho, Wo)
    if b is not None:
        out += b.reshape(1, F, 1, 1)
    cache = (xp, w, b is not None, cols, stride, padding, dilation, (H, W))
    return out, cache


def conv2d_backward(dout, cache):
    xp, w, has_bias, cols, stride, padding, dilation, (H, W) = cache
    N = xp.shape[0]
    F, C, KH, KW = w.shape
    _, _, Ho, Wo = dout.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    d = dout.reshape(N, F, Ho * Wo)
    db = dout.sum(axis=(0, 2, 3)) if has_bias else None
    dw_ = (d @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    dcols = (w.reshape(F, -1).T @ d).reshape(N, C, KH, KW, Ho, Wo)
    dxp = xp  # BUG: "reuse the buffer" -- it is the caller's x when padding is 0
    dxp[...] = 0
    for i in range(KH):
        for j in range(KW):
            dxp[:, :, i * dh:i * dh + sh * (Ho - 1) + 1:sh, j * dw:j * dw + sw * (Wo - 1) + 1:sw] += dcols[:, :, i, j]
    dx = dxp[:, :, ph:ph + H, pw:pw + W].copy()
    return dx, dw_, db
