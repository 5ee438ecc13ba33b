"""General advice: offered on a wrong value when no known mistake was recognised (labelled as advice, never
as a diagnosis)."""

from ..sizes import geometry, overlapping
from .catalogue import advice, nonzero, not_one

strided_backward = advice(
    "strided_backward", ["grad"],
    "this case has a stride or dilation > 1: the backward must use the same stride, padding and dilation as the "
    "forward",
    when=lambda run: not_one(run.options.get("stride")) or not_one(run.options.get("dilation")), vague=True)
toeplitz_layout = advice(
    "toeplitz_layout", ["T"],
    "row (f, oh, ow) of T holds w[f, c, i, j] in column (c, h, w) with h = oh*stride_h - pad_h + i*dil_h and "
    "w = ow*stride_w - pad_w + j*dil_w, for the taps that fall inside the input")
unpool_flat_index = advice(
    "unpool_flat_index", ["out"], "put each value at its flat index (row * Wo + col) of its own (n, c) plane")
avg_overlap_crop = advice(
    "avg_overlap_crop", ["dx"], "windows that overlap add up (+=) and the padding border is cropped away",
    when=lambda run: overlapping(geometry(run)) or nonzero(run.options.get("padding")))
