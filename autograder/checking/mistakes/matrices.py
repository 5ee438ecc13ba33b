"""Known mistakes of dilation, receptive fields and convolution as a matrix: Toeplitz, im2col, col2im."""

import math

import numpy as np

from ..sizes import geometry, overlapping
from .catalogue import arr, close, contributions, mistake, nonzero, oracle, single_contributions


# ----------------------------------------------------------------- dilation, matrices
@mistake("dilate_d_zeros", ["w_dilated"], "d zeros instead of d-1",
         "your kernel has dh zeros between taps; dilation dh puts dh - 1 zero rows between neighbouring kernel "
         "rows (taps dh apart, w_dilated[:, :, dh*i, dw*j] = w[:, :, i, j]): size dh*(KH - 1) + 1")
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
         "(F*Ho*Wo, C*H*W), so that T @ x[n].ravel() is the convolution of sample n")
def _toeplitz_transposed(run, value, got):
    e = run.expected[value]
    return arr(got, 2) and got.shape == e.shape[::-1] and (got.shape != e.shape or close(got, e.T))


@mistake("toeplitz_ignores_padding", ["T"], "padding ignored in T",
         "your T ignores the padding: row (f, oh, ow) holds w[f, c, i, j] in column (c, h, w) with "
         "h = oh*stride_h - pad_h + i*dil_h and w = ow*stride_w - pad_w + j*dil_w; taps that fall into the "
         "padding (outside the input) have no column and are simply dropped")
def _toeplitz_ignores_padding(run, value, got):
    if not nonzero(geometry(run).padding):
        return False
    if close(got, run.memo("unshifted", lambda: toeplitz_unshifted(run))):
        return True
    return close(got, run.variant(options={"padding": 0})[value])


@mistake("im2col_order", ["cols"], "im2col rows ordered (i, j, c)",
         "your rows are ordered (i, j, c), channel fastest; im2col, like F.unfold, orders them (c, i, j): "
         "cols[n, (c*KH + i)*KW + j, oh*Wo + ow], channel slowest, then kernel row i, then kernel column j")
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


@mistake("col2im_mean_overlaps", ["x"], "overlapping patches averaged",
         "where patches overlap your image holds the MEAN of their values; col2im, like F.fold, adds them up: "
         "accumulate with += and never divide by the number of patches that cover a pixel")
def _col2im_mean_overlaps(run, value, got):
    if not overlapping(geometry(run)):
        return False
    count = run.variant(inputs={"cols": run.memo("ones", lambda: np.ones_like(run.inputs["cols"]))})[value]
    return close(got, run.expected[value] / np.maximum(count, 1))


def packed_blocks(run):
    """col2im's x with the patches put side by side (as if the stride were the kernel size), from the top-left."""
    g = geometry(run)
    cols = run.inputs["cols"]
    (kh, kw), (ph, pw), (h, w) = g.kernel, g.padding, g.size
    ho, wo = (g.conv_out(a) for a in range(2))
    n, ckk, _ = cols.shape
    c = ckk // (kh * kw)
    tiles = cols.reshape(n, c, kh, kw, ho, wo).transpose(0, 1, 4, 2, 5, 3).reshape(n, c, ho * kh, wo * kw)
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw))
    rows, columns = min(ho * kh, out.shape[2]), min(wo * kw, out.shape[3])
    out[:, :, :rows, :columns] = tiles[:, :, :rows, :columns]
    return out[:, :, ph:ph + h, pw:pw + w]


@mistake("col2im_packed_blocks", ["x"], "patches packed side by side",
         "your patches sit side by side, as if the stride were the kernel size: patch (oh, ow) belongs at rows "
         "oh*sh - ph + i*dh and columns ow*sw - pw + j*dw, so with a stride larger than the kernel there are gaps "
         "between the patches (pixels no window covers, which stay 0)")
def _col2im_packed_blocks(run, value, got):
    g = geometry(run)
    if not any(g.stride[a] != g.kernel[a] for a in range(2)) or g.dilation != (1, 1):
        return False
    return close(got, run.memo("packed_blocks", lambda: packed_blocks(run)))


# ----------------------------------------------------------------- receptive fields
def fields_with(run, jump_of):
    """The receptive fields of the case's layers when layer l's growth (k_l - 1) * d_l is multiplied by
    ``jump_of(strides, l)`` input pixels."""
    ks = [int(k) for k in run.case["kernel_sizes"]]
    ss = [int(s) for s in run.case.get("strides") or [1] * len(ks)]
    ds = [int(d) for d in run.case.get("dilations") or [1] * len(ks)]
    out, r = [], 1
    for layer, (k, d) in enumerate(zip(ks, ds)):
        r += (k - 1) * d * jump_of(ss, layer)
        out.append(r)
    return out


def strided(run):
    return any(int(s) != 1 for s in run.case.get("strides") or [])


@mistake("rf_ignores_strides", ["fields"], "strides left out",
         "each layer l widens the field by (k_l - 1) * d_l steps of J_l input pixels, and J_l = s_1 * ... * "
         "s_(l-1) is the product of the strides BEFORE layer l: r_l = r_(l-1) + (k_l - 1) * d_l * J_l")
def _rf_ignores_strides(run, value, got):
    return strided(run) and list(got) == fields_with(run, lambda ss, layer: 1)


@mistake("rf_stride_too_early", ["fields"], "a layer's own stride counted",
         "J_l = s_1 * ... * s_(l-1) holds the strides BEFORE layer l, not its own: add layer l's growth "
         "(k_l - 1) * d_l * J_l first, then multiply the jump by s_l")
def _rf_stride_too_early(run, value, got):
    return strided(run) and list(got) == fields_with(run, lambda ss, layer: math.prod(ss[:layer + 1]))
