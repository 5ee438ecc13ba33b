"""Dilated (atrous) convolution: dilated kernels and receptive fields.

Lecture topic: dilated convolutions, which grow the receptive field
exponentially with depth without pooling and without extra weights. The
convolution itself is conv2d_forward with dilation > 1 (conv.py).
"""

import numpy as np
from common import pair


def dilate_kernel(w, dilation):
    """Spread the taps of a kernel apart by inserting zeros between them.

    conv2d(x, dilate_kernel(w, d)) equals conv2d(x, w, dilation=d): a dilated
    convolution is an ordinary convolution with a larger, mostly zero kernel.

    Inputs:
    - w: filter weights of shape (F, C, KH, KW)
    - dilation: int or pair (dh, dw); dh - 1 zero rows go between neighbouring
      kernel rows and dw - 1 zero columns between neighbouring kernel columns

    Returns:
    - w_dilated: array of shape (F, C, dh*(KH - 1) + 1, dw*(KW - 1) + 1), the
      dtype of w, with w_dilated[:, :, dh*i, dw*j] = w[:, :, i, j] and zeros
      everywhere else
    """
    # BEGIN SOLUTION
    # HINT: allocate zeros of the dilated shape, then assign w to every dh-th row and every dw-th column
    dh, dw = pair(dilation, "dilation")
    F, C, KH, KW = w.shape
    w_dilated = np.zeros((F, C, dh * (KH - 1) + 1, dw * (KW - 1) + 1), dtype=w.dtype)
    w_dilated[:, :, ::dh, ::dw] = w
    return w_dilated
    # END SOLUTION


def receptive_field(kernel_sizes, strides=None, dilations=None):
    """Receptive field, in input pixels, of one unit after each layer of a stack
    of convolution (or pooling) layers, along one axis.

    Layer l has kernel size k_l, stride s_l and dilation d_l. Neighbouring units
    of its input are J_l = s_1 * ... * s_(l-1) input pixels apart, so each
    layer widens the receptive field by (k_l - 1) * d_l of those steps:

        r_0 = 1,   r_l = r_(l-1) + (k_l - 1) * d_l * J_l

    Inputs:
    - kernel_sizes: list of L ints, the kernel size of each layer
    - strides: list of L ints, or None for all 1
    - dilations: list of L ints, or None for all 1

    Returns:
    - fields: list of L ints, fields[l] is the receptive field after layer l
      (a 3x3 stack with dilations 1, 2, 4 gives [3, 7, 15])
    """
    # BEGIN SOLUTION
    # HINT: walk the layers keeping r and the jump J (product of the strides so far): r += (k - 1) * d * J
    n = len(kernel_sizes)
    strides = [1] * n if strides is None else strides
    dilations = [1] * n if dilations is None else dilations
    fields, r, jump = [], 1, 1
    for k, s, d in zip(kernel_sizes, strides, dilations, strict=True):
        r += (int(k) - 1) * int(d) * jump
        jump *= int(s)
        fields.append(r)
    return fields
    # END SOLUTION
