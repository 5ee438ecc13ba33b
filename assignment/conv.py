"""Convolution layer: forward pass and backpropagation.

Lecture topic: backprop in convolutional layers. The forward pass is a matrix
product over the receptive fields (im2col); the backward pass routes the
upstream gradient back through the same product and scatters it onto the input
(col2im).
"""

import numpy as np
from common import conv_output_size, pair


def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1):
    """Forward pass of a 2-D convolution, as torch.nn.functional.conv2d.

    Like torch (and every deep-learning library), this is a cross-correlation:
    the kernel is not flipped. The input has N samples with C channels of
    height H and width W; it is filtered by F filters, each spanning all C
    channels with height KH and width KW.

    Inputs:
    - x: input data of shape (N, C, H, W)
    - w: filter weights of shape (F, C, KH, KW)
    - b: biases of shape (F,), or None for no bias
    - stride: int or pair (sh, sw), step between neighbouring receptive fields
    - padding: int or pair (ph, pw), zeros added on both sides of H and of W
    - dilation: int or pair (dh, dw), spacing between neighbouring kernel taps

    Returns a tuple of:
    - out: output data of shape (N, F, Ho, Wo), where
        Ho = (H + 2*ph - dh*(KH - 1) - 1) // sh + 1
        Wo = (W + 2*pw - dw*(KW - 1) - 1) // sw + 1
    - cache: whatever conv2d_backward needs
    """
    # pad x, gather the receptive fields (im2col), then one matrix product with w
    # sizes: conv_output_size(H, KH, sh, ph, dh); keep the columns for the backward pass
    raise NotImplementedError('conv2d_forward: not implemented yet (pad x, gather the receptive fields (im2col), then one matrix product with w)')


def conv2d_backward(dout, cache):
    """Backward pass of a 2-D convolution.

    Inputs:
    - dout: upstream gradient of shape (N, F, Ho, Wo)
    - cache: the cache returned by conv2d_forward

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, C, H, W)
    - dw: gradient with respect to w, shape (F, C, KH, KW)
    - db: gradient with respect to b, shape (F,), or None if b was None
    """
    # out = w @ cols, so dw = dout @ cols^T summed over the batch, and dcols = w^T @ dout
    # col2im: add each column entry back onto the input pixel it was read from, then drop the padding
    raise NotImplementedError('conv2d_backward: not implemented yet (out = w @ cols, so dw = dout @ cols^T summed over the batch, and dcols = w^T @ dout)')
