"""The catalogue of known mistakes: each one recognised from the evidence of one case, and what to tell
the student.

A part's ``mistakes:`` in the case table names entries of ``MISTAKES``, most specific first. An entry
says which returned values it can explain (``on``: value names such as ``out`` or ``indices``; ``grad``
means every gradient) and when its evidence holds: ``test(run, name, got)`` gets the case's evidence
(``layer.CaseRun``: the grader's inputs and options, the oracle's answers, the upstream gradient, and
``variant(...)``, which recomputes the oracle with some inputs or options changed) and returns True
when the student's wrong value is what the mistake produces: the buggy variant recomputed on the
grader's own inputs (torch or numpy, here, on the grader's side), or a structural fact such as "dx is
empty along an axis whose padding is 0". It never runs student code.
In grade-all, ``run.variant`` and ``run.memo`` are computed once per batch (oracle_cache.py): what they
compute must come from the evidence only, never from ``got`` (compare ``got`` with it afterwards).

A wrong value gets the first entry of its part's list whose evidence holds; a case names at most one
mistake (the first value's), so a consequence of a forward mistake is not diagnosed again in the
gradient. ``general`` entries are advice, not a diagnosis: they are labelled so, and shown only on a
case where no mistake was recognised, so they never contradict one.

A new known mistake is one entry here, its name in the part's ``mistakes:`` list, and a mutant in
tests/mutants/ whose ``NAMED`` proves that a visible case names it.
"""

from dataclasses import dataclass

import numpy as np

from .compare import matches
from .sizes import geometry, overlapping

MISTAKES = {}


@dataclass(frozen=True)
class Mistake:
    name: str
    on: tuple
    test: object
    title: str  # a few words, for the summary and the score table
    text: str  # what the mistake is and how to fix it
    general: bool = False

    def concerns(self, value_name):
        return value_name in self.on or ("grad" in self.on and value_name.startswith(("d", "grads[")))

    def line(self):
        if self.general:
            return f"hint (general advice, not a diagnosis): {self.text}"
        return f"likely mistake: {self.title} [{self.name}]: {self.text}"


def mistake(name, on, title, text):
    def register(test):
        MISTAKES[name] = Mistake(name, tuple(on), test, title, text)
        return test

    return register


def advice(name, on, text, when=lambda run: True):
    """General advice: offered on a wrong value when ``when`` holds and no mistake was recognised."""
    MISTAKES[name] = Mistake(name, tuple(on), lambda run, value, got: when(run), "general advice", text, True)


def diagnose(names, run, value_name, got):
    """(the first mistake among ``names`` whose evidence holds for ``got``, [general advice that applies])."""
    advised = []
    for n in names:
        m = MISTAKES[n]
        if not m.concerns(value_name):
            continue
        try:
            hit = bool(m.test(run, value_name, got))
        except Exception:  # noqa: BLE001 - evidence that cannot be evaluated on this value does not hold
            continue
        if hit and m.general:
            advised.append(m)
        elif hit:
            return m, advised
    return None, advised


# ----------------------------------------------------------------- helpers
def nonzero(v):
    return v not in (None, 0, (0, 0))


def not_one(v):
    return v not in (None, 1, (1, 1))


def arr(v, ndim=None):
    return isinstance(v, np.ndarray) and (ndim is None or v.ndim == ndim)


def close(got, ref):
    """The student's value is the mistake's value (shape and values, at the gradients' tolerance)."""
    return ref is not None and matches(got, np.asarray(ref), rtol=1e-6)


def spatial(a):
    return tuple(a.shape[2:])


def wrong_size(got, expected):
    """A 4-D array with the right N and C and the wrong (H, W): what the size mistakes explain."""
    return (arr(got, 4) and expected.ndim == 4 and got.shape[:2] == expected.shape[:2]
            and spatial(got) != spatial(expected))


def padded(x, padding, value=0.0):
    ph, pw = padding
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def taps(g, out_size):
    """(i, j, slices of the padded input that kernel tap (i, j) reads across all windows), row-major."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = g.kernel, g.stride, g.dilation, out_size
    for i in range(kh):
        for j in range(kw):
            yield i, j, (..., slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
                         slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))


def crop(a, g):
    (ph, pw), (h, w) = g.padding, g.size
    return a[:, :, ph:ph + h, pw:pw + w]


def oracle():
    from . import oracle as module  # torch: already imported by the time a value is judged

    return module


def single_contributions(got, expected, targets, values):
    """True when every wrong element of ``got`` is one that several contributions share and holds just
    ONE of them: ``=`` (or a buffered fancy-index ``+=``) where the contributions must add up.

    targets: (P, M) flat index in each of the P planes of ``expected`` (-1: outside) of M contributions,
    values: (P, M) the contributions."""
    if not (arr(got) and got.shape == expected.shape):
        return False
    planes = targets.shape[0]
    size = expected.size // planes
    g, e = got.reshape(planes, size), expected.reshape(planes, size)
    bad = ~np.isclose(g, e, rtol=1e-6, atol=1e-7)
    if not bad.any():
        return False
    inside = targets >= 0
    offsets = np.arange(planes)[:, None] * size
    flat = (targets + offsets)[inside]
    count = np.bincount(flat, minlength=planes * size).reshape(planes, size)
    hit = np.isclose(np.take_along_axis(g, np.where(inside, targets, 0), axis=1), values, rtol=1e-6, atol=1e-7)
    holds = np.bincount(flat, weights=hit[inside], minlength=planes * size).reshape(planes, size) > 0
    return bool((count[bad] >= 2).all() and holds[bad].all())


def window_targets(g, out_size):
    """(KH*KW*Ho*Wo,) flat index in the unpadded H x W plane that each (tap, window) reads (-1: padding)."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (h, w) = g.kernel, g.stride, g.padding, g.dilation, g.size
    ho, wo = out_size
    rows = (np.arange(kh)[:, None, None, None] * dh + np.arange(ho)[None, None, :, None] * sh - ph)
    cols = (np.arange(kw)[None, :, None, None] * dw + np.arange(wo)[None, None, None, :] * sw - pw)
    rows, cols = np.broadcast_arrays(rows, cols)
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    return np.where(inside, rows * w + cols, -1).reshape(-1)


# ----------------------------------------------------------------- convolutions (forward)
@mistake("kernel_flipped", ["out"], "kernel flipped",
         "your output matches the result with the kernel flipped (a true convolution); torch's conv2d is a "
         "cross-correlation: use w[f, c, i, j] as it is, without flipping it")
def _kernel_flipped(run, value, got):
    w = run.inputs["w"]
    return close(got, run.variant(inputs={"w": np.ascontiguousarray(w[:, :, ::-1, ::-1])})[value])


@mistake("hw_swapped", ["out", "T"], "H and W swapped",
         "your output matches the result with H and W swapped (of stride/padding/dilation, or of the output "
         "itself): a pair (a, b) means a along H (axis 2, rows) and b along W (axis 3, columns); loops over rows "
         "run to H_out, over columns to W_out")
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


@mistake("bias_missing", ["out"], "bias not added",
         "your output matches the result without the bias: add b[f] to every output pixel of filter f")
def _bias_missing(run, value, got):
    return run.inputs.get("b") is not None and close(got, run.variant(inputs={"b": None})[value])


@mistake("bias_twice", ["out"], "bias added twice",
         "your output matches the result with the bias added twice: add b once, after the sum over the window")
def _bias_twice(run, value, got):
    b = run.inputs.get("b")
    return b is not None and close(got, run.expected[value] + b.reshape(1, -1, 1, 1))


@mistake("size_not_floor", ["out"], "output size rounded up",
         "the output size is rounded up (ceil or round) instead of down: H_out = (H + 2p - d(k-1) - 1) // s + 1 "
         "with floor division (//), so a last window that does not fit is dropped")
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


@mistake("size_ignores_padding", ["out"], "padding left out of the output size",
         "the output has the size of an unpadded input: the padding counts in the output size, "
         "H_out = (H + 2p - d(k-1) - 1) // s + 1")
def _size_ignores_padding(run, value, got):
    e, g = run.expected[value], geometry(run)
    if g is None or g.kind not in ("conv", "pool") or not nonzero(g.padding) or not wrong_size(got, e):
        return False
    return spatial(got) == tuple(g.conv_out(a, padding=0) for a in range(2))


@mistake("height_for_width", ["out"], "a height used for a width",
         "one output axis has the size you get from the OTHER axis's numbers (e.g. W_out from H, KH, sh or "
         "ph): compute H_out from H, KH, sh, ph, dh and W_out from W, KW, sw, pw, dw")
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
         "the output has the size of a kernel spanning k or d*k pixels; a kernel of k taps dilated by d spans "
         "d*(k-1)+1 pixels: H_out = (H + 2p - d(k-1) - 1) // s + 1")
def _dilated_kernel_size(run, value, got):
    e, g = run.expected[value], geometry(run)
    if g is None or not not_one(g.dilation) or not wrong_size(got, e):
        return False
    spans = (lambda a: g.kernel[a], lambda a: g.dilation[a] * g.kernel[a])
    return any(spatial(got) == tuple(g.conv_out(a, span=span(a)) for a in range(2)) for span in spans)


# ----------------------------------------------------------------- transposed convolution (forward)
@mistake("output_padding_both_sides", ["out"], "output_padding on both sides",
         "your output has output_padding rows/columns added on BOTH sides; torch adds them once, at the "
         "bottom/right: H_out = (H-1)*s - 2p + d(k-1) + output_padding + 1")
def _output_padding_both_sides(run, value, got):
    e, g = run.expected[value], geometry(run)
    return (nonzero(g.output_padding) and wrong_size(got, e)
            and spatial(got) == tuple(e.shape[2 + a] + g.output_padding[a] for a in range(2)))


@mistake("output_padding_ignored", ["out"], "output_padding ignored",
         "your output lacks the output_padding rows/columns: H_out = (H-1)*s - 2p + d(k-1) + output_padding + 1 "
         "(the extra rows/columns at the bottom/right)")
def _output_padding_ignored(run, value, got):
    e, g = run.expected[value], geometry(run)
    return (nonzero(g.output_padding) and wrong_size(got, e)
            and spatial(got) == tuple(e.shape[2 + a] - g.output_padding[a] for a in range(2)))


@mistake("tconv_padding_not_cropped", ["out"], "padding added, not cropped",
         "in a transposed convolution the padding CROPS p rows/columns from each side of the output: "
         "H_out = (H-1)*s - 2p + d(k-1) + output_padding + 1; your output is larger by 2p or 4p")
def _tconv_padding_not_cropped(run, value, got):
    e, g = run.expected[value], geometry(run)
    if not nonzero(g.padding) or not wrong_size(got, e):
        return False
    return any(spatial(got) == tuple(e.shape[2 + a] + m * g.padding[a] for a in range(2)) for m in (2, 4))


@mistake("tconv_weight_axes", ["out"], "transposed weights read as (C_out, C_in)",
         "a transposed convolution's weights are (C_in, C_out, KH, KW): axis 0 matches x's channels and axis 1 "
         "gives the output channels (the opposite of conv2d's (F, C, KH, KW))")
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
         "dx is EMPTY along an axis whose padding is 0: x_pad[..., p:-p] is x_pad[..., 0:0] when p = 0; crop "
         "with x_pad[..., p:p + H, q:q + W]")
def _crop_p_minus_p(run, value, got):
    e, g = run.expected[value], geometry(run)
    return wrong_size(got, e) and any(g.padding[a] == 0 and got.shape[2 + a] == 0 for a in range(2))


@mistake("dx_not_cropped", ["dx"], "padding not cropped from dx",
         "dx has the shape of the PADDED input: crop the padding off, dx = dx_pad[..., p:p + H, q:q + W]")
def _dx_not_cropped(run, value, got):
    e, g = run.expected[value], geometry(run)
    return (nonzero(g.padding) and wrong_size(got, e)
            and spatial(got) == tuple(e.shape[2 + a] + 2 * g.padding[a] for a in range(2)))


@mistake("crop_fixed", ["dx"], "padding cropped by a fixed amount",
         "dx is cropped by the same fixed number of rows/columns whatever the padding (e.g. [1:-1]): crop "
         "exactly the padding, dx = dx_pad[..., p:p + H, q:q + W]")
def _crop_fixed(run, value, got):
    e, g = run.expected[value], geometry(run)
    if not wrong_size(got, e):
        return False
    extra = [got.shape[2 + a] - e.shape[2 + a] - 2 * g.padding[a] for a in range(2)]
    return extra[0] == extra[1] and extra[0] % 2 == 0 and extra[0] < 0


def interior(g, out_size):
    """(rows, cols) of the input pixels that every kernel tap reads in some window: (k-1)*d - p .. (n_out-1)*s - p."""
    return tuple(np.arange(g.size[a])[(np.arange(g.size[a]) >= g.dilation[a] * (g.kernel[a] - 1) - g.padding[a])
                                      & (np.arange(g.size[a]) <= (out_size[a] - 1) * g.stride[a] - g.padding[a])]
                 for a in range(2))


@mistake("dx_border_zero", ["dx"], "the border of dx left at zero",
         "dx is right inside and ZERO on the border, where some taps of the kernel have no window: a border "
         "pixel still gets the gradient of every window that reads it (scatter each window's share into a "
         "zero-padded dx and crop it, or check the bounds tap by tap)")
def _dx_border_zero(run, value, got):
    e, g = run.expected[value], geometry(run)
    if not (arr(got) and got.shape == e.shape):
        return False
    rows, cols = interior(g, run.dout.shape[2:])
    inside = np.zeros(e.shape[2:], dtype=bool)
    inside[np.ix_(rows, cols)] = True
    bad = ~np.isclose(got, e, rtol=1e-6, atol=1e-7)
    return bool(inside.any() and bad.any() and not bad[..., inside].any() and (got[bad] == 0).all())


def conv_dx(run, stride, dilation):
    """conv2d's dx folded back with ``stride`` and ``dilation`` (col2im of w^T dout), cropped by the padding."""
    o, g = oracle(), geometry(run)
    x, w = run.inputs["x"], run.inputs["w"]
    t = o.F.conv_transpose2d(o.tensor(run.dout), o.tensor(w), stride=stride, dilation=dilation).numpy()
    full = np.zeros(x.shape[:2] + tuple(x.shape[2 + a] + 2 * g.padding[a] for a in range(2)))
    h, wd = min(t.shape[2], full.shape[2]), min(t.shape[3], full.shape[3])
    full[:, :, :h, :wd] = t[:, :, :h, :wd]
    return crop(full, g)


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


@mistake("backward_ignores_stride", ["dx"], "stride ignored in the backward",
         "dx matches the gradient folded back with stride 1: in the backward, window (i, j) starts at row "
         "i*s and column j*s of the padded input, exactly as in the forward")
def _backward_ignores_stride(run, value, got):
    return not_one(geometry(run).stride) and close(got, backward_variant(run, stride=(1, 1)))


@mistake("backward_ignores_dilation", ["dx"], "dilation ignored in the backward",
         "dx matches the gradient sent to adjacent taps: in the backward, tap (kh, kw) sits d*kh rows and "
         "d*kw columns from the window's corner, exactly as in the forward")
def _backward_ignores_dilation(run, value, got):
    return not_one(geometry(run).dilation) and close(got, backward_variant(run, dilation=(1, 1)))


def contributions(run):
    """(targets, values): every single contribution that the gradient (or col2im) adds up, per plane."""
    g = geometry(run)
    oracle_name = run.part.oracle
    if oracle_name == "max_pool2d":
        n, c = run.dout.shape[:2]
        return run.expected["indices"].reshape(n * c, -1), run.dout.reshape(n * c, -1)
    if oracle_name == "col2im":
        cols = run.inputs["cols"]
        kh, kw = g.kernel
        n, ckk, blocks = cols.shape
        c = ckk // (kh * kw)
        out_size = tuple(g.conv_out(a) for a in range(2))
        t = window_targets(g, out_size)
        return np.broadcast_to(t, (n * c, t.size)), cols.reshape(n * c, -1)
    dout = run.dout
    out_size = dout.shape[2:]
    t = window_targets(g, out_size)
    if oracle_name == "avg_pool2d":
        kh, kw = g.kernel
        n, c = dout.shape[:2]
        values = np.broadcast_to(dout[:, :, None, None] / (kh * kw), (n, c, kh, kw) + out_size)
        return np.broadcast_to(t, (n * c, t.size)), values.reshape(n * c, -1)
    if oracle_name == "conv2d":
        w = run.inputs["w"]
        dcols = np.einsum("fcij,nfhw->ncijhw", w, dout)
        n, c = dcols.shape[:2]
        return np.broadcast_to(t, (n * c, t.size)), dcols.reshape(n * c, -1)
    raise ValueError(f"no contributions for {oracle_name}")


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


# ----------------------------------------------------------------- general advice (no diagnosis)
advice("strided_backward", ["grad"], "this case has a stride or dilation > 1: the backward must use the same "
                                     "stride, padding and dilation as the forward",
       when=lambda run: not_one(run.options.get("stride")) or not_one(run.options.get("dilation")))
advice("toeplitz_layout", ["T"], "row r = (f, i, j) of T holds w[f] at the columns (c, i*s - p + kh*d, "
                                 "j*s - p + kw*d) of the input pixels inside the image")
advice("unpool_flat_index", ["out"], "put each value at its flat index (row * W_out + col) of its own (n, c) plane")
advice("avg_overlap_crop", ["dx"], "windows that overlap add up (+=) and the padding border is cropped away",
       when=lambda run: overlapping(geometry(run)) or nonzero(run.options.get("padding")))
