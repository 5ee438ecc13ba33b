"""fcn_forward upsamples without output_padding: right for even sizes, a row/column short for odd ones."""

MODULE = "fcn"
EXPECTED_PARTS = {"fcn"}
NAMED = {"fcn": "cropped"}

import numpy as np


def fcn_forward(x, params):
    a1, conv1_cache = conv2d_forward(x, params["w1"], params["b1"], stride=1, padding=1)
    h1 = np.maximum(a1, 0)
    p1, _, pool_cache = max_pool2d_forward(h1, kernel_size=2, stride=2)
    a2, conv2_cache = conv2d_forward(p1, params["w2"], params["b2"], stride=1, padding=1)
    h2 = np.maximum(a2, 0)
    a3, up_cache = conv_transpose2d_forward(h2, params["w3"], params["b3"], stride=2, padding=1)  # BUG
    u3 = np.maximum(a3, 0)
    scores, conv4_cache = conv2d_forward(u3, params["w4"], params["b4"])
    cache = (conv1_cache, a1, pool_cache, conv2_cache, a2, up_cache, a3, conv4_cache)
    return scores, cache
