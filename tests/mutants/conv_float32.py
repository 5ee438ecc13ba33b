"""conv2d_forward computes in float32 ("faster"): outputs and gradients come back float32."""

MODULE = "conv"
EXPECTED_PARTS = {"conv_forward", "conv_backward", "dilated_conv", "fcn"}
NAMED = {"conv_forward": "low_precision", "conv_backward": "low_precision", "dilated_conv": "low_precision",
         "fcn": "low_precision"}

import numpy as np
from common import conv_output_size, pair


def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1):
    x = x.astype(np.float32)  # BUG: float32 end to end
    w = w.astype(np.float32)
    N, _, H, W = x.shape
    F, _, KH, KW = w.shape
    stride, padding = pair(stride, "stride"), pair(padding, "padding")
    dilation = pair(dilation, "dilation")
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = _im2col(xp, (KH, KW), stride, dilation, (Ho, Wo))
    out = (w.reshape(F, -1) @ cols).reshape(N, F, Ho, Wo)
    if b is not None:
        out += b.reshape(1, F, 1, 1).astype(np.float32)
    cache = (x.shape, xp.shape, w, b is not None, cols, stride, padding, dilation)
    return out, cache
