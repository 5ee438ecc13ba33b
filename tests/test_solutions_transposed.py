"""Reference solutions of transposed.py against torch float64 oracles."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import transposed
from common import pair

TOL = {"rtol": 1e-10, "atol": 1e-10}

# (N, C_in, H, W, C_out, KH, KW, stride, padding, output_padding, dilation, bias)
CASES = [
    (2, 3, 4, 4, 2, 3, 3, 2, 1, 1, 1, True),
    (2, 4, 5, 3, 3, 4, 4, 2, 1, 0, 1, False),  # the usual 2x upsampling
    (1, 2, 3, 4, 5, 3, 2, (2, 3), (1, 0), (1, 2), 1, True),  # pairs, non-square
    (2, 2, 4, 5, 3, 3, 3, 1, 1, 0, 2, True),  # dilation
    (2, 3, 4, 4, 2, 3, 3, 1, 0, 1, 2, True),  # output_padding >= stride (allowed by dilation)
    (1, 2, 3, 3, 2, 2, 2, 2, 1, 2, 3, False),  # output_padding = stride < dilation
    (2, 3, 4, 4, 2, 1, 1, 2, 0, 1, 1, True),  # 1x1
    (2, 2, 3, 5, 3, 1, 3, (1, 2), (0, 1), (0, 1), 1, True),  # 1xK
    (1, 2, 4, 4, 2, 5, 5, 3, 2, 2, 1, True),  # stride 3, big padding
    (3, 1, 2, 3, 1, 3, 3, 1, 0, 0, 1, False),  # one channel each way, stride 1
    (2, 3, 3, 4, 4, 3, 2, [3, 2], [2, 1], [1, 0], [1, 2], True),  # lists as pairs
]
IDS = [f"case{i}" for i in range(len(CASES))]


def _t(a, grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def _data(case, seed=0):
    N, C_in, H, W, C_out, KH, KW = case[:7]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C_in, H, W))
    w = rng.standard_normal((C_in, C_out, KH, KW))
    b = rng.standard_normal(C_out) if case[11] else None
    return x, w, b


def _kw(case):
    return {"stride": case[7], "padding": case[8], "output_padding": case[9], "dilation": case[10]}


def _torch_kw(case):
    return {k: pair(v) for k, v in _kw(case).items()}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_backward_match_torch(case):
    x, w, b = _data(case)
    arrays = [a for a in (x, w, b) if a is not None]
    copies = [a.copy() for a in arrays]

    out, cache = transposed.conv_transpose2d_forward(x, w, b, **_kw(case))
    xt, wt = _t(x, grad=True), _t(w, grad=True)
    bt = None if b is None else _t(b, grad=True)
    ref = F.conv_transpose2d(xt, wt, bt, **_torch_kw(case))
    assert type(out) is np.ndarray
    assert out.shape == tuple(ref.shape)
    assert out.dtype == x.dtype
    np.testing.assert_allclose(out, ref.detach().numpy(), **TOL)

    dout = np.random.default_rng(1).standard_normal(out.shape)
    d0 = dout.copy()
    grads = transposed.conv_transpose2d_backward(dout, cache)
    assert len(grads) == 3
    dx, dw, db = grads
    ref.backward(_t(dout))
    assert dx.shape == x.shape and dw.shape == w.shape
    assert dx.dtype == x.dtype and dw.dtype == w.dtype
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(dw, wt.grad.numpy(), **TOL)
    if b is None:
        assert db is None
    else:
        assert db.shape == b.shape
        np.testing.assert_allclose(db, bt.grad.numpy(), **TOL)

    for a, c in zip([*arrays, dout], [*copies, d0]):
        np.testing.assert_array_equal(a, c)


def test_backward_twice_gives_same_result():
    case = CASES[0]
    x, w, b = _data(case)
    out, cache = transposed.conv_transpose2d_forward(x, w, b, **_kw(case))
    dout = np.random.default_rng(1).standard_normal(out.shape)
    first = transposed.conv_transpose2d_backward(dout, cache)
    second = transposed.conv_transpose2d_backward(dout, cache)
    for a, c in zip(first, second):
        np.testing.assert_array_equal(a, c)


# conv2d cases (N, C, H, W, F, KH, KW, stride, padding, dilation)
CONV_CASES = [
    (2, 3, 7, 7, 4, 3, 3, 2, 1, 1),
    (1, 2, 8, 6, 3, 4, 4, 2, 1, 1),
    (2, 2, 9, 7, 3, 3, 2, (2, 3), (1, 0), (1, 2)),
    (1, 3, 9, 9, 2, 3, 3, 3, 2, 2),
    (2, 2, 5, 6, 3, 1, 1, 2, 0, 1),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=[f"conv{i}" for i in range(len(CONV_CASES))])
def test_transposed_conv_is_gradient_of_conv(case):
    N, C, H, W, Fo, KH, KW, stride, padding, dilation = case
    rng = np.random.default_rng(4)
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((Fo, C, KH, KW))
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    xt = _t(x, grad=True)
    y = F.conv2d(xt, _t(w), stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw))
    dy = rng.standard_normal(tuple(y.shape))
    y.backward(_t(dy))

    # output_padding that restores (H, W)
    op = ((H + 2 * ph - dh * (KH - 1) - 1) % sh, (W + 2 * pw - dw * (KW - 1) - 1) % sw)
    # the conv's (F, C, KH, KW) weights are the transposed conv's (C_in, C_out, KH, KW)
    out, _ = transposed.conv_transpose2d_forward(
        dy, w, stride=stride, padding=padding, output_padding=op, dilation=dilation
    )
    assert out.shape == x.shape
    np.testing.assert_allclose(out, xt.grad.numpy(), **TOL)


def test_float32_dtype_preserved():
    case = CASES[2]
    x, w, b = (a.astype(np.float32) for a in _data(case))
    out, cache = transposed.conv_transpose2d_forward(x, w, b, **_kw(case))
    assert out.dtype == np.float32
    ref = F.conv_transpose2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), **_torch_kw(case))
    np.testing.assert_allclose(out, ref.numpy(), rtol=1e-4, atol=1e-4)
    dx, dw, db = transposed.conv_transpose2d_backward(np.ones_like(out), cache)
    assert dx.dtype == dw.dtype == db.dtype == np.float32


def test_output_padding_too_large_is_rejected():
    x = np.zeros((1, 1, 3, 3))
    w = np.zeros((1, 1, 3, 3))
    with pytest.raises(ValueError):
        transposed.conv_transpose2d_forward(x, w, stride=2, output_padding=2)
