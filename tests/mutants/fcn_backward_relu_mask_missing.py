"""fcn_backward forgets the ReLU after the transposed convolution: w3, b3 and every earlier gradient are wrong.

The gradient reaching the upsampling layer goes through unmasked (du3 instead of
du3 * (a3 > 0)). The last layer's gradients, w4 and b4, stay right: the feedback
must list them as right beside the wrong ones, which points at the layer where
the backward goes wrong.
"""

MODULE = "fcn"
EXPECTED_PARTS = {"fcn"}
NAMED = {"fcn": "relu_mask_missing"}
SAYS = {"fcn": ["right: grads['w4'], grads['b4']; wrong: grads['w1'], grads['b1'], grads['w2'], grads['b2'], "
                "grads['w3'], grads['b3']"]}

import numpy as np


def fcn_backward(dscores, cache):
    conv1_cache, a1, pool_cache, conv2_cache, a2, up_cache, a3, conv4_cache = cache
    grads = {}
    du3, grads["w4"], grads["b4"] = conv2d_backward(dscores, conv4_cache)
    dh2, grads["w3"], grads["b3"] = conv_transpose2d_backward(du3, up_cache)  # BUG: no ReLU mask
    dp1, grads["w2"], grads["b2"] = conv2d_backward(dh2 * (a2 > 0), conv2_cache)
    dh1 = max_pool2d_backward(dp1, pool_cache)
    _, grads["w1"], grads["b1"] = conv2d_backward(dh1 * (a1 > 0), conv1_cache)
    return grads
