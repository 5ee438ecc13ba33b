"""Known mistakes of convolutions: forward, transposed, and their backward (entries of the catalogue)."""

import numpy as np

from ..sizes import geometry, overlapping
from .catalogue import (
    arr,
    close,
    contributions,
    crop,
    mistake,
    nonzero,
    not_one,
    oracle,
    single_contributions,
    spatial,
    wrong_size,
)


# The output sizes as the docstrings write them (a transposed convolution's spells its options out).
CONV_HO = "Ho = (H + 2*ph - dh*(KH - 1) - 1) // sh + 1"
POOL_HO = "Ho = (H + 2*ph - KH) // sh + 1"
TCONV_HO = "Ho = (H - 1)*stride_h - 2*pad_h + dil_h*(KH - 1) + output_padding_h + 1"


# ----------------------------------------------------------------- convolutions (forward)
@mistake("kernel_flipped", ["out"], "kernel flipped", {
    "": "your output matches the result with the kernel flipped (a true convolution); conv2d, like torch's, is a "
        "cross-correlation: out[n, f, oh, ow] adds up w[f, c, i, j] * x_padded[n, c, oh*sh + i*dh, ow*sw + j*dw] "
        "with w as it is (no w[:, :, ::-1, ::-1])",
    "tconv": "your output matches the transposed convolution with the kernel flipped. Scattering: input pixel "
             "(h, w) adds w[c_in, :, i, j] * x[n, c_in, h, w] to output pixel (h*stride_h + i*dil_h - pad_h, "
             "w*stride_w + j*dil_w - pad_w), with w as it is; written as a convolution of the zero-inserted, "
             "padded input instead, that convolution needs the kernel flipped (w[:, :, ::-1, ::-1]) and its axes "
             "0 and 1 swapped"})
def _kernel_flipped(run, value, got):
    w = run.inputs["w"]
    return close(got, run.variant(inputs={"w": np.ascontiguousarray(w[:, :, ::-1, ::-1])})[value])


@mistake("hw_swapped", ["out", "T"], "H and W swapped", {
    "": "your result matches H and W swapped (in stride, padding or dilation, or in the output itself): a pair "
        "(sh, sw) means sh along H (axis 2, rows) and sw along W (axis 3, columns); Ho comes from H, KH, sh, ph, "
        "dh and Wo from W, KW, sw, pw, dw, and loops over output rows run to Ho, over columns to Wo",
    "pool": "your output matches H and W swapped (in kernel_size, stride or padding, or in the output itself): a "
            "pair (KH, KW) means KH along H (axis 2, rows) and KW along W (axis 3, columns); Ho comes from H, KH, "
            "sh, ph and Wo from W, KW, sw, pw, and loops over output rows run to Ho, over columns to Wo",
    "tconv": "your output matches H and W swapped (in stride, padding, output_padding or dilation, or in the "
             "output itself): a pair (stride_h, stride_w) means stride_h along H (axis 2, rows) and stride_w along "
             "W (axis 3, columns); Ho comes from H, KH, stride_h, pad_h, dil_h, output_padding_h and Wo from the "
             "W ones"})
def _hw_swapped(run, value, got):
    swapped = {k: v[::-1] for k, v in run.options.items()
               if k in ("stride", "padding", "dilation", "output_padding", "kernel_size") and isinstance(v, tuple)}
    changed = {k: v for k, v in swapped.items() if v != run.options[k]}
    if changed:
        try:
            if close(got, run.variant(options=changed, backward=False)[value]):
                return True
        except Exception:  # noqa: BLE001 - torch refuses the swapped options
            pass
    e = run.expected[value]
    return wrong_size(got, e) and spatial(got) == spatial(e)[::-1]


@mistake("bias_missing", ["out"], "bias not added", {
    "": "your output matches the result without the bias: add b[f] to every output pixel of filter f, "
        "out[:, f] += b[f]",
    "tconv": "your output matches the result without the bias: add b[c_out] to every output pixel of output "
             "channel c_out, out[:, c_out] += b[c_out]"})
def _bias_missing(run, value, got):
    return run.inputs.get("b") is not None and close(got, run.variant(inputs={"b": None})[value])


@mistake("bias_twice", ["out"], "bias added twice", {
    "": "your output matches the result with the bias added twice: add b[f] once per output pixel, after the "
        "sum over the window",
    "tconv": "your output matches the result with the bias added twice: add b[c_out] once per output pixel, "
             "after every input pixel has scattered its contribution"})
def _bias_twice(run, value, got):
    b = run.inputs.get("b")
    return b is not None and close(got, run.expected[value] + b.reshape(1, -1, 1, 1))


@mistake("size_not_floor", ["out"], "output size rounded up", {
    "": "the output size is rounded up (ceil or round) instead of down: " + CONV_HO + " with floor "
        "division (//), so a last window that does not fit is dropped",
    "pool": "the output size is rounded up (ceil or round) instead of down: " + POOL_HO + " with floor division "
            "(//), so a last window that does not fit is dropped"})
def _size_not_floor(run, value, got):
    e, g = run.expected[value], geometry(run)
    if g is None or g.kind not in ("conv", "pool") or not wrong_size(got, e):
        return False
    for a in range(2):
        q = g.size[a] + 2 * g.padding[a] - g.dilation[a] * (g.kernel[a] - 1) - 1
        s = g.stride[a]
        allowed = {q // s + 1, -(-q // s) + 1, round(q / s) + 1, int(q / s + 0.5) + 1}
        if got.shape[2 + a] not in allowed:
            return False
    return True


@mistake("size_ignores_padding", ["out"], "padding left out of the output size", {
    "": "the output has the size of an unpadded input: the padding counts in the output size, " + CONV_HO,
    "pool": "the output has the size of an unpadded input: the padding counts in the output size, " + POOL_HO})
def _size_ignores_padding(run, value, got):
    e, g = run.expected[value], geometry(run)
    if g is None or g.kind not in ("conv", "pool") or not nonzero(g.padding) or not wrong_size(got, e):
        return False
    return spatial(got) == tuple(g.conv_out(a, padding=0) for a in range(2))


@mistake("height_for_width", ["out"], "a height used for a width", {
    "": "one output axis has the size you get from the OTHER axis's numbers (e.g. Wo from H, KH, sh or ph): "
        "compute Ho from H, KH, sh, ph, dh and Wo from W, KW, sw, pw, dw",
    "pool": "one output axis has the size you get from the OTHER axis's numbers (e.g. Wo from H, KH, sh or ph): "
            "compute Ho from H, KH, sh, ph and Wo from W, KW, sw, pw"})
def _height_for_width(run, value, got):
    e, g = run.expected[value], geometry(run)
    if g is None or g.kind not in ("conv", "pool") or not wrong_size(got, e):
        return False
    for a in range(2):
        b = 1 - a
        if got.shape[2 + b] != e.shape[2 + b] or got.shape[2 + a] == e.shape[2 + a]:
            continue
        terms = [(g.size[a], g.size[b]), (g.kernel[a], g.kernel[b]), (g.stride[a], g.stride[b]),
                 (g.padding[a], g.padding[b]), (g.dilation[a], g.dilation[b])]
        for mask in range(1, 32):  # which terms come from the other axis
            n, k, s, p, d = (t[1] if mask >> i & 1 else t[0] for i, t in enumerate(terms))
            if (n + 2 * p - d * (k - 1) - 1) // s + 1 == got.shape[2 + a]:
                return True
    return False


@mistake("dilated_kernel_size", ["out"], "dilated kernel size wrong",
         "the output has the size of a kernel spanning KH or dh*KH pixels; KH taps dilated by dh span "
         "dh*(KH - 1) + 1 pixels: " + CONV_HO)
def _dilated_kernel_size(run, value, got):
    e, g = run.expected[value], geometry(run)
    if g is None or not not_one(g.dilation) or not wrong_size(got, e):
        return False
    spans = (lambda a: g.kernel[a], lambda a: g.dilation[a] * g.kernel[a])
    return any(spatial(got) == tuple(g.conv_out(a, span=span(a)) for a in range(2)) for span in spans)


# ----------------------------------------------------------------- transposed convolution (forward)
@mistake("output_padding_both_sides", ["out"], "output_padding on both sides",
         "your output has output_padding rows/columns added on BOTH sides; they are added once, at the "
         "bottom/right: " + TCONV_HO)
def _output_padding_both_sides(run, value, got):
    e, g = run.expected[value], geometry(run)
    return (nonzero(g.output_padding) and wrong_size(got, e)
            and spatial(got) == tuple(e.shape[2 + a] + g.output_padding[a] for a in range(2)))


@mistake("output_padding_ignored", ["out"], "output_padding ignored",
         "your output lacks the output_padding rows/columns (extra rows/columns at the bottom/right): " + TCONV_HO)
def _output_padding_ignored(run, value, got):
    e, g = run.expected[value], geometry(run)
    return (nonzero(g.output_padding) and wrong_size(got, e)
            and spatial(got) == tuple(e.shape[2 + a] - g.output_padding[a] for a in range(2)))


@mistake("tconv_padding_not_cropped", ["out"], "padding added, not cropped",
         "in a transposed convolution the padding CROPS pad_h rows and pad_w columns from each side of the "
         "output: " + TCONV_HO + "; your output is larger by 2*pad or 4*pad")
def _tconv_padding_not_cropped(run, value, got):
    e, g = run.expected[value], geometry(run)
    if not nonzero(g.padding) or not wrong_size(got, e):
        return False
    return any(spatial(got) == tuple(e.shape[2 + a] + m * g.padding[a] for a in range(2)) for m in (2, 4))


@mistake("tconv_weight_axes", ["out"], "transposed weights read as (C_out, C_in)",
         "a transposed convolution's weights are (C_in, C_out, KH, KW): axis 0 matches x's channels and axis 1 "
         "gives the output channels (the opposite of conv2d's (F, C, KH, KW)): input pixel (h, w) adds "
         "w[c_in, :, i, j] * x[n, c_in, h, w]")
def _tconv_weight_axes(run, value, got):
    w, e = run.inputs["w"], run.expected[value]
    if w.shape[0] == w.shape[1]:
        swapped = run.memo("w_swapped", lambda: np.ascontiguousarray(w.swapaxes(0, 1)))
        if close(got, run.variant(inputs={"w": swapped})[value]):
            return True
    return arr(got, 4) and got.shape[1] == w.shape[0] != e.shape[1]


# ----------------------------------------------------------------- backward of convolutions
@mistake("grad_mean_not_sum", ["grad"], "mean instead of sum",
         "this gradient is the right one divided by the batch size (or by every summed position): gradients of "
         "shared weights and biases are SUMS over the batch and the positions, not means")
def _grad_mean_not_sum(run, value, got):
    n, ho, wo = run.dout.shape[0], run.dout.shape[2], run.dout.shape[3]
    e = run.expected[value]
    return any(m > 1 and close(got, e / m) for m in {n, n * ho * wo, ho * wo})


@mistake("grad_last_sample", ["dw"], "one sample's gradient, not the batch's",
         "dw matches the gradient of one sample alone: sum it over the batch (dw += ... in a loop over n, "
         "or sum over axis 0)")
def _grad_last_sample(run, value, got):
    x = run.inputs["x"]
    if x.shape[0] < 2:
        return False
    for keep in (x.shape[0] - 1, 0):
        alone = np.zeros_like(x)
        alone[keep] = x[keep]
        ref = run.memo(("one_sample", keep), lambda: run.variant(inputs={"x": alone})[value])
        if close(got, ref):
            return True
    return False


@mistake("crop_p_minus_p", ["dx"], "[p:-p] with p = 0",
         "dx is EMPTY along an axis whose padding is 0: dx_pad[:, :, ph:-ph] is dx_pad[:, :, 0:0] when ph = 0; "
         "crop with dx_pad[:, :, ph:ph + H, pw:pw + W]")
def _crop_p_minus_p(run, value, got):
    e, g = run.expected[value], geometry(run)
    return wrong_size(got, e) and any(g.padding[a] == 0 and got.shape[2 + a] == 0 for a in range(2))


@mistake("dx_not_cropped", ["dx"], "padding not cropped from dx",
         "dx has the shape of the PADDED input: crop the padding off, dx = dx_pad[:, :, ph:ph + H, pw:pw + W]")
def _dx_not_cropped(run, value, got):
    e, g = run.expected[value], geometry(run)
    return (nonzero(g.padding) and wrong_size(got, e)
            and spatial(got) == tuple(e.shape[2 + a] + 2 * g.padding[a] for a in range(2)))


@mistake("crop_fixed", ["dx"], "padding cropped by a fixed amount",
         "dx is cropped by the same fixed number of rows/columns whatever the padding (e.g. [1:-1]): crop "
         "exactly the padding, dx = dx_pad[:, :, ph:ph + H, pw:pw + W]")
def _crop_fixed(run, value, got):
    e, g = run.expected[value], geometry(run)
    if not wrong_size(got, e) or run.part.oracle != "conv2d":
        return False
    extra = [got.shape[2 + a] - e.shape[2 + a] - 2 * g.padding[a] for a in range(2)]
    # an empty axis is [p:-p] with p = 0 (crop_p_minus_p), not a fixed crop
    if not (extra[0] == extra[1] and extra[0] % 2 == 0 and extra[0] < 0 and min(spatial(got)) > 0):
        return False
    k = -extra[0] // 2  # the same k rows and columns off every side of the padded gradient: its values too
    full = run.memo(("dx", "padded"), lambda: conv_dx(run, g.stride, g.dilation, cropped=False))
    return close(got, full[:, :, k:k + got.shape[2], k:k + got.shape[3]])


def interior(g, out_size):
    """(rows, cols) of the input pixels that every kernel tap reads in some window: (k-1)*d - p .. (n_out-1)*s - p."""
    return tuple(np.arange(g.size[a])[(np.arange(g.size[a]) >= g.dilation[a] * (g.kernel[a] - 1) - g.padding[a])
                                      & (np.arange(g.size[a]) <= (out_size[a] - 1) * g.stride[a] - g.padding[a])]
                 for a in range(2))


@mistake("dx_border_zero", ["dx"], "the border of dx left at zero",
         "dx is right inside and ZERO on the border, where some taps (i, j) of the kernel have no window: a "
         "border pixel still gets the gradient of every window that reads it (scatter each window's share into "
         "a zero-padded dx and crop it, or check the bounds tap by tap)")
def _dx_border_zero(run, value, got):
    e, g = run.expected[value], geometry(run)
    if not (arr(got) and got.shape == e.shape):
        return False
    rows, cols = interior(g, run.dout.shape[2:])
    inside = np.zeros(e.shape[2:], dtype=bool)
    inside[np.ix_(rows, cols)] = True
    bad = ~np.isclose(got, e, rtol=1e-6, atol=1e-7)
    return bool(inside.any() and bad.any() and not bad[..., inside].any() and (got[bad] == 0).all())


def conv_dx(run, stride, dilation, cropped=True):
    """conv2d's dx folded back with ``stride`` and ``dilation`` (col2im of w^T dout), cropped by the padding
    (``cropped``; else the gradient of the padded input)."""
    o, g = oracle(), geometry(run)
    x, w = run.inputs["x"], run.inputs["w"]
    t = o.F.conv_transpose2d(o.tensor(run.dout), o.tensor(w), stride=stride, dilation=dilation).numpy()
    full = np.zeros(x.shape[:2] + tuple(x.shape[2 + a] + 2 * g.padding[a] for a in range(2)))
    h, wd = min(t.shape[2], full.shape[2]), min(t.shape[3], full.shape[3])
    full[:, :, :h, :wd] = t[:, :, :h, :wd]
    return crop(full, g) if cropped else full


def tconv_dx(run, stride, dilation):
    """conv_transpose2d's dx (a convolution of dout) gathered with ``stride`` and ``dilation``."""
    o, g = oracle(), geometry(run)
    x, w = run.inputs["x"], run.inputs["w"]
    t = o.F.conv2d(o.tensor(run.dout), o.tensor(w), stride=stride, padding=g.padding, dilation=dilation).numpy()
    out = np.zeros_like(x)
    h, wd = min(t.shape[2], x.shape[2]), min(t.shape[3], x.shape[3])
    out[:, :, :h, :wd] = t[:, :, :h, :wd]
    return out


def backward_variant(run, stride=None, dilation=None):
    g = geometry(run)
    s, d = stride or g.stride, dilation or g.dilation
    fn = {"conv2d": conv_dx, "conv_transpose2d": tconv_dx}[run.part.oracle]
    return run.memo(("dx", s, d), lambda: fn(run, s, d))


@mistake("backward_ignores_stride", ["dx"], "stride ignored in the backward", {
    "": "dx matches the gradient folded back with stride 1: the window of output pixel (oh, ow) starts at row "
        "oh*sh and column ow*sw of the padded input, in the backward exactly as in the forward",
    "tconv": "dx matches the gradient gathered with stride 1: input pixel (h, w) sent tap (i, j) to output "
             "pixel (h*stride_h + i*dil_h - pad_h, w*stride_w + j*dil_w - pad_w), so dx[n, c_in, h, w] gathers "
             "dout from exactly those pixels, stride included"})
def _backward_ignores_stride(run, value, got):
    return not_one(geometry(run).stride) and close(got, backward_variant(run, stride=(1, 1)))


@mistake("backward_ignores_dilation", ["dx"], "dilation ignored in the backward", {
    "": "dx matches the gradient sent to adjacent taps: tap (i, j) sits i*dh rows and j*dw columns from the "
        "window's corner, in the backward exactly as in the forward",
    "tconv": "dx matches the gradient gathered from adjacent taps: tap (i, j) of input pixel (h, w) landed "
             "i*dil_h rows and j*dil_w columns from (h*stride_h - pad_h, w*stride_w - pad_w), in the backward "
             "exactly as in the forward"})
def _backward_ignores_dilation(run, value, got):
    return not_one(geometry(run).dilation) and close(got, backward_variant(run, dilation=(1, 1)))


@mistake("overwrite_not_accumulate", ["dx"], "= instead of += where windows overlap",
         "dx is right except where windows overlap, and there it holds ONE window's share instead of their sum: "
         "accumulate with += (or np.add.at / np.bincount), never assign with = (a fancy-index "
         "dx[idx] = ... or dx[idx] += ... keeps one value per repeated index)")
def _overwrite_not_accumulate(run, value, got):
    g = geometry(run)
    if not overlapping(g):
        return False
    targets, values = run.memo("contributions", lambda: contributions(run))
    return single_contributions(got, run.expected[value], targets, values)
