"""Max and average pooling layers: forward pass and backpropagation.

Lecture topic: pooling layers. A pooling window slides over each channel on its
own; max pooling routes the gradient to the maximum only, average pooling
spreads it evenly over the window.
"""

import numpy as np
from common import conv_output_size, pair


# BEGIN SOLUTION
def _sizes(x_shape, kernel_size, stride, padding):
    """Kernel, stride, padding as pairs and the output size (Ho, Wo)."""
    kernel = pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else pair(stride, "stride")
    padding = pair(padding, "padding")
    H, W = x_shape[2:]
    out_size = tuple(map(conv_output_size, (H, W), kernel, stride, padding))
    return kernel, stride, padding, out_size


def _taps(kernel, stride, out_size):
    """For each kernel tap (i, j), in row-major order, the slices of the padded
    input that this tap reads across all windows: a (Ho, Wo) strided grid."""
    (KH, KW), (sh, sw), (Ho, Wo) = kernel, stride, out_size
    for i in range(KH):
        for j in range(KW):
            rows = slice(i, i + sh * (Ho - 1) + 1, sh)
            cols = slice(j, j + sw * (Wo - 1) + 1, sw)
            yield (..., rows, cols)


def _pad(x, padding, value):
    ph, pw = padding
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


# END SOLUTION
def max_pool2d_forward(x, kernel_size, stride=None, padding=0):
    """Forward pass of 2-D max pooling, as torch.nn.functional.max_pool2d.

    Inputs:
    - x: input data of shape (N, C, H, W)
    - kernel_size: int or pair (KH, KW), size of the pooling window
    - stride: int or pair (sh, sw); None means stride = kernel_size
    - padding: int or pair (ph, pw), -inf padding on both sides of H and of W;
      at most kernel_size // 2 per axis

    Returns a tuple of:
    - out: output data of shape (N, C, Ho, Wo), where
        Ho = (H + 2*ph - KH) // sh + 1
        Wo = (W + 2*pw - KW) // sw + 1
    - indices: int64 array of shape (N, C, Ho, Wo), the flat index row * W + col
      of each maximum in the unpadded H x W plane of its channel; on ties the
      first maximum in row-major order within the window wins
    - cache: whatever max_pool2d_backward needs
    """
    # BEGIN SOLUTION
    # HINT: pad with -inf, then for each kernel tap compare the strided slice it reads with the running maximum
    # HINT: keep a tap only when it is strictly greater, so the first maximum wins ties
    N, C, _, W = x.shape
    kernel, stride, padding, (Ho, Wo) = _sizes(x.shape, kernel_size, stride, padding)
    (KH, KW), (sh, sw), (ph, pw) = kernel, stride, padding
    xp = _pad(x, padding, -np.inf)

    out = np.full((N, C, Ho, Wo), -np.inf, dtype=x.dtype)
    # Row-major number t = i * KW + j of the winning tap, in the smallest
    # unsigned type that holds it (uint8 up to 16x16 windows: less memory traffic).
    tap_type = np.min_scalar_type(KH * KW - 1).type
    tap = np.zeros((N, C, Ho, Wo), dtype=tap_type)
    for t, window in enumerate(_taps(kernel, stride, (Ho, Wo))):
        values = xp[window]
        better = values > out  # strictly: on a tie the earlier tap stays
        np.maximum(out, values, out=out)
        # Taps come in increasing order, so a new winner always has the largest
        # number so far: a max instead of a (much slower) masked assignment.
        np.maximum(tap, better * tap_type(t), out=tap)

    # Flat index = (top row of the window + i) * W + (left column of the window + j).
    corner = (np.arange(Ho)[:, None] * sh - ph) * W + (np.arange(Wo) * sw - pw)
    offset = (np.arange(KH)[:, None] * W + np.arange(KW)).ravel()
    indices = corner + offset[tap]
    return out, indices, (x.shape, indices)
    # END SOLUTION


def max_pool2d_backward(dout, cache):
    """Backward pass of 2-D max pooling.

    Each upstream gradient goes to the input pixel that was the maximum of its
    window; when windows overlap and share a maximum, their gradients add up.

    Inputs:
    - dout: upstream gradient of shape (N, C, Ho, Wo)
    - cache: the cache returned by max_pool2d_forward

    Returns:
    - dx: gradient with respect to x, shape (N, C, H, W)
    """
    # BEGIN SOLUTION
    # HINT: scatter-add dout into dx at the saved indices; repeated indices must add up (np.bincount or np.add.at)
    x_shape, indices = cache
    N, C, H, W = x_shape
    # Shift each plane's indices by the plane's offset so one bincount covers the whole batch.
    flat = indices.reshape(N * C, -1) + np.arange(N * C)[:, None] * (H * W)
    dx = np.bincount(flat.ravel(), weights=dout.ravel(), minlength=N * C * H * W)
    return dx.reshape(x_shape).astype(dout.dtype, copy=False)
    # END SOLUTION


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0):
    """Forward pass of 2-D average pooling, as torch.nn.functional.avg_pool2d.

    Zero padding counts in the average (torch's count_include_pad=True), so
    every window is divided by KH * KW.

    Inputs:
    - x: input data of shape (N, C, H, W)
    - kernel_size: int or pair (KH, KW), size of the pooling window
    - stride: int or pair (sh, sw); None means stride = kernel_size
    - padding: int or pair (ph, pw), zeros added on both sides of H and of W;
      at most kernel_size // 2 per axis

    Returns a tuple of:
    - out: output data of shape (N, C, Ho, Wo), where
        Ho = (H + 2*ph - KH) // sh + 1
        Wo = (W + 2*pw - KW) // sw + 1
    - cache: whatever avg_pool2d_backward needs
    """
    # BEGIN SOLUTION
    # HINT: zero-pad x, then add up the strided slice each kernel tap reads and divide by KH * KW
    N, C = x.shape[:2]
    kernel, stride, padding, (Ho, Wo) = _sizes(x.shape, kernel_size, stride, padding)
    xp = _pad(x, padding, 0)
    out = np.zeros((N, C, Ho, Wo), dtype=x.dtype)
    for window in _taps(kernel, stride, (Ho, Wo)):
        out += xp[window]
    out /= kernel[0] * kernel[1]
    return out, (x.shape, kernel, stride, padding)
    # END SOLUTION


def avg_pool2d_backward(dout, cache):
    """Backward pass of 2-D average pooling.

    Inputs:
    - dout: upstream gradient of shape (N, C, Ho, Wo)
    - cache: the cache returned by avg_pool2d_forward

    Returns:
    - dx: gradient with respect to x, shape (N, C, H, W)
    """
    # BEGIN SOLUTION
    # HINT: every pixel of a window gets dout / (KH * KW): add it back through each tap's slice, then drop the padding
    x_shape, kernel, stride, padding = cache
    N, C, H, W = x_shape
    ph, pw = padding
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=dout.dtype)
    share = dout / (kernel[0] * kernel[1])
    for window in _taps(kernel, stride, dout.shape[2:]):
        dxp[window] += share
    return np.ascontiguousarray(dxp[:, :, ph : ph + H, pw : pw + W])
    # END SOLUTION
