"""fc_to_conv returns a reshape of weight (a view of it) and bias itself, not new arrays.

The values are right, but the docstring promises new arrays: a caller who later updates weight (an optimizer
step) would change w_conv with it.
"""

MODULE = "fcn"
EXPECTED_PARTS = {"fc_to_conv"}
SAYS = {"fc_to_conv": ["w_conv shares memory with the input weight", "b_conv shares memory with the input bias"]}


def fc_to_conv(weight, bias, input_size):
    C, H, W = input_size
    w_conv = weight.reshape(weight.shape[0], C, H, W)  # BUG: no .copy()
    return w_conv, bias  # BUG: bias itself
