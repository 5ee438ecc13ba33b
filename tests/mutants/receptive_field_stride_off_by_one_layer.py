"""receptive_field multiplies by the strides up to AND including the current layer.

The jump is updated before the layer's growth is added, so every stride acts
one layer too early.
"""

MODULE = "dilated"
EXPECTED_PARTS = {"receptive_field"}
NAMED = {"receptive_field": "rf_stride_too_early"}


def receptive_field(kernel_sizes, strides=None, dilations=None):
    n = len(kernel_sizes)
    strides = [1] * n if strides is None else strides
    dilations = [1] * n if dilations is None else dilations
    fields, r, jump = [], 1, 1
    for k, s, d in zip(kernel_sizes, strides, dilations):
        jump *= int(s)  # BUG: too early
        r += (int(k) - 1) * int(d) * jump
        fields.append(r)
    return fields
