"""conv_transpose2d_forward scatters with two loops over the input, the inner one over range(H), not W.

A copy-paste slip in a loop written per input pixel: every square input is right; a wider input loses
its last columns, a taller one raises an IndexError.
"""

MODULE = "transposed"
EXPECTED_PARTS = {"transposed_forward", "transposed_backward", "fcn"}
NAMED = {"transposed_forward": "stops_early"}
DIFFICULTY = {"transposed_forward": "nonsquare_input"}

import numpy as np
from common import pair


def conv_transpose2d_forward(x, w, b=None, stride=1, padding=0, output_padding=0, dilation=1):
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    oph, opw = pair(output_padding)
    Ho = (H - 1) * sh - 2 * ph + dh * (KH - 1) + oph + 1
    Wo = (W - 1) * sw - 2 * pw + dw * (KW - 1) + opw + 1
    buf = np.zeros((N, C_out, Ho + 2 * ph, Wo + 2 * pw), dtype=x.dtype)
    for r in range(H):
        for c in range(H):  # BUG: range(W)
            patch = np.einsum("nc,cokl->nokl", x[:, :, r, c], w)
            buf[:, :, r * sh:r * sh + dh * (KH - 1) + 1:dh, c * sw:c * sw + dw * (KW - 1) + 1:dw] += patch
    out = buf[:, :, ph:ph + Ho, pw:pw + Wo]
    if b is not None:
        out += b.reshape(1, C_out, 1, 1)
    return out, (x, w, b is not None, (sh, sw), (ph, pw), (dh, dw))
