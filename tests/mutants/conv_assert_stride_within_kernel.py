"""conv2d_forward asserts that the stride is at most the kernel size, which only a hidden case breaks.

The student believes windows must touch or overlap and guards the forward with an
assert; every visible case has a stride within the kernel, so the crash happens
only on the hidden case whose stride (3) exceeds the kernel height (2). Its
feedback must say the exception's type and where it was raised (file, line,
function), never the assertion's message.
"""

MODULE = "conv"
EXPECTED_PARTS = {"conv_forward", "conv_backward"}
SAYS = {"conv_forward": ["conv2d_forward raised AssertionError at conv.py, line"]}

import numpy as np

def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1):
    (sh, sw), (KH, KW) = pair(stride), w.shape[2:]
    assert sh <= KH and sw <= KW, f"SECRET stride {(sh, sw)} larger than the kernel {(KH, KW)}: x[0]={x.ravel()[0]}"
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
