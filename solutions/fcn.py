"""Fully convolutional networks for semantic segmentation.

A fully connected layer over a fixed-size input is a convolution whose kernel
covers that whole input; replacing every fully connected layer by a convolution
lets the network run on images of any size and output a score map instead of a
single score vector. A segmentation FCN downsamples inside the network (pooling)
and upsamples back (transposed convolution) to predict a class score per pixel.

The network of fcn_forward, built from your own layers (C input channels,
F1, F2, F3 feature channels, K classes, any H, W >= 2, odd sizes included):

    h1 = relu(conv2d(x, w1, b1, stride=1, padding=1))          # (N, F1, H, W)
    p1 = max_pool2d(h1, kernel_size=2, stride=2)                # (N, F1, H//2, W//2)
    h2 = relu(conv2d(p1, w2, b2, stride=1, padding=1))          # (N, F2, H//2, W//2)
    u3 = relu(conv_transpose2d(h2, w3, b3, stride=2, padding=1,
                               output_padding=(H % 2, W % 2)))  # (N, F3, H, W)
    scores = conv2d(u3, w4, b4)                                 # (N, K, H, W)

params (all float64):
    "w1": (F1, C, 3, 3)    "b1": (F1,)
    "w2": (F2, F1, 3, 3)   "b2": (F2,)
    "w3": (F2, F3, 4, 4)   "b3": (F3,)    (transposed conv: (C_in, C_out, KH, KW))
    "w4": (K, F3, 1, 1)    "b4": (K,)
"""

import numpy as np

from conv import conv2d_backward, conv2d_forward
from pooling import max_pool2d_backward, max_pool2d_forward
from transposed import conv_transpose2d_backward, conv_transpose2d_forward


def fc_to_conv(weight, bias, input_size):
    """Turn a fully connected layer into the equivalent convolution.

    The fully connected layer computes x.reshape(N, -1) @ weight.T + bias for x
    of shape (N, C, H, W). The returned convolution (stride 1, no padding) gives
    the same scores as an (N, K, 1, 1) output on such an x, and a score map on
    larger inputs.

    Inputs:
    - weight: array of shape (K, C * H * W)
    - bias: array of shape (K,), or None
    - input_size: (C, H, W), the input shape the layer was made for

    Returns a tuple of:
    - w_conv: conv weights of shape (K, C, H, W), a new array
    - b_conv: conv biases of shape (K,), a new array, or None if bias is None
    """
    # BEGIN SOLUTION
    # HINT: x.reshape(N, -1) flattens in (C, H, W) order: reshape each weight row the same way
    # HINT: return copies, not views of weight and bias
    C, H, W = input_size
    w_conv = weight.reshape(weight.shape[0], C, H, W).copy()
    b_conv = None if bias is None else bias.copy()
    return w_conv, b_conv
    # END SOLUTION


def fcn_forward(x, params):
    """Forward pass of the small segmentation FCN described in the module docstring.

    Inputs:
    - x: input images of shape (N, C, H, W), H, W >= 2
    - params: dict with the keys "w1", "b1", ..., "w4", "b4" of the shapes in
      the module docstring

    Returns a tuple of:
    - scores: class scores of shape (N, K, H, W)
    - cache: values needed by the backward pass
    """
    # BEGIN SOLUTION
    # HINT: chain conv2d, ReLU, max_pool2d, conv2d, ReLU, conv_transpose2d, ReLU, conv2d as in the module docstring
    # HINT: keep every layer's cache and each ReLU's input for the backward pass
    H, W = x.shape[2:]
    a1, conv1_cache = conv2d_forward(x, params["w1"], params["b1"], stride=1, padding=1)
    h1 = np.maximum(a1, 0)
    p1, _, pool_cache = max_pool2d_forward(h1, kernel_size=2, stride=2)
    a2, conv2_cache = conv2d_forward(p1, params["w2"], params["b2"], stride=1, padding=1)
    h2 = np.maximum(a2, 0)
    # output_padding adds back the row / column that flooring in the pool dropped
    a3, up_cache = conv_transpose2d_forward(
        h2, params["w3"], params["b3"], stride=2, padding=1, output_padding=(H % 2, W % 2)
    )
    u3 = np.maximum(a3, 0)
    scores, conv4_cache = conv2d_forward(u3, params["w4"], params["b4"])
    cache = (conv1_cache, a1, pool_cache, conv2_cache, a2, up_cache, a3, conv4_cache)
    return scores, cache
    # END SOLUTION


def fcn_backward(dscores, cache):
    """Backward pass of the segmentation FCN.

    Inputs:
    - dscores: upstream derivatives of shape (N, K, H, W)
    - cache: from fcn_forward

    Returns:
    - grads: dict with the keys of params ("w1", "b1", ..., "w4", "b4"), each
      the float64 gradient of the shape of that parameter
    """
    # BEGIN SOLUTION
    # HINT: walk the layers in reverse with their *_backward functions; ReLU passes dout where its input was > 0
    conv1_cache, a1, pool_cache, conv2_cache, a2, up_cache, a3, conv4_cache = cache
    grads = {}
    du3, grads["w4"], grads["b4"] = conv2d_backward(dscores, conv4_cache)
    dh2, grads["w3"], grads["b3"] = conv_transpose2d_backward(du3 * (a3 > 0), up_cache)
    dp1, grads["w2"], grads["b2"] = conv2d_backward(dh2 * (a2 > 0), conv2_cache)
    dh1 = max_pool2d_backward(dp1, pool_cache)
    _, grads["w1"], grads["b1"] = conv2d_backward(dh1 * (a1 > 0), conv1_cache)
    return grads
    # END SOLUTION
