"""The structural entries: what checking/structure.py finds on a wrong value of any part, without a part listing
them. Each is named with a line that says the fact in the case's own words (the Finding's line, shown beside the
paragraph below); the paragraph says what that fact means and where to look. A part may still list one in its
``mistakes:`` (its test asks structure.py), but never needs to.
"""

from ..structure import findings
from .catalogue import Mistake


def found_by_structure(name):
    def test(run, value, got):
        from ..compare import RTOL_GRAD, RTOL_OUT

        rtol = RTOL_OUT if value in run.part.outputs else RTOL_GRAD
        return any(f.name == name for f in findings(run, value, got, rtol)[0])

    return test


def structural(name, title, text):
    return Mistake(name, ("any value",), found_by_structure(name), title, text, structural=True)


low_precision = structural(
    "low_precision", "float32 precision",
    "the values are right to about 6 or 7 significant digits only, the precision of float32: keep every array and "
    "constant float64 (np.zeros(..., dtype=x.dtype), no np.float32, no astype(np.float32)), or compute the value "
    "exactly rather than approximately")
other_value = structural(
    "other_value", "another value returned in its place",
    "the value returned here is another value of the case (the line above says which): check the order of the "
    "returned tuple, which variable each name holds, and that the function computes this value at all")
other_layer = structural(
    "other_layer", "another layer's value",
    "the result is what another layer computes on the same inputs (the line above names it by torch.nn.functional's "
    "name): its code, or a call of its function, where this one's belongs (a maximum for an average, a copy into "
    "every pixel of a block for one value at its corner, ...)")
input_ignored = structural(
    "input_ignored", "an input left out",
    "the result is what the function gives without that input (the line above names it): use it where the "
    "docstring says (a bias: added once to every output pixel of its channel)")
option_swapped = structural(
    "option_swapped", "a pair read the wrong way round",
    "a pair (h, w) means h along H (axis 2, the rows) and w along W (axis 3, the columns): the result is what the "
    "swapped pair gives; take the first value for every size, loop bound and index along H, the second along W")
option_one_value = structural(
    "option_one_value", "one value of a pair used for both axes",
    "an option given as a pair (h, w) has a value per axis: the result is what one of them used for both axes "
    "gives (e.g. s = stride[0], or pair() applied to one value); use h along H (rows) and w along W (columns)")
option_ignored = structural(
    "option_ignored", "an option left out",
    "the result is what the option's default gives (the line above names the option and its value in this case): "
    "the option must count everywhere it should, in the output size, the window positions and the indices")
option_fixed = structural(
    "option_fixed", "a 2 in place of an option",
    "the result is what the option set to 2 gives (the value of the lecture's examples), whatever the case passes: "
    "a 2 written into the code where the argument (or its pair's value along that axis) belongs")
extra_border = structural(
    "extra_border", "a border too many",
    "the expected values are all there, as a block of a larger array (the line above says where): the rows and "
    "columns around them are too many: a buffer that still holds its padding (crop it), or a size one too large")
cropped = structural(
    "cropped", "rows or columns missing",
    "the value is a block of the expected one (the line above says which rows and columns are missing): a crop too "
    "many, a slice that stops early, or a size one too small")
unsummed = structural(
    "unsummed", "a sum left out",
    "the value has an axis too many, and summed over it gives the expected one: a gradient that adds up over the "
    "batch or over positions must be summed over them (np.sum(..., axis=...)), not returned per sample or position")
axes_swapped = structural(
    "axes_swapped", "axes in the wrong order",
    "the values are right but lie along other axes (the line above says which): a transpose, swapaxes, moveaxis "
    "or an einsum's output subscripts in the wrong order, or loops that write out[..., j, i] for out[..., i, j]")
reshape_order = structural(
    "reshape_order", "a reshape in the wrong order",
    "the values are right but in another order: reshape keeps the order of the elements in memory (C order, "
    "the last axis fastest) and never moves an axis; to change which axis is which, transpose (or moveaxis) "
    "first, then reshape; and reshape data only into the order it is laid out in")
scaled = structural(
    "scaled", "off by a constant factor",
    "every value is the expected one times the same number (the line above gives it and the sizes of the case it "
    "equals): a division or a product by that size that should not be there, or one that is missing")
offset = structural(
    "offset", "off by a constant",
    "every value differs from the expected one by the same amount (or by one amount per channel): something added "
    "or subtracted once too often or not at all, such as a bias, or an index off by one")
stops_early = structural(
    "stops_early", "a loop that stops early",
    "the result is what you get when the rows or columns named above never contribute: a loop bound (range(...)) "
    "or a break that stops before the end of the array; each loop over an axis runs over that axis's own size")
