"""Loop style: dilated kernels and receptive fields."""

import numpy as np
from common import pair


def dilate_kernel(w, dilation):
    dh, dw = pair(dilation)
    F, C, KH, KW = w.shape
    out = np.zeros((F, C, dh * (KH - 1) + 1, dw * (KW - 1) + 1), dtype=w.dtype)
    for i in range(KH):
        for j in range(KW):
            out[:, :, i * dh, j * dw] = w[:, :, i, j]
    return out


def receptive_field(kernel_sizes, strides=None, dilations=None):
    fields = []
    r, jump = 1, 1
    for layer, k in enumerate(kernel_sizes):
        s = 1 if strides is None else strides[layer]
        d = 1 if dilations is None else dilations[layer]
        r = r + (k - 1) * d * jump
        jump = jump * s
        fields.append(int(r))
    return fields
