"""Loop style: fc_to_conv element by element; the FCN from this submission's own layers."""

import numpy as np
from conv import conv2d_backward, conv2d_forward
from pooling import max_pool2d_backward, max_pool2d_forward
from transposed import conv_transpose2d_backward, conv_transpose2d_forward


def fc_to_conv(weight, bias, input_size):
    C, H, W = input_size
    K = weight.shape[0]
    w_conv = np.zeros((K, C, H, W), dtype=weight.dtype)
    for k in range(K):
        for c in range(C):
            for i in range(H):
                for j in range(W):
                    w_conv[k, c, i, j] = weight[k, (c * H + i) * W + j]
    b_conv = None if bias is None else np.array(bias, copy=True)
    return w_conv, b_conv


def relu(a):
    return a * (a > 0)


def fcn_forward(x, params):
    H, W = x.shape[2:]
    caches = {}
    a1, caches["conv1"] = conv2d_forward(x, params["w1"], params["b1"], stride=1, padding=1)
    p1, _, caches["pool"] = max_pool2d_forward(relu(a1), kernel_size=2, stride=2)
    a2, caches["conv2"] = conv2d_forward(p1, params["w2"], params["b2"], stride=1, padding=1)
    a3, caches["up"] = conv_transpose2d_forward(relu(a2), params["w3"], params["b3"], stride=2, padding=1,
                                                output_padding=(H % 2, W % 2))
    scores, caches["conv4"] = conv2d_forward(relu(a3), params["w4"], params["b4"])
    return scores, (caches, a1, a2, a3)


def fcn_backward(dscores, cache):
    caches, a1, a2, a3 = cache
    grads = {}
    d, grads["w4"], grads["b4"] = conv2d_backward(dscores, caches["conv4"])
    d, grads["w3"], grads["b3"] = conv_transpose2d_backward(d * (a3 > 0), caches["up"])
    d, grads["w2"], grads["b2"] = conv2d_backward(d * (a2 > 0), caches["conv2"])
    d = max_pool2d_backward(d, caches["pool"])
    _, grads["w1"], grads["b1"] = conv2d_backward(d * (a1 > 0), caches["conv1"])
    return grads
