"""conv2d_forward pads the width by ph too (a copy-paste slip in np.pad): (ph, ph) on both axes.

The student's loop over the kernel taps reads Ho x Wo windows (the sizes computed right, from pw) out of an input
padded by ph on every side: along the width each window is shifted by ph - pw columns. Right whenever ph == pw.
The backward, which reads its own cache, is right.
"""

MODULE = "conv"
EXPECTED_PARTS = {"conv_forward", "dilated_conv"}
NAMED = {"conv_forward": "option_one_value"}
DIFFICULTY = {"conv_forward": "padding_pair"}
SAYS = {"conv_forward": ["out is what padding=(1, 1) gives (the case has padding=(1, 0): 1, its value along H, "
                         "for both axes), on its first"]}

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
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (ph, ph)))  # BUG: (pw, pw) along the width
    out = np.zeros((N, F, Ho, Wo))
    for i in range(KH):
        for j in range(KW):
            taps = xp[:, :, i * dh:i * dh + sh * (Ho - 1) + 1:sh, j * dw:j * dw + sw * (Wo - 1) + 1:sw]
            out += np.einsum("nchw,fc->nfhw", taps, w[:, :, i, j])
    if b is not None:
        out += b.reshape(1, F, 1, 1)
    right = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))  # what the backward reads
    cols = _im2col(right, (KH, KW), stride, dilation, (Ho, Wo))
    return out, (x.shape, right.shape, w, b is not None, cols, stride, padding, dilation)
