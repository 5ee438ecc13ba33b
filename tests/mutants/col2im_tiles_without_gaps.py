"""col2im takes a reshape shortcut whenever the windows do not overlap, as if they tiled the image.

With stride == kernel_size the blocks do tile it, and the shortcut is right. With a stride larger than
the kernel there are gaps between the blocks, and the shortcut packs them together.
"""

MODULE = "toeplitz"
EXPECTED_PARTS = {"col2im"}
NAMED = {"col2im": "col2im_packed_blocks"}
DIFFICULTY = {"col2im": "stride_gt_kernel"}

import numpy as np
from common import conv_output_size, pair


def col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1):
    (H, W), (KH, KW) = pair(output_size), pair(kernel_size)
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    N, CKK, L = cols.shape
    C = CKK // (KH * KW)
    c = cols.reshape(N, C, KH, KW, Ho, Wo)
    out = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    if sh >= KH and sw >= KW and (dh, dw) == (1, 1):
        # BUG: no overlap, so "the blocks tile the image": true only when the stride equals the kernel
        tiles = c.transpose(0, 1, 4, 2, 5, 3).reshape(N, C, Ho * KH, Wo * KW)
        out[:, :, :Ho * KH, :Wo * KW] = tiles
        return out[:, :, ph:ph + H, pw:pw + W]
    for i in range(KH):
        for j in range(KW):
            out[:, :, i * dh:i * dh + sh * (Ho - 1) + 1:sh, j * dw:j * dw + sw * (Wo - 1) + 1:sw] += c[:, :, i, j]
    return out[:, :, ph:ph + H, pw:pw + W]
