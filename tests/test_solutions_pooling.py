"""Reference max / average pooling against torch (float64, autograd)."""

import numpy as np
import pooling
import pytest
import torch
import torch.nn.functional as tF

# (N, C, H, W), kernel_size, stride, padding
CASES = [
    ((2, 3, 8, 8), 2, None, 0),
    ((2, 3, 9, 7), 2, None, 0),  # stride (= kernel) does not divide
    ((1, 2, 7, 10), (2, 3), None, (1, 0)),
    ((2, 2, 9, 9), 3, 2, 1),  # overlapping windows
    ((2, 3, 8, 11), 3, 1, 1),  # stride 1: every pixel in up to 9 windows
    ((3, 1, 10, 7), (3, 2), (2, 1), (1, 1)),
    ((2, 2, 11, 13), (4, 5), (3, 2), (2, 2)),  # padding = kernel // 2
    ((1, 2, 6, 9), (1, 3), (1, 2), (0, 1)),  # 1xK window
    ((2, 2, 5, 6), 1, 2, 0),  # 1x1 window: subsampling
    ((2, 1, 6, 6), 6, None, 0),  # global pooling
    ((1, 2, 7, 5), 3, 3, 1),
    ((1, 2, 17, 18), 17, 1, 8),  # more than 256 taps
]

INPUTS = ["normal", "integers", "constant"]


def _input(kind, shape, rng):
    if kind == "normal":
        return rng.standard_normal(shape)
    if kind == "integers":  # many ties, inside and across windows
        return rng.integers(-2, 3, size=shape).astype(np.float64)
    return np.full(shape, 0.5)


def _close(a, b):
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def _args(kernel_size, stride, padding):
    kw = {"kernel_size": kernel_size, "padding": padding}
    if stride is not None:
        kw["stride"] = stride
    return kw


@pytest.mark.parametrize("kind", INPUTS)
@pytest.mark.parametrize("x_shape, kernel_size, stride, padding", CASES)
def test_max_pool2d_matches_torch(x_shape, kernel_size, stride, padding, kind):
    rng = np.random.default_rng(sum(x_shape))
    x = _input(kind, x_shape, rng)
    kw = _args(kernel_size, stride, padding)

    xt = torch.tensor(x, requires_grad=True)
    out_t, idx_t = tF.max_pool2d(xt, return_indices=True, **kw)
    dout = rng.standard_normal(tuple(out_t.shape))
    out_t.backward(torch.tensor(dout))
    x0, dout0 = x.copy(), dout.copy()

    out, indices, cache = pooling.max_pool2d_forward(x, **kw)
    dx = pooling.max_pool2d_backward(dout, cache)

    _close(out, out_t.detach().numpy())
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(indices, idx_t.numpy())
    _close(dx, xt.grad.numpy())
    assert out.dtype == dx.dtype == np.float64
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(dout, dout0)


def test_max_pool2d_shared_maximum_collects_all_gradients():
    # One large pixel is the maximum of all 9 windows around it (stride 1).
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 1.0
    out, indices, cache = pooling.max_pool2d_forward(x, 3, stride=1, padding=1)
    assert (indices[0, 0, 1:4, 1:4] == 12).all()
    dx = pooling.max_pool2d_backward(np.ones_like(out), cache)
    assert dx[0, 0, 2, 2] == 9.0


@pytest.mark.parametrize("x_shape, kernel_size, stride, padding", CASES)
def test_avg_pool2d_matches_torch(x_shape, kernel_size, stride, padding):
    rng = np.random.default_rng(sum(x_shape) + 1)
    x = rng.standard_normal(x_shape)
    kw = _args(kernel_size, stride, padding)

    xt = torch.tensor(x, requires_grad=True)
    out_t = tF.avg_pool2d(xt, count_include_pad=True, **kw)
    dout = rng.standard_normal(tuple(out_t.shape))
    out_t.backward(torch.tensor(dout))
    x0, dout0 = x.copy(), dout.copy()

    out, cache = pooling.avg_pool2d_forward(x, **kw)
    dx = pooling.avg_pool2d_backward(dout, cache)

    _close(out, out_t.detach().numpy())
    _close(dx, xt.grad.numpy())
    assert out.dtype == dx.dtype == np.float64
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(dout, dout0)


def test_pooling_backward_twice():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, size=(2, 3, 7, 6)).astype(np.float64)
    out, indices, cache = pooling.max_pool2d_forward(x, 3, stride=1, padding=1)
    dout = rng.standard_normal(out.shape)
    indices0 = indices.copy()
    np.testing.assert_array_equal(pooling.max_pool2d_backward(dout, cache), pooling.max_pool2d_backward(dout, cache))
    np.testing.assert_array_equal(indices, indices0)
    out, cache = pooling.avg_pool2d_forward(x, 3, stride=2, padding=1)
    dout = rng.standard_normal(out.shape)
    np.testing.assert_array_equal(pooling.avg_pool2d_backward(dout, cache), pooling.avg_pool2d_backward(dout, cache))


def test_pooling_keeps_float32():
    x = np.random.default_rng(4).standard_normal((2, 3, 6, 5)).astype(np.float32)
    out, indices, cache = pooling.max_pool2d_forward(x, 2)
    dx = pooling.max_pool2d_backward(np.ones_like(out), cache)
    assert out.dtype == dx.dtype == np.float32 and indices.dtype == np.int64
    out, cache = pooling.avg_pool2d_forward(x, 3, stride=2, padding=1)
    dx = pooling.avg_pool2d_backward(np.ones_like(out), cache)
    assert out.dtype == dx.dtype == np.float32
