"""conv2d_backward writes the gradient of tap (i, j) into dw[:, :, j, i]: dw comes back transposed.

A loop over the kernel taps with the two indices swapped in the assignment. Right on any kernel whose dw is
symmetric (never, in practice); on a square kernel dw is the right one with its kernel rows and columns swapped,
and on a non-square kernel the assignment raises an IndexError.
"""

MODULE = "conv"
EXPECTED_PARTS = {"conv_backward", "dilated_conv", "fcn"}
NAMED = {"conv_backward": "axes_swapped", "dilated_conv": "axes_swapped", "fcn": "axes_swapped"}
SAYS = {"conv_backward": ["dw holds the expected values with axes 2 and 3 (kernel rows and kernel columns) swapped",
                          "conv2d_backward raised IndexError at conv.py, line"]}

import numpy as np


def conv2d_backward(dout, cache):
    x_shape, xp_shape, w, has_bias, cols, stride, padding, dilation = cache
    N, C, H, W = x_shape
    F, _, KH, KW = w.shape
    _, _, Ho, Wo = dout.shape
    ph, pw = padding
    d = dout.reshape(N, F, Ho * Wo)
    db = dout.sum(axis=(0, 2, 3)) if has_bias else None
    windows = cols.reshape(N, C, KH, KW, Ho * Wo)
    dw = np.zeros(w.shape)
    for i in range(KH):
        for j in range(KW):
            dw[:, :, j, i] = np.einsum("nfl,ncl->fc", d, windows[:, :, i, j])  # BUG: dw[:, :, i, j]
    dcols = w.reshape(F, -1).T @ d
    dxp = _col2im(dcols, xp_shape[2:], (KH, KW), stride, dilation, (Ho, Wo))
    dx = np.ascontiguousarray(dxp[:, :, ph : ph + H, pw : pw + W])
    return dx, dw, db
