"""fcn_backward stores a stale variable as b1's gradient: the upsampling layer's db, from three lines earlier.

The student names the bias gradient `db` in the transposed convolution's line, unpacks the first layer's as
`db1`, and then writes `grads["b1"] = db`. Every other gradient is right; b1 gets b3's gradient (the two have
the same shape when F1 == F3).
"""

MODULE = "fcn"
EXPECTED_PARTS = {"fcn"}
NAMED = {"fcn": "other_value"}
SAYS = {"fcn": ["grads['b1'] is the expected grads['b3']"]}


def fcn_backward(dscores, cache):
    conv1_cache, a1, pool_cache, conv2_cache, a2, up_cache, a3, conv4_cache = cache
    grads = {}
    du3, grads["w4"], grads["b4"] = conv2d_backward(dscores, conv4_cache)
    dh2, grads["w3"], db = conv_transpose2d_backward(du3 * (a3 > 0), up_cache)
    grads["b3"] = db
    dp1, grads["w2"], grads["b2"] = conv2d_backward(dh2 * (a2 > 0), conv2_cache)
    dh1 = max_pool2d_backward(dp1, pool_cache)
    _, grads["w1"], db1 = conv2d_backward(dh1 * (a1 > 0), conv1_cache)
    grads["b1"] = db  # BUG: db1
    return grads
