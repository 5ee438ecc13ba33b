"""Known mistakes, recognised from the evidence of one case, and what to tell the student.

A part's ``hints:`` in the case table names entries of ``HINTS``, most specific first. Each entry says
which returned values it can explain (``on``: value names such as ``out`` or ``indices``; ``grad`` means
every gradient) and when it applies: ``test(case, name, got)`` gets the case's evidence (``CaseRun``: the
grader's inputs and options, the oracle's answers, and ``variant(...)``, which recomputes the oracle with
some inputs or options changed: the value a known mistake would have produced). A value that is wrong
gets the first entry that applies; ``general`` entries are advice, not a diagnosis, and say so.

A new known mistake is one entry here and its name in the part's ``hints:`` list.
"""

from dataclasses import dataclass

import numpy as np

from .compare import matches
from .inputs import pair

HINTS = {}


@dataclass(frozen=True)
class Hint:
    name: str
    on: tuple
    test: object
    text: str
    general: bool = False

    def concerns(self, value_name):
        return value_name in self.on or ("grad" in self.on and value_name.startswith(("d", "grads[")))

    def line(self):
        return ("hint (general advice): " if self.general else "hint: ") + self.text


def hint(name, on, text, general=False):
    def register(test):
        HINTS[name] = Hint(name, tuple(on), test, text, general)
        return test

    return register


def advice(name, on, text, when=lambda run: True):
    """A general hint: shown on a wrong value whenever ``when`` holds for the case."""
    hint(name, on, text, general=True)(lambda run, value, got: when(run))


def first_hint(names, run, value_name, got):
    """The text of the first hint among ``names`` that explains ``got`` for ``value_name``, or None."""
    for n in names:
        h = HINTS[n]
        if not h.concerns(value_name):
            continue
        try:
            if h.test(run, value_name, got):
                return h.line()
        except Exception:  # noqa: BLE001 - a hint that cannot be evaluated on this value does not apply
            continue
    return None


def nonzero(v):
    return v not in (None, 0, (0, 0))


def not_one(v):
    return v not in (None, 1, (1, 1))


def array_like(got, expected):
    return isinstance(got, np.ndarray) and got.shape == expected.shape


# ----------------------------------------------------------------- convolutions
@hint("kernel_flipped", ["out"], "this matches the result with the kernel flipped (a true convolution); "
                                 "torch's conv2d is a cross-correlation: do not flip w")
def _kernel_flipped(run, value, got):
    w = run.inputs["w"]
    return matches(got, run.variant(inputs={"w": np.ascontiguousarray(w[:, :, ::-1, ::-1])})[value])


@hint("hw_swapped", ["out", "T"], "this matches the result with the H and W values of stride/padding/dilation "
                                  "swapped: (a, b) means a along H (axis 2) and b along W (axis 3)")
def _hw_swapped(run, value, got):
    swapped = {k: (v[::-1] if isinstance(v, tuple) else v) for k, v in run.options.items()
               if k in ("stride", "padding", "dilation", "output_padding")}
    changed = {k: v for k, v in swapped.items() if v != run.options[k]}
    return bool(changed) and matches(got, run.variant(options=changed)[value])


@hint("bias_missing", ["out"], "the bias b was not added")
def _bias_missing(run, value, got):
    return run.inputs.get("b") is not None and matches(got, run.variant(inputs={"b": None})[value])


@hint("undilated_shape", ["out"], "the output has the shape of an undilated convolution: the effective kernel "
                                  "size is d*(k-1)+1")
def _undilated_shape(run, value, got):
    return not_one(run.options.get("dilation")) and got.shape == run.variant(options={"dilation": 1})[value].shape


@hint("grad_batch_mean", ["grad"], "looks averaged over the batch: sum over N instead of taking the mean")
def _grad_batch_mean(run, value, got):
    n = run.dout.shape[0]
    return n > 1 and matches(got, run.expected[value] / n)


advice("strided_backward", ["grad"], "this case has stride or dilation > 1: check that the backward uses the "
                                     "same stride, padding and dilation as the forward",
       when=lambda run: not_one(run.options.get("stride")) or not_one(run.options.get("dilation")))
advice("crop_padding", ["dx"], "crop the padding off the gradient of the padded input "
                               "(x_pad[..., p:p+H, q:q+W]; note [p:-p] is empty when p = 0)",
       when=lambda run: nonzero(run.options.get("padding")))


# ----------------------------------------------------------------- transposed convolution
@hint("output_padding_one_side", ["out"], "output_padding adds rows/columns on ONE side (bottom/right) only")
def _output_padding_one_side(run, value, got):
    return nonzero(run.options.get("output_padding")) and got.shape[2:] != run.expected[value].shape[2:]


@hint("tconv_size", ["out"], "size is (H-1)*s - 2p + d(k-1) + output_padding + 1: padding CROPS the output")
def _tconv_size(run, value, got):
    return got.shape[2:] != run.expected[value].shape[2:]


@hint("tconv_weight_axes", ["out"], "weights are (C_in, C_out, KH, KW) for a transposed convolution "
                                    "(axis 0 matches x's channels)")
def _tconv_weight_axes(run, value, got):
    w = run.inputs["w"]
    return w.shape[0] != w.shape[1]


# ----------------------------------------------------------------- pooling
@hint("pool_zero_padding", ["out"], "padding must act like -inf (a max never comes from the padding), not 0")
def _pool_zero_padding(run, value, got):
    return nonzero(run.options.get("padding")) and bool((got >= run.expected[value]).all())


advice("stride_none", ["out"], "stride=None means stride = kernel_size",
       when=lambda run: run.options.get("stride") is None)


@hint("ties_first_max", ["indices"], "your indices point at a maximum, but not the one torch picks: with ties "
                                     "the FIRST maximum in row-major order within the window wins")
def _ties_first_max(run, value, got):
    x, out = run.inputs["x"], run.expected["out"]
    if not array_like(got, run.expected[value]):
        return False
    flat = x.reshape(*x.shape[:2], -1)
    picked = np.take_along_axis(flat, np.clip(got, 0, flat.shape[2] - 1).reshape(*x.shape[:2], -1), axis=2)
    return bool(np.array_equal(picked, out.reshape(*x.shape[:2], -1)))


@hint("indices_in_window", ["indices"], "indices look like positions inside the window; torch wants "
                                        "row * W + col in the unpadded input")
def _indices_in_window(run, value, got):
    return isinstance(got, np.ndarray) and got.max() < np.prod(pair(run.options["kernel_size"]))


advice("indices_unpadded", ["indices"], "indices are flat positions in the UNPADDED H x W plane (row * W + col)",
       when=lambda run: nonzero(run.options.get("padding")))


def overlapping(run):
    k = pair(run.options["kernel_size"])
    s = run.options.get("stride")
    return any(si < ki for si, ki in zip(pair(s) if s is not None else k, k))


advice("pool_overlap_sum", ["dx"], "windows overlap here (stride < kernel): a pixel that is the maximum of "
                                   "several windows must receive the SUM of their gradients (+=, not =)",
       when=overlapping)
advice("pool_ties_first", ["dx"], "with ties, only the first maximum of each window (row-major) gets the gradient",
       when=lambda run: run.case.get("kind") in ("ties", "constant"))
advice("count_include_pad", ["out"], "zero padding counts in the average (count_include_pad=True): divide by "
                                     "kh*kw everywhere", when=lambda run: nonzero(run.options.get("padding")))


@hint("avg_missing_scale", ["dx"], "each input gets dout / (kh*kw): the 1/(kh*kw) is missing")
def _avg_missing_scale(run, value, got):
    return matches(got, run.expected[value] * np.prod(pair(run.options["kernel_size"])))


advice("avg_overlap_crop", ["dx"], "overlapping windows add up (+=) and the padding border is cropped away")


# ----------------------------------------------------------------- dilation, matrices
@hint("dilate_d_zeros", ["w_dilated"], "insert d-1 zeros between taps (not d): size d*(k-1)+1")
def _dilate_d_zeros(run, value, got):
    return isinstance(got, np.ndarray) and got.shape[2] > run.expected[value].shape[2]


@hint("toeplitz_transposed", ["T"], "rows and columns are swapped: T has one ROW per output value, "
                                    "(F*Ho*Wo, C*H*W)")
def _toeplitz_transposed(run, value, got):
    e = run.expected[value]
    return isinstance(got, np.ndarray) and got.shape != e.shape and got.shape == e.shape[::-1]


@hint("toeplitz_ignores_padding", ["T"], "padding seems ignored: padded pixels are zeros, so their columns are "
                                         "simply dropped")
def _toeplitz_ignores_padding(run, value, got):
    return nonzero(run.options.get("padding")) and matches(got, run.variant(options={"padding": 0})[value])


advice("toeplitz_layout", ["T"], "row r = (f, i, j) of T holds w[f] at the columns (c, i*s - p + kh*d, j*s - p + kw*d)")
advice("im2col_order", ["cols"], "rows are ordered (c, kh, kw) with c slowest, like F.unfold; columns row-major "
                                 "over output positions")
advice("col2im_overlap", ["x"], "overlapping patches must add up; fancy-index += drops repeated indices "
                                "(use np.add.at, or loop over kernel taps with slice +=)")


# ----------------------------------------------------------------- upsampling, FCN
advice("nearest_block_sum", ["dx"], "each input pixel was copied to an s x s block, so its gradient is the SUM "
                                    "of dout over that block")
advice("nails_top_left", ["out"], "each value goes to the TOP-LEFT of its s x s block")


@hint("unpool_output_size", ["out"], "output_size (H, W) sets the output size")
def _unpool_output_size(run, value, got):
    return "output_size" in run.options and got.shape != run.expected[value].shape


advice("unpool_flat_index", ["out"], "put each value at its flat index (row * W_out + col) of its own (n, c) plane")
advice("unpool_gather", ["dx"], "the backward GATHERS: dx[n, c, i, j] = dout[n, c].flat[indices[n, c, i, j]]")
advice("fc_reshape_order", ["w_conv"], "x.reshape(N, -1) flattens in (C, H, W) order, so weight.reshape(K, C, H, W)")
