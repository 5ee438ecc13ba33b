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
    # BEGIN SOLUTION
    # HINT: row (f, oh, ow), column (c, h, w) with h = oh*stride - pad + i*dil holds w[f, c, i, j]; fill all taps with one fancy-index assignment
    # HINT: taps that fall into the padding have no column: drop them with a mask
    F, C, KH, KW = w.shape
    C_in, H, W = input_size
    if C_in != C:
        raise ValueError(f"input_size has {C_in} channels, w expects {C}")
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    if Ho <= 0 or Wo <= 0:
        raise ValueError(f"output size ({Ho}, {Wo}) is not positive")

    # One entry per (f, oh, ow, c, i, j): broadcast every index to that 6-D grid.
    f = np.arange(F).reshape(F, 1, 1, 1, 1, 1)
    oh = np.arange(Ho).reshape(1, Ho, 1, 1, 1, 1)
    ow = np.arange(Wo).reshape(1, 1, Wo, 1, 1, 1)
    c = np.arange(C).reshape(1, 1, 1, C, 1, 1)
    i = np.arange(KH).reshape(1, 1, 1, 1, KH, 1)
    j = np.arange(KW).reshape(1, 1, 1, 1, 1, KW)
    h = oh * sh - ph + i * dh
    v = ow * sw - pw + j * dw
    row = (f * Ho + oh) * Wo + ow
    col = (c * H + h) * W + v
    row, col, h, v, vals = np.broadcast_arrays(row, col, h, v, w[:, None, None])
    inside = (h >= 0) & (h < H) & (v >= 0) & (v < W)

    # Within one row the taps hit distinct pixels, so no index repeats.
    T = np.zeros((F * Ho * Wo, C * H * W), dtype=w.dtype)
    T[row[inside], col[inside]] = vals[inside]
    return T
    # END SOLUTION


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
    # BEGIN SOLUTION
    # HINT: for every kernel tap (i, j), copy the strided slice of the padded input into its row block
    # HINT: fast: np.lib.stride_tricks.as_strided gives all windows as a (N, C, KH, KW, Ho, Wo) view; one reshape copies it
    (KH, KW), (sh, sw) = pair(kernel_size), pair(stride)
    (ph, pw), (dh, dw) = pair(padding), pair(dilation)
    N, C, H, W = x.shape
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    if Ho <= 0 or Wo <= 0:
        raise ValueError(f"output size ({Ho}, {Wo}) is not positive")
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
    # windows[n, c, i, j, oh, ow] = xp[n, c, oh*sh + i*dh, ow*sw + j*dw], a view
    sN, sC, sH, sW = xp.strides
    windows = np.lib.stride_tricks.as_strided(
        xp,
        shape=(N, C, KH, KW, Ho, Wo),
        strides=(sN, sC, dh * sH, dw * sW, sh * sH, sw * sW),
        writeable=False,
    )
    return windows.copy().reshape(N, C * KH * KW, Ho * Wo)  # the one copy
    # END SOLUTION


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
    # BEGIN SOLUTION
    # HINT: for every kernel tap (i, j), add its row block into the strided slice of a zero padded image, then crop the padding
    # HINT: use slice +=, not fancy-index += (which drops repeated indices)
    (H, W), (KH, KW) = pair(output_size), pair(kernel_size)
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    N, CKK, L = cols.shape
    if CKK % (KH * KW) or L != Ho * Wo or Ho <= 0 or Wo <= 0:
        raise ValueError(f"cols of shape {cols.shape} do not match kernel {(KH, KW)} and {Ho}x{Wo} windows")
    C = CKK // (KH * KW)
    c = cols.reshape(N, C, KH, KW, Ho, Wo)

    out = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    for i in range(KH):
        for j in range(KW):
            out[:, :, i * dh:i * dh + sh * (Ho - 1) + 1:sh, j * dw:j * dw + sw * (Wo - 1) + 1:sw] += c[:, :, i, j]
    return out[:, :, ph:ph + H, pw:pw + W]
    # END SOLUTION


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
    # BEGIN SOLUTION
    # HINT: im2col gives (N, C*KH*KW, L); w.reshape(F, -1) @ cols is one batched matrix product (N, F, L)
    N, H, W = x.shape[0], x.shape[2], x.shape[3]
    F, C, KH, KW = w.shape
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    cols = im2col(x, (KH, KW), stride, padding, dilation)
    out = np.matmul(w.reshape(F, C * KH * KW), cols).reshape(N, F, Ho, Wo)
    if b is not None:
        out += b.reshape(1, F, 1, 1)
    return out.astype(x.dtype, copy=False)
    # END SOLUTION
