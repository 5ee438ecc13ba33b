"""fc_to_conv reshapes each weight row as (H, W, C), the channels-last (TensorFlow) order.

x.reshape(N, -1) of an NCHW input flattens (C, H, W): the kernel's taps get scrambled.
"""

MODULE = "fcn"
EXPECTED_PARTS = {"fc_to_conv"}
NAMED = {"fc_to_conv": "fc_reshape_order"}

import numpy as np


def fc_to_conv(weight, bias, input_size):
    C, H, W = input_size
    K = weight.shape[0]
    w_conv = np.ascontiguousarray(weight.reshape(K, H, W, C).transpose(0, 3, 1, 2))  # BUG: (K, H, W, C)
    b_conv = None if bias is None else bias.copy()
    return w_conv, b_conv
