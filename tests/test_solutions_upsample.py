"""Reference solutions of upsample.py against torch float64 oracles."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import upsample


def _t(a, grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def _check_untouched(arrays, copies):
    for a, c in zip(arrays, copies):
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize(
    "shape, scale",
    [((2, 3, 4, 5), 2), ((1, 2, 3, 2), 3), ((2, 1, 3, 4), (2, 3)), ((1, 2, 5, 3), [3, 1]), ((1, 1, 2, 2), 1)],
)
def test_nearest_upsample_matches_interpolate(shape, scale):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    x0 = x.copy()
    out, cache = upsample.nearest_upsample_forward(x, scale)

    xt = _t(x, grad=True)
    sf = tuple(float(s) for s in scale) if isinstance(scale, (tuple, list)) else float(scale)
    ref = F.interpolate(xt, scale_factor=sf, mode="nearest")
    assert out.shape == tuple(ref.shape)
    assert out.dtype == x.dtype
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=0, atol=0)

    dout = rng.standard_normal(out.shape)
    d0 = dout.copy()
    dx = upsample.nearest_upsample_backward(dout, cache)
    ref.backward(_t(dout))
    assert dx.shape == x.shape
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    _check_untouched([x, dout], [x0, d0])


def _torch_bed_of_nails(xt, sh, sw):
    N, C, H, W = xt.shape
    out = xt.new_zeros(N, C, H * sh, W * sw)
    out[:, :, ::sh, ::sw] = xt
    return out


@pytest.mark.parametrize(
    "shape, scale",
    [((2, 3, 4, 5), 2), ((1, 2, 3, 2), 3), ((2, 1, 3, 4), (2, 3)), ((1, 2, 2, 3), (1, 2))],
)
def test_bed_of_nails_forward_backward(shape, scale):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    x0 = x.copy()
    out, cache = upsample.bed_of_nails_forward(x, scale)

    sh, sw = (scale, scale) if isinstance(scale, int) else scale
    xt = _t(x, grad=True)
    ref = _torch_bed_of_nails(xt, sh, sw)
    assert out.shape == tuple(ref.shape)
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(out, ref.detach().numpy())
    # the top-left of every block holds x, everything else is zero
    assert np.count_nonzero(out) == np.count_nonzero(x)

    dout = rng.standard_normal(out.shape)
    d0 = dout.copy()
    dx = upsample.bed_of_nails_backward(dout, cache)
    ref.backward(_t(dout))
    assert dx.shape == x.shape
    np.testing.assert_array_equal(dx, xt.grad.numpy())
    _check_untouched([x, dout], [x0, d0])
    # the gradient must not be a view that later writes into dout would change
    dout[...] = 0
    assert np.any(dx != 0)


def test_upsample_keeps_float32():
    x = np.arange(12, dtype=np.float32).reshape(1, 1, 3, 4)
    for fwd in (upsample.nearest_upsample_forward, upsample.bed_of_nails_forward):
        out, _ = fwd(x, 2)
        assert out.dtype == np.float32


@pytest.mark.parametrize(
    "shape, kernel, stride, padding, give_size",
    [
        ((2, 3, 6, 8), 2, None, 0, False),       # plain 2x2 pool
        ((2, 2, 7, 9), 2, None, 0, True),        # odd sizes: output_size restores them
        ((1, 3, 7, 6), 3, 1, 1, False),          # overlapping pools with padding
        ((2, 2, 8, 7), (3, 2), (2, 1), (1, 0), True),  # overlapping, non-square, output_size
        ((1, 2, 9, 9), 3, 2, 0, True),           # overlapping, odd
        ((1, 1, 5, 6), (2, 3), (2, 3), (1, 1), True),  # padding: the default size would be too small
    ],
)
def test_max_unpool2d_matches_torch(shape, kernel, stride, padding, give_size):
    rng = np.random.default_rng(2)
    # few distinct values: plenty of ties, and overlapping pools share maxima
    img = _t(rng.integers(0, 3, size=shape).astype(np.float64))
    pooled, idx = F.max_pool2d(img, kernel, stride=stride, padding=padding, return_indices=True)
    x = pooled.numpy().copy()
    indices = idx.numpy().copy()
    assert indices.dtype == np.int64
    x0, i0 = x.copy(), indices.copy()
    kwargs = {"kernel_size": kernel, "stride": stride, "padding": padding}
    size = shape[2:] if give_size else None

    out, cache = upsample.max_unpool2d_forward(x, indices, output_size=size, **kwargs)
    xt = _t(x, grad=True)
    ref = F.max_unpool2d(xt, idx, output_size=size, **kwargs)
    assert out.shape == tuple(ref.shape)
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(out, ref.detach().numpy())

    dout = rng.standard_normal(out.shape)
    d0 = dout.copy()
    dx = upsample.max_unpool2d_backward(dout, cache)
    ref.backward(_t(dout))
    assert dx.shape == x.shape
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=0)
    _check_untouched([x, indices, dout], [x0, i0, d0])


def test_max_unpool2d_repeated_indices():
    # one peak inside all nine overlapping 3x3 windows: every index points at it
    img = torch.zeros(1, 1, 5, 5, dtype=torch.float64)
    img[0, 0, 2, 2] = 5.0
    pooled, idx = F.max_pool2d(img, 3, stride=1, return_indices=True)
    assert np.all(idx.numpy() == 12)
    dout = np.arange(25, dtype=np.float64).reshape(1, 1, 5, 5)
    out, cache = upsample.max_unpool2d_forward(pooled.numpy(), idx.numpy(), kernel_size=3, stride=1)
    np.testing.assert_array_equal(out, img.numpy())
    dx = upsample.max_unpool2d_backward(dout, cache)
    np.testing.assert_array_equal(dx, np.full((1, 1, 3, 3), 12.0))  # each copy gets the full gradient


def test_max_unpool2d_int_output_size_and_float32():
    img = torch.arange(36, dtype=torch.float32).reshape(1, 1, 6, 6)
    pooled, idx = F.max_pool2d(img, 2, return_indices=True)
    out, _ = upsample.max_unpool2d_forward(pooled.numpy(), idx.numpy(), kernel_size=2, output_size=7)
    ref = F.max_unpool2d(pooled, idx, 2, output_size=(7, 7))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, ref.numpy())
