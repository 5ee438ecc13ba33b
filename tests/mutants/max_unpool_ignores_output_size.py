"""max_unpool2d_forward ignores output_size and always uses the default size."""

MODULE = "upsample"
EXPECTED_PARTS = {"max_unpool"}
NAMED = {"max_unpool": "unpool_output_size"}

import numpy as np
from common import conv_transpose_output_size, pair


def max_unpool2d_forward(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    kh, kw = pair(kernel_size, "kernel_size")
    sh, sw = pair(kernel_size if stride is None else stride, "stride")
    ph, pw = pair(padding, "padding")
    N, C, H, W = x.shape
    Ho = conv_transpose_output_size(H, kh, sh, ph)  # BUG: output_size never read
    Wo = conv_transpose_output_size(W, kw, sw, pw)
    flat_idx = indices.reshape(N, C, H * W)
    out = np.zeros((N, C, Ho * Wo), dtype=x.dtype)
    np.put_along_axis(out, flat_idx, x.reshape(N, C, H * W), axis=2)
    return out.reshape(N, C, Ho, Wo), (flat_idx, x.shape)
