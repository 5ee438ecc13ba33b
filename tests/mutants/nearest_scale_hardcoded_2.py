"""nearest_upsample_forward repeats every value twice, the lecture's example, whatever scale_factor says.

Right for scale_factor 2 (and (2, 2)); any other factor gets an output of the wrong size.
"""

MODULE = "upsample"
EXPECTED_PARTS = {"nearest"}
NAMED = {"nearest": "option_fixed"}
DIFFICULTY = {"nearest": "scale_gt_2"}

import numpy as np


def nearest_upsample_forward(x, scale_factor):
    out = np.repeat(np.repeat(x, 2, axis=2), 2, axis=3)  # BUG: scale_factor ignored
    return out, (x.shape, 2, 2)
