"""Transposed convolution (learnable upsampling).

Write a convolution as a matrix T acting on the flattened image: the transposed
convolution multiplies by T.T instead, which is exactly the gradient of that
convolution with respect to its input. Each input pixel scatters a copy of the
kernel, scaled by its value, into the output (stride steps between copies) and
overlapping copies add up.
"""

import numpy as np
from common import conv_transpose_output_size, pair


def conv_transpose2d_forward(x, w, b=None, stride=1, padding=0, output_padding=0, dilation=1):
    """Forward pass of a 2-D transposed convolution (torch F.conv_transpose2d).

    Input pixel (h, w) adds w[c_in, :, i, j] * x[n, c_in, h, w] to output pixel
    (h*stride + i*dil - pad, w*stride + j*dil - pad) for every tap (i, j);
    contributions that land in the padding are dropped.

    Inputs:
    - x: input of shape (N, C_in, H, W)
    - w: weights of shape (C_in, C_out, KH, KW)
    - b: biases of shape (C_out,), or None
    - stride, padding, output_padding, dilation: int or pair (h, w);
      output_padding < max(stride, dilation) per axis, it adds rows / columns
      at the bottom / right of the output

    Returns a tuple of:
    - out: array of shape (N, C_out, Ho, Wo), dtype of x, with
        Ho = (H - 1)*stride_h - 2*pad_h + dil_h*(KH - 1) + output_padding_h + 1
        Wo = (W - 1)*stride_w - 2*pad_w + dil_w*(KW - 1) + output_padding_w + 1
    - cache: values needed by conv_transpose2d_backward
    """
    # one matmul gives every input pixel's scaled kernel: w as (KH*KW*C_out, C_in) @ x as (N, C_in, H*W)
    # then, for every kernel tap (i, j), add its block into the strided slice of a zero buffer that includes the padding; crop the padding at the end
    raise NotImplementedError("conv_transpose2d_forward: not implemented yet (one matmul gives every input pixel's scaled kernel: w as (KH*KW*C_out, C_in) @ x as (N, C_in, H*W))")


def conv_transpose2d_backward(dout, cache):
    """Backward pass of a 2-D transposed convolution.

    The forward scatters, so the backward gathers: dx is an ordinary
    convolution of dout with the same weights (stride, padding, dilation).

    Inputs:
    - dout: upstream gradient of shape (N, C_out, Ho, Wo)
    - cache: from conv_transpose2d_forward

    Returns a tuple of:
    - dx: gradient w.r.t. x, shape (N, C_in, H, W)
    - dw: gradient w.r.t. w, shape (C_in, C_out, KH, KW)
    - db: gradient w.r.t. b, shape (C_out,), or None when the forward got b=None
    """
    # zero-pad dout back to the forward's buffer and im2col it: column (h, w) gathers the output pixels input pixel (h, w) wrote to
    # dx = w.reshape(C_in, -1) @ cols; dw sums x times cols over the batch and pixels; db sums dout
    raise NotImplementedError("conv_transpose2d_backward: not implemented yet (zero-pad dout back to the forward's buffer and im2col it: column (h, w) gathers the output pixels input pixel (h, w) wrote to)")
