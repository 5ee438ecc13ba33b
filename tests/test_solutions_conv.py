"""Reference conv2d_forward / conv2d_backward against torch (float64, autograd)."""

import conv
import numpy as np
import pytest
import torch
import torch.nn.functional as tF

# (N, C, H, W), (F, KH, KW), stride, padding, dilation, bias
CASES = [
    ((2, 3, 7, 7), (4, 3, 3), 1, 0, 1, True),
    ((2, 3, 7, 9), (5, 3, 3), 1, 1, 1, True),
    ((1, 2, 8, 11), (3, 2, 4), (2, 1), (1, 2), 1, True),
    ((3, 4, 9, 10), (2, 3, 3), 2, 1, 1, False),  # stride does not divide
    ((2, 3, 10, 13), (4, 3, 2), 3, (0, 2), 1, True),
    ((2, 2, 11, 12), (3, 3, 3), 1, 2, 2, True),  # dilation
    ((2, 3, 13, 9), (2, 2, 3), (2, 3), 1, (3, 2), False),
    ((1, 1, 6, 6), (1, 1, 1), 1, 0, 1, True),  # 1x1 kernel, one channel
    ((2, 5, 6, 7), (3, 1, 1), 2, 0, 1, False),  # 1x1 kernel, strided
    ((2, 3, 5, 9), (4, 1, 3), 1, (0, 1), 1, True),  # 1xK kernel
    ((2, 3, 9, 5), (2, 4, 1), (1, 2), (2, 0), (2, 1), True),  # Kx1 kernel
    ((4, 6, 5, 5), (8, 5, 5), 1, 0, 1, True),  # kernel = input
    ((2, 3, 8, 8), (2, 3, 3), 4, 3, 1, True),  # padding larger than half the kernel
]


def _random(rng, shapes):
    x_shape, (F, KH, KW) = shapes
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((F, x_shape[1], KH, KW))
    b = rng.standard_normal(F)
    return x, w, b


def _torch_reference(x, w, b, dout, **kw):
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = None if b is None else torch.tensor(b, requires_grad=True)
    out = tF.conv2d(xt, wt, bt, **kw)
    out.backward(torch.tensor(dout))
    db = None if b is None else bt.grad.numpy()
    return out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), db


def _close(a, b):
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation, bias", CASES)
def test_conv2d_matches_torch(x_shape, w_shape, stride, padding, dilation, bias):
    rng = np.random.default_rng(sum(x_shape) + sum(w_shape))
    x, w, b = _random(rng, (x_shape, w_shape))
    b = b if bias else None
    kw = {"stride": stride, "padding": padding, "dilation": dilation}
    out_ref = tF.conv2d(torch.tensor(x), torch.tensor(w), None if b is None else torch.tensor(b), **kw).numpy()
    dout = rng.standard_normal(out_ref.shape)
    copies = [a.copy() for a in (x, w, dout) + (() if b is None else (b,))]

    out, cache = conv.conv2d_forward(x, w, b, **kw)
    dx, dw, db = conv.conv2d_backward(dout, cache)

    ref = _torch_reference(x, w, b, dout, **kw)
    _close(out, ref[0])
    _close(dx, ref[1])
    _close(dw, ref[2])
    if b is None:
        assert db is None
    else:
        _close(db, ref[3])
    for got in (out, dx, dw) + (() if db is None else (db,)):
        assert got.dtype == np.float64
    for a, before in zip((x, w, dout) + (() if b is None else (b,)), copies):
        np.testing.assert_array_equal(a, before)


def test_conv2d_default_bias_is_none():
    rng = np.random.default_rng(0)
    x, w, _ = _random(rng, ((2, 3, 5, 6), (4, 3, 3)))
    out, cache = conv.conv2d_forward(x, w)
    np.testing.assert_allclose(out, tF.conv2d(torch.tensor(x), torch.tensor(w)).numpy(), rtol=1e-10, atol=1e-10)
    assert conv.conv2d_backward(np.ones_like(out), cache)[2] is None


def test_conv2d_backward_twice_and_noncontiguous_inputs():
    # Strided views as inputs; a second backward through the same cache gives the same result.
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 14, 9))[:, :, ::2]
    w = np.asfortranarray(rng.standard_normal((4, 3, 3, 2)))
    b = rng.standard_normal(8)[::2]
    out, cache = conv.conv2d_forward(x, w, b, stride=(1, 2), padding=1)
    dout = rng.standard_normal(out.shape[::-1]).T  # same shape, transposed memory layout
    first = conv.conv2d_backward(dout, cache)
    second = conv.conv2d_backward(dout, cache)
    ref = _torch_reference(x, w, b, dout, stride=(1, 2), padding=1)
    for got, again, want in zip(first, second, ref[1:]):
        _close(got, want)
        np.testing.assert_array_equal(got, again)
    _close(out, ref[0])


def test_conv2d_keeps_float32():
    rng = np.random.default_rng(2)
    x, w, b = (a.astype(np.float32) for a in _random(rng, ((2, 3, 6, 5), (4, 3, 3))))
    out, cache = conv.conv2d_forward(x, w, b, padding=1)
    grads = conv.conv2d_backward(np.ones_like(out), cache)
    assert out.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
