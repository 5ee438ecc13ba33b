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
    # BEGIN SOLUTION
    # HINT: one matmul gives every input pixel's scaled kernel: w as (KH*KW*C_out, C_in) @ x as (N, C_in, H*W)
    # HINT: then, for every kernel tap (i, j), add its block into the strided slice of a zero buffer that includes the padding; crop the padding at the end
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    oph, opw = pair(output_padding)
    if not (0 <= oph < max(sh, dh) and 0 <= opw < max(sw, dw)):
        raise ValueError("output_padding must be smaller than either stride or dilation")
    Ho = conv_transpose_output_size(H, KH, sh, ph, oph, dh)
    Wo = conv_transpose_output_size(W, KW, sw, pw, opw, dw)
    if Ho <= 0 or Wo <= 0:
        raise ValueError(f"output size ({Ho}, {Wo}) is not positive")

    # Taps first: cols[n, i, j] is the (C_out, H, W) block of tap (i, j), the
    # kernel scaled by each input pixel (contiguous, so the adds below are fast).
    w_taps = w.transpose(2, 3, 1, 0).reshape(KH * KW * C_out, C_in)
    cols = np.matmul(w_taps, x.reshape(N, C_in, H * W)).reshape(N, KH, KW, C_out, H, W)
    # The buffer is the output before cropping the padding; output_padding is
    # already in Ho, Wo, so it shows up as extra rows / columns at the end.
    buf = np.zeros((N, C_out, Ho + 2 * ph, Wo + 2 * pw), dtype=x.dtype)
    for i in range(KH):
        for j in range(KW):
            buf[:, :, i * dh:i * dh + sh * (H - 1) + 1:sh, j * dw:j * dw + sw * (W - 1) + 1:sw] += cols[:, i, j]
    out = buf[:, :, ph:ph + Ho, pw:pw + Wo]
    if b is not None:
        out += b.reshape(1, C_out, 1, 1)  # in place on our own buffer
    cache = (x, w, b is not None, (sh, sw), (ph, pw), (dh, dw))
    return out, cache
    # END SOLUTION


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
    # BEGIN SOLUTION
    # HINT: zero-pad dout back to the forward's buffer and im2col it: column (h, w) gathers the output pixels input pixel (h, w) wrote to
    # HINT: dx = w.reshape(C_in, -1) @ cols; dw sums x times cols over the batch and pixels; db sums dout
    x, w, has_b, (sh, sw), (ph, pw), (dil_h, dil_w) = cache
    N, C_in, H, W = x.shape
    _, C_out, KH, KW = w.shape
    dbuf = np.pad(dout, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else dout
    # cols[co, i, j, n, h, w] = dbuf[n, co, h*sh + i*dil_h, w*sw + j*dil_w]: the
    # H x W input pixels only (output_padding >= stride would fit one more window).
    sN, sC, sH, sW = dbuf.strides
    cols = np.lib.stride_tricks.as_strided(
        dbuf,
        shape=(C_out, KH, KW, N, H, W),
        strides=(sC, dil_h * sH, dil_w * sW, sN, sh * sH, sw * sW),
        writeable=False,
    ).reshape(C_out * KH * KW, N * H * W)

    # Batch and pixels in one axis: each gradient is a single 2-D GEMM.
    x2d = x.transpose(1, 0, 2, 3).reshape(C_in, N * H * W)
    dx = (w.reshape(C_in, -1) @ cols).reshape(C_in, N, H, W).transpose(1, 0, 2, 3)
    dw = (x2d @ cols.T).reshape(w.shape)
    db = dout.sum(axis=(0, 2, 3)) if has_b else None
    return np.ascontiguousarray(dx), dw, db
    # END SOLUTION
