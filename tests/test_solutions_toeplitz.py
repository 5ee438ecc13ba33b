"""Reference solutions of toeplitz.py against torch float64 oracles."""

import numpy as np
import pytest
import toeplitz
import torch
import torch.nn.functional as F
from common import pair

TOL = {"rtol": 1e-10, "atol": 1e-10}

# (N, C, H, W, F, KH, KW, stride, padding, dilation)
CASES = [
    (2, 3, 7, 7, 4, 3, 3, 1, 0, 1),
    (2, 3, 8, 6, 5, 3, 2, 2, 1, 1),  # stride does not divide, non-square
    (1, 2, 9, 7, 3, 3, 2, (2, 3), (1, 0), (1, 2)),  # pairs everywhere
    (2, 4, 5, 5, 3, 1, 1, 1, 0, 1),  # 1x1
    (2, 3, 5, 6, 2, 1, 1, 2, 0, 1),  # 1x1 strided
    (2, 2, 6, 7, 3, 1, 3, (1, 2), (0, 1), 1),  # 1xK
    (1, 2, 9, 9, 2, 3, 3, 1, 2, 2),  # dilation with padding
    (2, 1, 10, 11, 2, 2, 2, 3, 1, 1),  # stride > kernel
    (1, 2, 4, 5, 3, 4, 5, 1, 0, 1),  # kernel covers the input
    (3, 2, 7, 5, 1, 3, 3, [2, 1], [1, 1], [2, 1]),  # lists as pairs, F = 1
]
IDS = [f"case{i}" for i in range(len(CASES))]


def _data(case, seed=0):
    N, C, H, W, Fo, KH, KW = case[:7]
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, C, H, W)), rng.standard_normal((Fo, C, KH, KW)), rng.standard_normal(Fo)


def _t(a):
    return torch.tensor(a, dtype=torch.float64)


def _kw(case):
    return {"stride": case[7], "padding": case[8], "dilation": case[9]}


def _torch_kw(case):
    # torch wants tuples, not lists
    return {k: pair(v) for k, v in _kw(case).items()}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_toeplitz_is_conv2d(case):
    x, w, _ = _data(case)
    w0 = w.copy()
    T = toeplitz.conv2d_toeplitz(w, x.shape[1:], **_kw(case))
    ref = F.conv2d(_t(x), _t(w), **_torch_kw(case)).numpy()
    assert type(T) is np.ndarray
    assert T.dtype == np.float64
    assert T.shape == (ref[0].size, x[0].size)
    for n in range(x.shape[0]):
        np.testing.assert_allclose(T @ x[n].ravel(), ref[n].ravel(), **TOL)
    np.testing.assert_array_equal(w, w0)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_toeplitz_transpose_is_conv_transpose2d(case):
    x, w, _ = _data(case)
    _, _, H, W = x.shape
    kw = _torch_kw(case)
    T = toeplitz.conv2d_toeplitz(w, x.shape[1:], **_kw(case))
    Fo, _, KH, KW = w.shape
    (sh, sw), (ph, pw), (dh, dw) = kw["stride"], kw["padding"], kw["dilation"]
    op = ((H + 2 * ph - dh * (KH - 1) - 1) % sh, (W + 2 * pw - dw * (KW - 1) - 1) % sw)
    Ho = (H + 2 * ph - dh * (KH - 1) - 1) // sh + 1
    Wo = (W + 2 * pw - dw * (KW - 1) - 1) // sw + 1
    y = np.random.default_rng(1).standard_normal((Fo, Ho, Wo))
    ref = F.conv_transpose2d(_t(y[None]), _t(w), output_padding=op, **kw).numpy()[0]
    assert ref.shape == x.shape[1:]
    np.testing.assert_allclose(T.T @ y.ravel(), ref.ravel(), **TOL)


def test_toeplitz_small_example_by_hand():
    # 1 channel, 3x3 input, 2x2 kernel, stride 1: each row holds the kernel
    # laid out over the 3-wide image.
    w = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    T = toeplitz.conv2d_toeplitz(w, (1, 3, 3))
    expected = np.array(
        [
            [1, 2, 0, 3, 4, 0, 0, 0, 0],
            [0, 1, 2, 0, 3, 4, 0, 0, 0],
            [0, 0, 0, 1, 2, 0, 3, 4, 0],
            [0, 0, 0, 0, 1, 2, 0, 3, 4],
        ],
        dtype=np.float64,
    )
    np.testing.assert_array_equal(T, expected)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_im2col_matches_unfold(case):
    x, w, _ = _data(case)
    x0 = x.copy()
    ks = w.shape[2:]
    cols = toeplitz.im2col(x, ks, **_kw(case))
    ref = F.unfold(_t(x), ks, **_torch_kw(case)).numpy()
    assert type(cols) is np.ndarray
    assert cols.shape == ref.shape
    assert cols.dtype == x.dtype
    np.testing.assert_array_equal(cols, ref)
    np.testing.assert_array_equal(x, x0)
    # the result is a fresh array, not a view into x
    cols[...] = 0
    np.testing.assert_array_equal(x, x0)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_col2im_matches_fold(case):
    x, w, _ = _data(case)
    ks = w.shape[2:]
    H, W = x.shape[2:]
    L = F.unfold(_t(x), ks, **_torch_kw(case)).shape[-1]
    cols = np.random.default_rng(2).standard_normal((x.shape[0], x.shape[1] * ks[0] * ks[1], L))
    c0 = cols.copy()
    out = toeplitz.col2im(cols, (H, W), ks, **_kw(case))
    ref = F.fold(_t(cols), (H, W), ks, **_torch_kw(case)).numpy()
    assert type(out) is np.ndarray
    assert out.shape == ref.shape == x.shape
    assert out.dtype == cols.dtype
    np.testing.assert_allclose(out, ref, **TOL)
    np.testing.assert_array_equal(cols, c0)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_col2im_is_adjoint_of_im2col(case):
    x, w, _ = _data(case)
    ks = w.shape[2:]
    cols = toeplitz.im2col(x, ks, **_kw(case))
    c = np.random.default_rng(3).standard_normal(cols.shape)
    back = toeplitz.col2im(c, x.shape[2:], ks, **_kw(case))
    np.testing.assert_allclose(np.sum(cols * c), np.sum(x * back), rtol=1e-10)


def test_col2im_sums_overlaps():
    # 3x3 windows with stride 1 over a 4x4 image: pixel (r, c) is covered by
    # (number of windows per row covering r) * (per column covering c) windows.
    cols = np.ones((1, 9, 4))
    out = toeplitz.col2im(cols, 4, 3)
    count = np.array([1, 2, 2, 1])
    np.testing.assert_array_equal(out[0, 0], np.outer(count, count))


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv2d_gemm_matches_conv2d(case, bias):
    x, w, b = _data(case)
    if not bias:
        b = None
    copies = [a.copy() for a in (x, w, b) if a is not None]
    out = toeplitz.conv2d_gemm(x, w, b, **_kw(case))
    ref = F.conv2d(_t(x), _t(w), None if b is None else _t(b), **_torch_kw(case)).numpy()
    assert type(out) is np.ndarray
    assert out.shape == ref.shape
    assert out.dtype == x.dtype
    np.testing.assert_allclose(out, ref, **TOL)
    for a, c in zip([a for a in (x, w, b) if a is not None], copies):
        np.testing.assert_array_equal(a, c)


def test_float32_dtype_preserved():
    case = CASES[1]
    x, w, b = (a.astype(np.float32) for a in _data(case))
    ks = w.shape[2:]
    cols = toeplitz.im2col(x, ks, **_kw(case))
    assert cols.dtype == np.float32
    assert toeplitz.col2im(cols, x.shape[2:], ks, **_kw(case)).dtype == np.float32
    out = toeplitz.conv2d_gemm(x, w, b, **_kw(case))
    assert out.dtype == np.float32
    ref = F.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), **_torch_kw(case)).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)
