"""Convolution as matrix multiplication.

A convolution is a linear map, so it is one (sparse, doubly block Toeplitz)
matrix T acting on the flattened image, and its transpose T.T is the transposed
convolution. In practice nobody builds T: im2col copies every receptive field
into a column, and the convolution becomes one dense matrix product (GEMM).
"""

import numpy as np
from common import conv_output_size, pair


def conv2d_toeplitz(w, input_size, stride=1, padding=0, dilation=1):
    """Build the matrix of a 2-D convolution (no bias).

    Inputs:
    - w: filter weights of shape (F, C, KH, KW)
    - input_size: (C, H, W), the shape of one input sample
    - stride, padding, dilation: int or pair (h, w), as in torch conv2d

    Returns:
    - T: array of shape (F*Ho*Wo, C*H*W), dtype of w (float64), where
        Ho = (H + 2*pad_h - dil_h*(KH - 1) - 1) // stride_h + 1
        Wo = (W + 2*pad_w - dil_w*(KW - 1) - 1) // stride_w + 1
      For one sample x of shape (C, H, W), T @ x.ravel() is the convolution
      output of shape (F, Ho, Wo), flattened. For y of shape (F, Ho, Wo),
      T.T @ y.ravel() is the transposed convolution of y with the same w,
      stride, padding, dilation and output_padding
      (H + 2*pad - dil*(K - 1) - 1) % stride per axis.
    """
    # row (f, oh, ow), column (c, h, w) with h = oh*stride - pad + i*dil holds w[f, c, i, j]; fill all taps with one fancy-index assignment
    # taps that fall into the padding have no column: drop them with a mask
    raise NotImplementedError('conv2d_toeplitz: not implemented yet (row (f, oh, ow), column (c, h, w) with h = oh*stride - pad + i*dil holds w[f, c, i, j]; fill all taps with one fancy-index assignment)')


def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    """Unfold every receptive field of x into a column (torch F.unfold).

    Inputs:
    - x: input of shape (N, C, H, W)
    - kernel_size, stride, padding, dilation: int or pair (h, w)

    Returns:
    - cols: array of shape (N, C*KH*KW, L), L = Ho*Wo, with
        Ho = (H + 2*pad_h - dil_h*(KH - 1) - 1) // stride_h + 1 (Wo alike).
      Rows are ordered (c, i, j) and columns row-major over output positions:
      cols[n, (c*KH + i)*KW + j, oh*Wo + ow]
        = x_padded[n, c, oh*stride_h + i*dil_h, ow*stride_w + j*dil_w]
    """
    # for every kernel tap (i, j), copy the strided slice of the padded input into its row block
    # fast: np.lib.stride_tricks.as_strided gives all windows as a (N, C, KH, KW, Ho, Wo) view; one reshape copies it
    raise NotImplementedError('im2col: not implemented yet (for every kernel tap (i, j), copy the strided slice of the padded input into its row block)')


def col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1):
    """Fold columns back into an image, summing overlaps (torch F.fold).

    The adjoint of im2col: col2im(im2col(x)) counts each pixel once per
    window that covers it.

    Inputs:
    - cols: array of shape (N, C*KH*KW, L), laid out as im2col returns it
    - output_size: (H, W) of the image, int or pair
    - kernel_size, stride, padding, dilation: int or pair (h, w)

    Returns:
    - x: array of shape (N, C, H, W), dtype of cols. L must equal Ho*Wo with
        Ho = (H + 2*pad_h - dil_h*(KH - 1) - 1) // stride_h + 1 (Wo alike).
    """
    # for every kernel tap (i, j), add its row block into the strided slice of a zero padded image, then crop the padding
    # use slice +=, not fancy-index += (which drops repeated indices)
    raise NotImplementedError('col2im: not implemented yet (for every kernel tap (i, j), add its row block into the strided slice of a zero padded image, then crop the padding)')


def conv2d_gemm(x, w, b=None, stride=1, padding=0, dilation=1):
    """2-D convolution as im2col followed by one matrix product.

    Inputs:
    - x: input of shape (N, C, H, W)
    - w: filter weights of shape (F, C, KH, KW)
    - b: biases of shape (F,), or None
    - stride, padding, dilation: int or pair (h, w)

    Returns:
    - out: array of shape (N, F, Ho, Wo), dtype of x, with
        Ho = (H + 2*pad_h - dil_h*(KH - 1) - 1) // stride_h + 1
        Wo = (W + 2*pad_w - dil_w*(KW - 1) - 1) // stride_w + 1
    """
    # im2col gives (N, C*KH*KW, L); w.reshape(F, -1) @ cols is one batched matrix product (N, F, L)
    raise NotImplementedError('conv2d_gemm: not implemented yet (im2col gives (N, C*KH*KW, L); w.reshape(F, -1) @ cols is one batched matrix product (N, F, L))')
