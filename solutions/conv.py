"""Convolution layer: forward pass and backpropagation.

Lecture topic: backprop in convolutional layers. The forward pass is a matrix
product over the receptive fields (im2col); the backward pass routes the
upstream gradient back through the same product and scatters it onto the input
(col2im).
"""

import numpy as np
from common import conv_output_size, pair


# BEGIN SOLUTION
def _im2col(xp, kernel, stride, dilation, out_size):
    """Receptive fields of the padded input xp (N, C, Hp, Wp) as columns.

    Returns cols of shape (N, C*KH*KW, Ho*Wo), the layout of torch's unfold.
    """
    (KH, KW), (sh, sw), (dh, dw), (Ho, Wo) = kernel, stride, dilation, out_size
    N, C = xp.shape[:2]
    span = (dh * (KH - 1) + 1, dw * (KW - 1) + 1)
    # All windows of the full dilated span, then every stride-th window and
    # every dilation-th tap: shape (N, C, Ho, Wo, KH, KW), still a view of xp.
    win = np.lib.stride_tricks.sliding_window_view(xp, span, axis=(2, 3))
    win = win[:, :, ::sh, ::sw, ::dh, ::dw]
    # The reshape copies the windows into one (C*KH*KW, Ho*Wo) matrix per sample.
    return win.transpose(0, 1, 4, 5, 2, 3).reshape(N, C * KH * KW, Ho * Wo)


def _col2im(cols, padded_size, kernel, stride, dilation, out_size):
    """Adjoint of _im2col: sum each column entry back onto its input pixel.

    Returns the gradient of the padded input, shape (N, C, Hp, Wp).
    """
    (KH, KW), (sh, sw), (dh, dw), (Ho, Wo) = kernel, stride, dilation, out_size
    N = cols.shape[0]
    C = cols.shape[1] // (KH * KW)
    cols = cols.reshape(N, C, KH, KW, Ho, Wo)
    dxp = np.zeros((N, C) + tuple(padded_size), dtype=cols.dtype)
    for i in range(KH):
        for j in range(KW):
            # Tap (i, j) of all windows reads a strided (Ho, Wo) grid of pixels,
            # no pixel twice, so a sliced += adds every contribution.
            r = slice(i * dh, i * dh + sh * (Ho - 1) + 1, sh)
            c = slice(j * dw, j * dw + sw * (Wo - 1) + 1, sw)
            dxp[:, :, r, c] += cols[:, :, i, j]
    return dxp


# END SOLUTION
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
    # BEGIN SOLUTION
    # HINT: pad x, gather the receptive fields (im2col), then one matrix product with w
    # HINT: sizes: conv_output_size(H, KH, sh, ph, dh); keep the columns for the backward pass
    N, _, H, W = x.shape
    F, _, KH, KW = w.shape
    stride, padding = pair(stride, "stride"), pair(padding, "padding")
    dilation = pair(dilation, "dilation")
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)

    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = _im2col(xp, (KH, KW), stride, dilation, (Ho, Wo))  # (N, C*KH*KW, Ho*Wo)
    out = w.reshape(F, -1) @ cols  # (N, F, Ho*Wo): one product per sample
    out = out.reshape(N, F, Ho, Wo)
    if b is not None:
        out += b.reshape(1, F, 1, 1)
    cache = (x.shape, xp.shape, w, b is not None, cols, stride, padding, dilation)
    return out, cache
    # END SOLUTION


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
    # BEGIN SOLUTION
    # HINT: out = w @ cols, so dw = dout @ cols^T summed over the batch, and dcols = w^T @ dout
    # HINT: col2im: add each column entry back onto the input pixel it was read from, then drop the padding
    x_shape, xp_shape, w, has_bias, cols, stride, padding, dilation = cache
    N, _, H, W = x_shape
    F, _, KH, KW = w.shape
    _, _, Ho, Wo = dout.shape
    ph, pw = padding

    d = dout.reshape(N, F, Ho * Wo)
    db = dout.sum(axis=(0, 2, 3)) if has_bias else None
    dw = (d @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    dcols = w.reshape(F, -1).T @ d  # (N, C*KH*KW, Ho*Wo)
    dxp = _col2im(dcols, xp_shape[2:], (KH, KW), stride, dilation, (Ho, Wo))
    dx = np.ascontiguousarray(dxp[:, :, ph : ph + H, pw : pw + W])
    return dx, dw, db
    # END SOLUTION
