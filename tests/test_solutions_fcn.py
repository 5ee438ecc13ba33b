"""Reference solutions of fcn.py against torch float64 oracles."""

import fcn
import numpy as np
import pytest
import torch
import torch.nn.functional as F

KEYS = ("w1", "b1", "w2", "b2", "w3", "b3", "w4", "b4")


def _t(a, grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


@pytest.mark.parametrize("shape, K", [((2, 3, 4, 5), 6), ((1, 1, 3, 3), 2), ((3, 2, 1, 7), 4)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_fc_to_conv_matches_linear(shape, K, with_bias):
    rng = np.random.default_rng(0)
    N, C, H, W = shape
    x = rng.standard_normal(shape)
    weight = rng.standard_normal((K, C * H * W))
    bias = rng.standard_normal(K) if with_bias else None
    w0 = weight.copy()
    b0 = None if bias is None else bias.copy()

    w_conv, b_conv = fcn.fc_to_conv(weight, bias, (C, H, W))
    assert w_conv.shape == (K, C, H, W)
    assert not np.shares_memory(w_conv, weight)
    if with_bias:
        assert b_conv.shape == (K,)
        assert not np.shares_memory(b_conv, bias)
    else:
        assert b_conv is None

    bt = None if bias is None else _t(bias)
    fc = F.linear(_t(x).reshape(N, -1), _t(weight), bt)
    conv = F.conv2d(_t(x), _t(w_conv), None if b_conv is None else _t(b_conv))
    assert tuple(conv.shape) == (N, K, 1, 1)
    np.testing.assert_allclose(conv.reshape(N, -1).numpy(), fc.numpy(), rtol=1e-10, atol=1e-12)

    np.testing.assert_array_equal(weight, w0)
    if with_bias:
        np.testing.assert_array_equal(bias, b0)


def test_fc_to_conv_runs_on_larger_images():
    rng = np.random.default_rng(1)
    N, C, H, W, K = 2, 3, 4, 3, 5
    weight = rng.standard_normal((K, C * H * W))
    bias = rng.standard_normal(K)
    w_conv, b_conv = fcn.fc_to_conv(weight, bias, (C, H, W))

    big = rng.standard_normal((N, C, H + 5, W + 3))
    scores = F.conv2d(_t(big), _t(w_conv), _t(b_conv))
    assert tuple(scores.shape) == (N, K, 6, 4)  # a score map, one vector per H x W window
    # the top-left score vector is the FC layer applied to the top-left crop
    crop = _t(big[:, :, :H, :W]).reshape(N, -1)
    np.testing.assert_allclose(
        scores[:, :, 0, 0].numpy(), F.linear(crop, _t(weight), _t(bias)).numpy(), rtol=1e-10, atol=1e-12
    )
    # and any other window likewise
    crop = _t(big[:, :, 2 : 2 + H, 1 : 1 + W]).reshape(N, -1)
    np.testing.assert_allclose(
        scores[:, :, 2, 1].numpy(), F.linear(crop, _t(weight), _t(bias)).numpy(), rtol=1e-10, atol=1e-12
    )


def _make_params(rng, C, F1, F2, F3, K):
    shapes = {
        "w1": (F1, C, 3, 3), "b1": (F1,),
        "w2": (F2, F1, 3, 3), "b2": (F2,),
        "w3": (F2, F3, 4, 4), "b3": (F3,),
        "w4": (K, F3, 1, 1), "b4": (K,),
    }
    return {k: 0.5 * rng.standard_normal(s) for k, s in shapes.items()}


def _torch_fcn(x, p):
    H, W = x.shape[2:]
    h1 = F.relu(F.conv2d(x, p["w1"], p["b1"], stride=1, padding=1))
    p1 = F.max_pool2d(h1, kernel_size=2, stride=2)
    h2 = F.relu(F.conv2d(p1, p["w2"], p["b2"], stride=1, padding=1))
    u3 = F.relu(F.conv_transpose2d(h2, p["w3"], p["b3"], stride=2, padding=1, output_padding=(H % 2, W % 2)))
    return F.conv2d(u3, p["w4"], p["b4"])


@pytest.mark.parametrize(
    "shape", [(2, 3, 8, 6), (2, 2, 7, 9), (3, 1, 5, 4), (2, 2, 2, 2), (1, 3, 3, 2)]
)
def test_fcn_forward_backward_match_torch(shape):
    rng = np.random.default_rng(2)
    N, C, H, W = shape
    K = 4
    x = rng.standard_normal(shape)
    params = _make_params(rng, C, F1=5, F2=6, F3=3, K=K)
    x0 = x.copy()
    p0 = {k: v.copy() for k, v in params.items()}

    scores, cache = fcn.fcn_forward(x, params)
    pt = {k: _t(v, grad=True) for k, v in params.items()}
    ref = _torch_fcn(_t(x), pt)
    assert scores.shape == (N, K, H, W) == tuple(ref.shape)
    np.testing.assert_allclose(scores, ref.detach().numpy(), rtol=1e-9, atol=1e-10)

    dscores = rng.standard_normal(scores.shape)
    d0 = dscores.copy()
    grads = fcn.fcn_backward(dscores, cache)
    ref.backward(_t(dscores))
    assert set(grads) == set(params)
    for k in KEYS:
        assert grads[k].shape == params[k].shape, k
        assert grads[k].dtype == np.float64, k
        np.testing.assert_allclose(grads[k], pt[k].grad.numpy(), rtol=1e-8, atol=1e-9, err_msg=k)

    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(dscores, d0)
    for k in KEYS:
        np.testing.assert_array_equal(params[k], p0[k], err_msg=k)


def test_fcn_relu_kills_gradient():
    # all-negative first-layer pre-activations: nothing flows back to w1, b1
    rng = np.random.default_rng(3)
    params = _make_params(rng, 2, F1=3, F2=3, F3=2, K=2)
    params["w1"][:] = 0.0
    params["b1"][:] = -1.0
    x = rng.standard_normal((2, 2, 6, 6))
    scores, cache = fcn.fcn_forward(x, params)
    grads = fcn.fcn_backward(np.ones_like(scores), cache)
    np.testing.assert_array_equal(grads["w1"], 0.0)
    np.testing.assert_array_equal(grads["b1"], 0.0)
