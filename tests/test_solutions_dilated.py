"""Reference dilate_kernel and receptive_field against torch."""

import conv
import dilated
import numpy as np
import pytest
import torch
import torch.nn.functional as tF


@pytest.mark.parametrize(
    "w_shape, dilation",
    [((2, 3, 3, 3), 1), ((2, 3, 3, 3), 2), ((4, 2, 3, 2), (2, 3)), ((1, 1, 1, 4), 3), ((3, 2, 2, 1), (4, 1))],
)
def test_dilate_kernel_equals_dilated_conv(w_shape, dilation):
    rng = np.random.default_rng(sum(w_shape))
    w = rng.standard_normal(w_shape)
    x = rng.standard_normal((2, w_shape[1], 13, 14))
    w0 = w.copy()

    wd = dilated.dilate_kernel(w, dilation)

    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    F, C, KH, KW = w_shape
    assert wd.shape == (F, C, dh * (KH - 1) + 1, dw * (KW - 1) + 1)
    assert wd.dtype == np.float64
    np.testing.assert_array_equal(w, w0)
    assert np.count_nonzero(wd) == np.count_nonzero(w)

    want = tF.conv2d(torch.tensor(x), torch.tensor(w), dilation=dilation).numpy()
    np.testing.assert_allclose(tF.conv2d(torch.tensor(x), torch.tensor(wd)).numpy(), want, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(conv.conv2d_forward(x, wd)[0], want, rtol=1e-10, atol=1e-10)


def test_receptive_field_lecture_examples():
    assert dilated.receptive_field([3, 3, 3], dilations=[1, 2, 4]) == [3, 7, 15]
    assert dilated.receptive_field([3, 2, 3], [2, 2, 1]) == [3, 5, 13]
    assert dilated.receptive_field([3, 3, 3]) == [3, 5, 7]
    assert dilated.receptive_field([]) == []
    fields = dilated.receptive_field([3, 3], [1, 1], [1, 1])
    assert type(fields) is list and all(type(r) is int for r in fields)


def _torch_receptive_fields(kernel_sizes, strides, dilations):
    """Extent of the input pixels that reach output unit (0, 0) of each layer of
    an all-ones conv stack: the span of the nonzero input gradient."""
    fields = []
    size = 1 + sum((k - 1) * d * int(np.prod(strides[:i])) for i, (k, d) in enumerate(zip(kernel_sizes, dilations)))
    size += int(np.prod(strides))  # room so that no layer runs out of input
    for depth in range(1, len(kernel_sizes) + 1):
        x = torch.zeros((1, 1, size, size), dtype=torch.float64, requires_grad=True)
        h = x
        for k, s, d in zip(kernel_sizes[:depth], strides, dilations):
            h = tF.conv2d(h, torch.ones((1, 1, k, k), dtype=torch.float64), stride=s, dilation=d)
        h[0, 0, 0, 0].backward()
        rows, cols = np.nonzero(x.grad[0, 0].numpy())
        extent_r, extent_c = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        assert extent_r == extent_c
        fields.append(int(extent_r))
    return fields


@pytest.mark.parametrize(
    "kernel_sizes, strides, dilations",
    [
        ([3, 3, 3], None, [1, 2, 4]),
        ([3, 2, 3], [2, 2, 1], None),
        ([5], None, None),
        ([7, 3, 3, 3], [2, 2, 1, 1], [1, 1, 2, 3]),
        ([1, 3, 2], [2, 1, 2], [1, 2, 1]),
        ([2, 2, 2, 2], [2, 2, 2, 2], None),
        ([3, 3], [3, 1], [2, 2]),
    ],
)
def test_receptive_field_matches_torch_autograd(kernel_sizes, strides, dilations):
    n = len(kernel_sizes)
    want = _torch_receptive_fields(kernel_sizes, strides or [1] * n, dilations or [1] * n)
    assert dilated.receptive_field(kernel_sizes, strides, dilations) == want


def test_dilate_kernel_keeps_float32():
    w = np.ones((2, 1, 2, 2), dtype=np.float32)
    assert dilated.dilate_kernel(w, (1, 2)).dtype == np.float32
