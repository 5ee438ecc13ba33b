"""receptive_field ignores the strides: r += (k - 1) * d, without the product of earlier strides."""

MODULE = "dilated"
EXPECTED_PARTS = {"receptive_field"}
NAMED = {"receptive_field": "rf_ignores_strides"}


def receptive_field(kernel_sizes, strides=None, dilations=None):
    n = len(kernel_sizes)
    dilations = [1] * n if dilations is None else dilations
    fields, r = [], 1
    for k, d in zip(kernel_sizes, dilations):
        r += (int(k) - 1) * int(d)  # BUG: no jump
        fields.append(r)
    return fields
