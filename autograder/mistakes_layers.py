"""Known mistakes of pooling, dilation, the matrix forms of convolution, upsampling and the FCN.

Entries of the catalogue (mistakes.py explains what an entry is); importing this module registers them.
"""

import numpy as np

from .mistakes import (arr, close, crop, mistake, nonzero, oracle, padded, single_contributions, spatial, taps,
                       wrong_size)
from .mistakes_conv import contributions
from .sizes import geometry, overlapping


# ----------------------------------------------------------------- pooling
@mistake("stride_none", ["out", "indices"], "stride=None taken as 1",
         "your output matches stride 1; stride=None (the default, not given here) means stride = kernel_size")
def _stride_none(run, value, got):
    return "stride" not in run.options and close(got, run.variant(options={"stride": 1}, backward=False)[value])


def max_pool_zero_padded(run):
    o, g = oracle(), geometry(run)
    ph, pw = g.padding
    x = o.F.pad(o.tensor(run.inputs["x"]), (pw, pw, ph, ph), value=0.0)
    return o.F.max_pool2d(x, g.kernel, stride=g.stride).numpy()


@mistake("pool_zero_padding", ["out"], "0 instead of -inf padding",
         "your output matches max pooling over ZERO padding: torch pads with -inf, so a maximum never comes "
         "from the padding (a window of negative numbers at the border returns a negative number)")
def _pool_zero_padding(run, value, got):
    return nonzero(geometry(run).padding) and close(got, run.memo("zero_padded", lambda: max_pool_zero_padded(run)))


def tied_taps(run):
    """(padded x, the (i, j, slices) of every tap, the oracle's maxima)."""
    g = geometry(run)
    out = run.expected["out"]
    return padded(run.inputs["x"], g.padding, -np.inf), list(taps(g, out.shape[2:])), out


def every_max_dx(run):
    g = geometry(run)
    xp, window_taps, out = tied_taps(run)
    dxp = np.zeros_like(xp)
    for _, _, sl in window_taps:
        dxp[sl] += run.dout * (xp[sl] == out)
    return crop(dxp, g)


def last_max_indices(run):
    g = geometry(run)
    xp, window_taps, out = tied_taps(run)
    ho, wo = out.shape[2:]
    row = np.zeros(out.shape, dtype=np.int64)
    col = np.zeros(out.shape, dtype=np.int64)
    for i, j, sl in window_taps:
        hit = xp[sl] == out
        row = np.where(hit, i, row)
        col = np.where(hit, j, col)
    rows = np.arange(ho)[:, None] * g.stride[0] - g.padding[0] + row
    cols = np.arange(wo)[None, :] * g.stride[1] - g.padding[1] + col
    return rows * g.size[1] + cols


def dx_from_indices(indices, x_shape, dout):
    n, c, h, w = x_shape
    flat = indices.reshape(n * c, -1) + np.arange(n * c)[:, None] * (h * w)
    return np.bincount(flat.ravel(), weights=dout.ravel(), minlength=n * c * h * w).reshape(x_shape)


@mistake("ties_every_max", ["dx"], "gradient to every tied maximum",
         "dx gives the gradient to EVERY input equal to its window's maximum; with ties only the first maximum "
         "(row-major within the window, the one indices point at) gets it: scatter dout at the indices")
def _ties_every_max(run, value, got):
    return close(got, run.memo("every_max", lambda: every_max_dx(run)))


@mistake("ties_last_max", ["indices", "dx"], "the last tied maximum wins",
         "with ties your code picks the LAST maximum of the window; torch keeps the FIRST in row-major order: "
         "update the running maximum only on a strictly greater value (>, not >=)")
def _ties_last_max(run, value, got):
    last = run.memo("last_max", lambda: last_max_indices(run))
    if value == "indices":
        return arr(got) and got.shape == last.shape and np.array_equal(got, last)
    return close(got, run.memo("last_max_dx", lambda: dx_from_indices(last, run.inputs["x"].shape, run.dout)))


@mistake("ties_first_max", ["indices"], "a tie broken differently",
         "your indices point at a maximum of the window, but not the one torch picks: with ties the FIRST "
         "maximum in row-major order (row by row, left to right) within the window wins")
def _ties_first_max(run, value, got):
    x, out, e = run.inputs["x"], run.expected["out"], run.expected[value]
    if not (arr(got) and got.shape == e.shape and got.dtype.kind in "iu"):
        return False
    flat = x.reshape(*x.shape[:2], -1)
    if got.min() < 0 or got.max() >= flat.shape[2]:
        return False
    picked = np.take_along_axis(flat, got.reshape(*x.shape[:2], -1), axis=2)
    return bool(np.array_equal(picked, out.reshape(*x.shape[:2], -1)))


def window_position(run, e):
    g = geometry(run)
    ho, wo = e.shape[2:]
    rows, cols = e // g.size[1], e % g.size[1]
    top = np.arange(ho)[:, None] * g.stride[0] - g.padding[0]
    left = np.arange(wo)[None, :] * g.stride[1] - g.padding[1]
    return g, rows, cols, rows - top, cols - left


@mistake("indices_in_window", ["indices"], "indices inside the window",
         "your indices are positions INSIDE each window (0 .. kh*kw-1); torch wants the flat position "
         "row * W + col of the maximum in the whole (unpadded) H x W input plane")
def _indices_in_window(run, value, got):
    g, _, _, r, c = window_position(run, run.expected[value])
    return arr(got) and got.shape == r.shape and np.array_equal(got, r * g.kernel[1] + c)


@mistake("indices_padded", ["indices"], "indices in padded coordinates",
         "your indices are positions in the PADDED plane, (row + p) * (W + 2p) + (col + p); torch's are in the "
         "unpadded input: row * W + col")
def _indices_padded(run, value, got):
    g, rows, cols, _, _ = window_position(run, run.expected[value])
    ref = (rows + g.padding[0]) * (g.size[1] + 2 * g.padding[1]) + cols + g.padding[1]
    return nonzero(g.padding) and arr(got) and got.shape == ref.shape and np.array_equal(got, ref)


@mistake("count_include_pad", ["out", "dx"], "padding left out of the average",
         "your result divides by the number of REAL pixels in each window; torch's default counts the zero "
         "padding too (count_include_pad=True): divide by kh*kw everywhere")
def _count_include_pad(run, value, got):
    return (nonzero(geometry(run).padding)
            and close(got, run.variant(options={"count_include_pad": False})[value]))


@mistake("avg_missing_scale", ["dx"], "1/(kh*kw) missing in the backward",
         "every pixel of a window gets dout / (kh*kw) in the backward: the 1/(kh*kw) is missing")
def _avg_missing_scale(run, value, got):
    kh, kw = geometry(run).kernel
    return close(got, run.expected[value] * kh * kw)


# ----------------------------------------------------------------- dilation, matrices
@mistake("dilate_d_zeros", ["w_dilated"], "d zeros instead of d-1",
         "your kernel has d zeros between taps; dilation d puts d-1 zeros between them (taps d apart): "
         "size d*(k-1)+1")
def _dilate_d_zeros(run, value, got):
    w = run.inputs["w"]
    dh, dw = geometry(run).dilation
    shape = w.shape[:2] + ((dh + 1) * (w.shape[2] - 1) + 1, (dw + 1) * (w.shape[3] - 1) + 1)
    return arr(got, 4) and got.shape == shape


def toeplitz_unshifted(run):
    """T whose rows read input pixel i*s + kh*d (no - p), with the padded output size."""
    o, g = oracle(), geometry(run)
    c, h, wd = (int(v) for v in run.options["input_size"])
    eye = o.torch.eye(c * h * wd, dtype=o.torch.float64).reshape(c * h * wd, c, h, wd)
    eye = o.F.pad(eye, (0, 2 * g.padding[1], 0, 2 * g.padding[0]))
    out = o.F.conv2d(eye, o.tensor(run.inputs["w"]), stride=g.stride, dilation=g.dilation)
    return out.reshape(c * h * wd, -1).T.contiguous().numpy()


@mistake("toeplitz_transposed", ["T"], "Toeplitz T transposed",
         "your T is transposed: T has one ROW per output value and one column per input value, shape "
         "(F*H_out*W_out, C*H*W), so that T @ x.ravel() is the convolution")
def _toeplitz_transposed(run, value, got):
    e = run.expected[value]
    return arr(got, 2) and got.shape == e.shape[::-1] and (got.shape != e.shape or close(got, e.T))


@mistake("toeplitz_ignores_padding", ["T"], "padding ignored in T",
         "your T ignores the padding: row (f, i, j) reads input pixel (i*s - p + kh*d, j*s - p + kw*d), and the "
         "columns of padded pixels (outside the input) are simply dropped")
def _toeplitz_ignores_padding(run, value, got):
    if not nonzero(geometry(run).padding):
        return False
    if close(got, run.memo("unshifted", lambda: toeplitz_unshifted(run))):
        return True
    return close(got, run.variant(options={"padding": 0})[value])


@mistake("im2col_order", ["cols"], "im2col rows ordered (kh, kw, c)",
         "your rows are ordered (kh, kw, c), channel fastest; F.unfold orders them (c, kh, kw): channel slowest, "
         "then kernel row, then kernel column")
def _im2col_order(run, value, got):
    e = run.expected[value]
    kh, kw = geometry(run).kernel
    n, ckk, blocks = e.shape
    ref = e.reshape(n, ckk // (kh * kw), kh, kw, blocks).transpose(0, 2, 3, 1, 4).reshape(n, ckk, blocks)
    return close(got, ref)


@mistake("col2im_fancy_add", ["x"], "fancy-index += in col2im",
         "where patches overlap your image holds ONE patch's value instead of their sum: a fancy-index "
         "x[rows, cols] += v adds each repeated index only once; use np.add.at, or loop over the kernel taps "
         "with a slice += per tap")
def _col2im_fancy_add(run, value, got):
    if not overlapping(geometry(run)):
        return False
    targets, values = run.memo("contributions", lambda: contributions(run))
    return single_contributions(got, run.expected[value], targets, values)


# ----------------------------------------------------------------- upsampling, FCN
@mistake("nearest_tiles", ["out"], "the image tiled, not each pixel",
         "your output repeats the WHOLE image (np.tile); nearest upsampling repeats each PIXEL into an s x s "
         "block (np.repeat along H, then along W)")
def _nearest_tiles(run, value, got):
    sh, sw = geometry(run).stride
    return close(got, np.tile(run.inputs["x"], (1, 1, sh, sw)))


@mistake("nearest_backward_one", ["dx"], "one element of each block, not the sum",
         "dx takes ONE element of each s x s block of dout; each input pixel was copied to the whole block, so "
         "its gradient is the SUM of dout over the block")
def _nearest_backward_one(run, value, got):
    sh, sw = geometry(run).stride
    return any(close(got, run.dout[:, :, a::sh, b::sw]) for a in range(sh) for b in range(sw))


@mistake("nails_not_top_left", ["out"], "the nail not at the top-left",
         "your values sit at another position of their s x s block; bed of nails puts each value at the "
         "TOP-LEFT of its block (out[..., ::s, ::s] = x) and zeros elsewhere")
def _nails_not_top_left(run, value, got):
    x = run.inputs["x"]
    sh, sw = geometry(run).stride
    for a in range(sh):
        for b in range(sw):
            if (a, b) != (0, 0):
                ref = np.zeros_like(run.expected[value])
                ref[:, :, a::sh, b::sw] = x
                if close(got, ref):
                    return True
    return False


@mistake("unpool_output_size", ["out"], "output_size ignored",
         "your output has the default size; when output_size (H, W) is given it sets the output size")
def _unpool_output_size(run, value, got):
    g = geometry(run)
    if g.output_size is None or not wrong_size(got, run.expected[value]):
        return False
    return spatial(got) == tuple((g.size[a] - 1) * g.stride[a] - 2 * g.padding[a] + g.kernel[a] for a in range(2))


@mistake("unpool_scatter", ["dx"], "the backward scatters instead of gathering",
         "dx is wrong exactly where several inputs share one index (overlapping pools, ties): the backward "
         "GATHERS, dx[n, c, i, j] = dout[n, c].flat[indices[n, c, i, j]], so every input reads its own index")
def _unpool_scatter(run, value, got):
    e, idx = run.expected[value], run.inputs["indices"]
    if not (arr(got) and got.shape == e.shape):
        return False
    planes = idx.shape[0] * idx.shape[1]
    flat = idx.reshape(planes, -1)
    shared = np.array([np.bincount(f, minlength=int(f.max()) + 1)[f] >= 2 for f in flat])
    bad = ~np.isclose(got, e, rtol=1e-6, atol=1e-7).reshape(planes, -1)
    return bool(bad.any() and shared[bad].all())


@mistake("fc_reshape_order", ["w_conv"], "weights reshaped channels-last",
         "x.reshape(N, -1) of an NCHW input flattens in (C, H, W) order, so each row of weight reshapes to "
         "(C, H, W): w_conv = weight.reshape(K, C, H, W), not (K, H, W, C)")
def _fc_reshape_order(run, value, got):
    weight = run.inputs["weight"]
    c, h, w = (int(v) for v in run.options["input_size"])
    return close(got, weight.reshape(-1, h, w, c).transpose(0, 3, 1, 2))
