"""In-network upsampling for semantic segmentation.

A segmentation network downsamples inside the network and must upsample back to
the input resolution. Three unlearned ways to "unpool": nearest neighbor copies
each value into its s x s block, bed of nails puts it at the block's top-left
corner and zeros elsewhere, and max unpooling puts it back where the matching
max pool found its maximum (the pool remembers the positions).
"""

import numpy as np

from common import conv_transpose_output_size, pair


def nearest_upsample_forward(x, scale_factor):
    """Nearest-neighbor upsampling by an integer factor.

    Same as torch.nn.functional.interpolate(x, scale_factor=scale_factor,
    mode="nearest") for integer factors: out[..., i, j] = x[..., i // sh, j // sw].

    Inputs:
    - x: input data of shape (N, C, H, W)
    - scale_factor: int or pair (sh, sw) of ints

    Returns a tuple of:
    - out: upsampled data of shape (N, C, H * sh, W * sw), dtype of x
    - cache: values needed by the backward pass
    """
    # BEGIN SOLUTION
    # HINT: np.repeat along the height axis, then along the width axis
    sh, sw = pair(scale_factor, "scale_factor")
    out = np.repeat(np.repeat(x, sh, axis=2), sw, axis=3)
    cache = (x.shape, sh, sw)
    return out, cache
    # END SOLUTION


def nearest_upsample_backward(dout, cache):
    """Backward pass of nearest-neighbor upsampling.

    Inputs:
    - dout: upstream derivatives of shape (N, C, H * sh, W * sw)
    - cache: from nearest_upsample_forward

    Returns:
    - dx: gradient with respect to x, of shape (N, C, H, W)
    """
    # BEGIN SOLUTION
    # HINT: every input pixel was copied into an sh x sw block: sum dout over each block
    # HINT: reshape to (N, C, H, sh, W, sw) and sum over the block axes
    (N, C, H, W), sh, sw = cache
    return dout.reshape(N, C, H, sh, W, sw).sum(axis=(3, 5))
    # END SOLUTION


def bed_of_nails_forward(x, scale_factor):
    """Bed of nails upsampling: each value at the top-left of its block.

    out[..., i * sh, j * sw] = x[..., i, j]; every other output pixel is zero.

    Inputs:
    - x: input data of shape (N, C, H, W)
    - scale_factor: int or pair (sh, sw) of ints

    Returns a tuple of:
    - out: upsampled data of shape (N, C, H * sh, W * sw), dtype of x
    - cache: values needed by the backward pass
    """
    # BEGIN SOLUTION
    # HINT: start from zeros and assign x into a strided slice out[:, :, ::sh, ::sw]
    sh, sw = pair(scale_factor, "scale_factor")
    N, C, H, W = x.shape
    out = np.zeros((N, C, H * sh, W * sw), dtype=x.dtype)
    out[:, :, ::sh, ::sw] = x
    return out, (sh, sw)
    # END SOLUTION


def bed_of_nails_backward(dout, cache):
    """Backward pass of bed of nails upsampling.

    Inputs:
    - dout: upstream derivatives of shape (N, C, H * sh, W * sw)
    - cache: from bed_of_nails_forward

    Returns:
    - dx: gradient with respect to x, of shape (N, C, H, W)
    """
    # BEGIN SOLUTION
    # HINT: only the nails received x: read dout back at the same strided positions
    sh, sw = cache
    return dout[:, :, ::sh, ::sw].copy()
    # END SOLUTION


def max_unpool2d_forward(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Max unpooling: put each value back where max pooling found it.

    Same as torch.nn.functional.max_unpool2d. Every other output pixel is zero.

    Inputs:
    - x: pooled data of shape (N, C, H, W)
    - indices: int64 array of shape (N, C, H, W), as max_pool2d_forward returns
      it: the flat index (row * Wo + col) of each value in the Ho x Wo output
      plane. Repeated indices (overlapping pools) carry equal values.
    - kernel_size: int or pair, the kernel size of the matching max pool
    - stride: int or pair; None means stride = kernel_size
    - padding: int or pair, the padding of the matching max pool
    - output_size: None, int or pair (Ho, Wo); the default is, per axis,
      (H - 1) * stride - 2 * padding + kernel_size

    Returns a tuple of:
    - out: unpooled data of shape (N, C, Ho, Wo), dtype of x
    - cache: values needed by the backward pass
    """
    # BEGIN SOLUTION
    # HINT: flatten each output plane to Ho * Wo and scatter x at indices (np.put_along_axis)
    kh, kw = pair(kernel_size, "kernel_size")
    sh, sw = pair(kernel_size if stride is None else stride, "stride")
    ph, pw = pair(padding, "padding")
    N, C, H, W = x.shape
    if output_size is None:
        Ho = conv_transpose_output_size(H, kh, sh, ph)
        Wo = conv_transpose_output_size(W, kw, sw, pw)
    else:
        Ho, Wo = pair(output_size, "output_size")
    flat_idx = indices.reshape(N, C, H * W)
    out = np.zeros((N, C, Ho * Wo), dtype=x.dtype)
    np.put_along_axis(out, flat_idx, x.reshape(N, C, H * W), axis=2)
    return out.reshape(N, C, Ho, Wo), (flat_idx, x.shape)
    # END SOLUTION


def max_unpool2d_backward(dout, cache):
    """Backward pass of max unpooling.

    Inputs:
    - dout: upstream derivatives of shape (N, C, Ho, Wo)
    - cache: from max_unpool2d_forward

    Returns:
    - dx: gradient with respect to x, of shape (N, C, H, W)
    """
    # BEGIN SOLUTION
    # HINT: each x value went to one output pixel: gather dout at indices (np.take_along_axis)
    flat_idx, x_shape = cache
    N, C = dout.shape[:2]
    return np.take_along_axis(dout.reshape(N, C, -1), flat_idx, axis=2).reshape(x_shape)
    # END SOLUTION
