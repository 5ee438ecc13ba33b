"""conv2d_forward catches errors with except*, syntax Python 3.10 does not have: conv.py fails to parse there.

The student's Python is 3.11+, where the file runs; Gradescope's is 3.10, where
conv.py is a syntax error, and fcn.py, which imports conv, cannot be imported.
The grader fails the parts of conv.py in every Python (and check.py with it),
with the line and what to change.
"""

MODULE = "conv"
EXPECTED_PARTS = {"conv_forward", "conv_backward", "dilated_conv", "fc_to_conv", "fcn"}
SAYS = {"conv_forward": ["conv.py line", "needs a Python newer than 3.10", "use a plain except"]}

import numpy as np

def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1):
    try:
        return _conv2d_forward(x, w, b, stride, padding, dilation)
    except* ValueError:  # BUG: Python 3.11+ syntax
        raise


def _conv2d_forward(x, w, b, stride, padding, dilation):
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
        out += b.reshape(1, F, 1, 1)
    return out, (x.shape, xp.shape, w, b is not None, cols, stride, padding, dilation)
