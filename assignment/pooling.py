"""Max and average pooling layers: forward pass and backpropagation.

Lecture topic: pooling layers. A pooling window slides over each channel on its
own; max pooling routes the gradient to the maximum only, average pooling
spreads it evenly over the window.
"""

import numpy as np
from common import conv_output_size, pair


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
    # pad with -inf, then for each kernel tap compare the strided slice it reads with the running maximum
    # keep a tap only when it is strictly greater, so the first maximum wins ties
    raise NotImplementedError('max_pool2d_forward: not implemented yet (pad with -inf, then for each kernel tap compare the strided slice it reads with the running maximum)')


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
    # scatter-add dout into dx at the saved indices; repeated indices must add up (np.bincount or np.add.at)
    raise NotImplementedError('max_pool2d_backward: not implemented yet (scatter-add dout into dx at the saved indices; repeated indices must add up (np.bincount or np.add.at))')


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
    # zero-pad x, then add up the strided slice each kernel tap reads and divide by KH * KW
    raise NotImplementedError('avg_pool2d_forward: not implemented yet (zero-pad x, then add up the strided slice each kernel tap reads and divide by KH * KW)')


def avg_pool2d_backward(dout, cache):
    """Backward pass of 2-D average pooling.

    Inputs:
    - dout: upstream gradient of shape (N, C, Ho, Wo)
    - cache: the cache returned by avg_pool2d_forward

    Returns:
    - dx: gradient with respect to x, shape (N, C, H, W)
    """
    # every pixel of a window gets dout / (KH * KW): add it back through each tap's slice, then drop the padding
    raise NotImplementedError("avg_pool2d_backward: not implemented yet (every pixel of a window gets dout / (KH * KW): add it back through each tap's slice, then drop the padding)")
