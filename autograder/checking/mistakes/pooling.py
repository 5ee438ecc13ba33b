"""Known mistakes of max and average pooling (entries of the catalogue: catalogue.py says what one is)."""

import numpy as np

from ..sizes import geometry
from .catalogue import arr, close, crop, mistake, nonzero, oracle, padded, taps


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
         "update the running maximum only on a strictly greater value (>, not >=)", refines=["ties_first_max"])
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
         "your indices are positions INSIDE each window (0 .. KH*KW - 1); torch wants the flat position "
         "row * W + col of the maximum in the whole (unpadded) H x W input plane")
def _indices_in_window(run, value, got):
    g, _, _, r, c = window_position(run, run.expected[value])
    return arr(got) and got.shape == r.shape and np.array_equal(got, r * g.kernel[1] + c)


@mistake("indices_padded", ["indices"], "indices in padded coordinates",
         "your indices are positions in the PADDED plane, (row + ph) * (W + 2*pw) + (col + pw); torch's are in the "
         "unpadded input: row * W + col")
def _indices_padded(run, value, got):
    g, rows, cols, _, _ = window_position(run, run.expected[value])
    ref = (rows + g.padding[0]) * (g.size[1] + 2 * g.padding[1]) + cols + g.padding[1]
    return nonzero(g.padding) and arr(got) and got.shape == ref.shape and np.array_equal(got, ref)


@mistake("count_include_pad", ["out", "dx"], "padding left out of the average",
         "your result divides by the number of REAL pixels in each window; torch's default counts the zero "
         "padding too (count_include_pad=True): divide by KH * KW everywhere")
def _count_include_pad(run, value, got):
    return (nonzero(geometry(run).padding)
            and close(got, run.variant(options={"count_include_pad": False})[value]))


@mistake("avg_missing_scale", ["dx"], "1/(KH*KW) missing in the backward",
         "every pixel of a window gets dout / (KH * KW) in the backward: the 1/(KH * KW) is missing")
def _avg_missing_scale(run, value, got):
    kh, kw = geometry(run).kernel
    return close(got, run.expected[value] * kh * kw)
