"""fc_to_conv copies the bias without checking for None: AttributeError when the layer has no bias.

Right for every layer with a bias.
"""

MODULE = "fcn"
EXPECTED_PARTS = {"fc_to_conv"}
DIFFICULTY = {"fc_to_conv": "no_bias"}


def fc_to_conv(weight, bias, input_size):
    C, H, W = input_size
    return weight.reshape(weight.shape[0], C, H, W).copy(), bias.copy()  # BUG: bias may be None
