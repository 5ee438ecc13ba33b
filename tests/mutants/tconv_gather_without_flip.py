"""conv_transpose2d_forward as "dilate the input, pad, convolve" -- without flipping the kernel.

The gather form of the transposed convolution is a convolution of the
zero-stuffed input with the kernel rotated by 180 degrees (and the channel
axes swapped); the student swapped the axes but did not rotate.
"""

MODULE = "transposed"
EXPECTED_PARTS = {"transposed_forward", "fcn"}
NAMED = {"transposed_forward": "kernel_flipped"}
SAYS = {"transposed_forward": ["your output matches the transposed convolution with the kernel flipped"]}

import numpy as np
from common import pair


def conv_transpose2d_forward(x, w, b=None, stride=1, padding=0, output_padding=0, dilation=1):
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    oph, opw = pair(output_padding)
    # zero-stuff: stride - 1 zeros between input pixels
    up = np.zeros((N, C_in, (H - 1) * sh + 1, (W - 1) * sw + 1), dtype=x.dtype)
    up[:, :, ::sh, ::sw] = x
    eh, ew = dh * (KH - 1) - ph, dw * (KW - 1) - pw
    up = np.pad(up, ((0, 0), (0, 0), (eh, eh + oph), (ew, ew + opw)))
    wc = w.transpose(1, 0, 2, 3)  # (C_out, C_in, KH, KW); BUG: not rotated by 180 degrees
    span = (dh * (KH - 1) + 1, dw * (KW - 1) + 1)
    win = np.lib.stride_tricks.sliding_window_view(up, span, axis=(2, 3))[..., ::dh, ::dw]
    out = np.einsum("nchwij,ocij->nohw", win, wc)
    if b is not None:
        out += b.reshape(1, C_out, 1, 1)
    return out, (x, w, b is not None, (sh, sw), (ph, pw), (dh, dw))
