"""nearest_upsample_backward takes one element of each s x s block instead of their sum."""

MODULE = "upsample"
EXPECTED_PARTS = {"nearest"}
NAMED = {"nearest": "nearest_backward_one"}


def nearest_upsample_backward(dout, cache):
    _, sh, sw = cache
    return dout[:, :, ::sh, ::sw].copy()  # BUG: the block's sum
