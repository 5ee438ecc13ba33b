"""Stride-tricks style: fc_to_conv through einsum; the FCN from this submission's own layers."""

import numpy as np
from conv import conv2d_backward, conv2d_forward
from pooling import max_pool2d_backward, max_pool2d_forward
from transposed import conv_transpose2d_backward, conv_transpose2d_forward


def fc_to_conv(weight, bias, input_size):
    C, H, W = input_size
    K = weight.shape[0]
    w_conv = np.einsum("kchw->kchw", weight.reshape(K, C, H, W)).copy()
    b_conv = None if bias is None else np.copy(bias)
    return w_conv, b_conv


def fcn_forward(x, params):
    H, W = x.shape[2:]
    a1, c1 = conv2d_forward(x, params["w1"], params["b1"], stride=1, padding=1)
    p1, _, cp = max_pool2d_forward(np.where(a1 > 0, a1, 0.0), kernel_size=2, stride=2)
    a2, c2 = conv2d_forward(p1, params["w2"], params["b2"], stride=1, padding=1)
    a3, c3 = conv_transpose2d_forward(np.where(a2 > 0, a2, 0.0), params["w3"], params["b3"], stride=2, padding=1,
                                      output_padding=(H % 2, W % 2))
    scores, c4 = conv2d_forward(np.where(a3 > 0, a3, 0.0), params["w4"], params["b4"])
    return scores, [(c1, a1), cp, (c2, a2), (c3, a3), c4]


def fcn_backward(dscores, cache):
    (c1, a1), cp, (c2, a2), (c3, a3), c4 = cache
    g = {}
    d, g["w4"], g["b4"] = conv2d_backward(dscores, c4)
    d, g["w3"], g["b3"] = conv_transpose2d_backward(np.where(a3 > 0, d, 0.0), c3)
    d, g["w2"], g["b2"] = conv2d_backward(np.where(a2 > 0, d, 0.0), c2)
    d = max_pool2d_backward(d, cp)
    _, g["w1"], g["b1"] = conv2d_backward(np.where(a1 > 0, d, 0.0), c1)
    return g
