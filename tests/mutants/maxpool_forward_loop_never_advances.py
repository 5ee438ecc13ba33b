"""max_pool2d_forward walks the windows with while loops and skips the column step after a padded window.

The student handles a window that starts in the padding in a branch of its own, which ends with `continue`
before `ow += sw`: the first padded window is visited forever. Every case with padding times out; the feedback
must say which line was running when the call was stopped.
"""

MODULE = "pooling"
EXPECTED_PARTS = {"max_pool"}
DIFFICULTY = {"max_pool": "padding"}
SAYS = {"max_pool": ["it was running pooling.py, line", "in max_pool2d_forward when it was stopped"]}

import numpy as np
from common import conv_output_size, pair


def max_pool2d_forward(x, kernel_size, stride=None, padding=0):
    N, C, H, W = x.shape
    KH, KW = pair(kernel_size)
    sh, sw = pair(kernel_size if stride is None else stride)
    ph, pw = pair(padding)
    Ho, Wo = conv_output_size(H, KH, sh, ph), conv_output_size(W, KW, sw, pw)
    out = np.empty((N, C, Ho, Wo))
    indices = np.empty((N, C, Ho, Wo), dtype=np.int64)
    oh = 0
    while oh < Ho:
        ow = 0
        while ow < Wo:
            r0, c0 = oh * sh - ph, ow * sw - pw
            r1, c1 = min(r0 + KH, H), min(c0 + KW, W)
            if r0 < 0 or c0 < 0:  # a window that starts in the padding: clip it to the input
                rs, cs = max(r0, 0), max(c0, 0)
                window = x[:, :, rs:r1, cs:c1].reshape(N, C, -1)
                k = window.argmax(axis=2)
                out[:, :, oh, ow] = window.max(axis=2)
                indices[:, :, oh, ow] = (rs + k // (c1 - cs)) * W + cs + k % (c1 - cs)
                continue  # BUG: ow += sw skipped
            window = x[:, :, r0:r1, c0:c1].reshape(N, C, -1)
            k = window.argmax(axis=2)
            out[:, :, oh, ow] = window.max(axis=2)
            indices[:, :, oh, ow] = (r0 + k // (c1 - c0)) * W + c0 + k % (c1 - c0)
            ow += 1
        oh += 1
    return out, indices, (x.shape, indices)
