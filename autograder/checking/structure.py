"""Structural evidence: what a wrong value IS, in terms of the expected one, for any part and without a catalogue
entry. Tried before the catalogue (layer.CaseRun.judge) on the first wrong value of a case, in this order:

- the right values to a lower precision only (about float32's: computed in float32 somewhere);
- another value of the case: an input unchanged, dout, another output's or gradient's expected value; or another
  layer's on the same inputs (max_pool2d's value where avg_pool2d's belongs: neighbours.py);
- an optional input left out (b=None), then a neighbouring configuration: a pair option swapped or one of its
  values used for both axes, an option left at its default (padding 0, dilation 1, stride 1, output_padding 0)
  or a 2 in its place (the lecture's value, written into the code),
  the whole value or its first Ho x Wo positions (neighbours.py);
- the expected values with their axes in another order: transposed (which axes), or laid out in another order
  and reshaped (C vs F order, channels-last vs channels-first, im2col's (C, KH, KW) rows as (KH, KW, C));
- the expected value inside a border too many (zeros, or other values), or a block of it (rows or columns
  missing); the expected value before a sum over one or two of the returned value's axes;
- the expected value times a constant (its value and the sizes it equals: 1/N, KH*KW, ...), or plus a constant
  (or one constant per channel, or an input such as b along the channels) (transforms.py);
- a loop that stops early: the value of the same case with an input's or dout's last row or column, or its rows
  or columns from one of the case's sizes on, left out (neighbours.py).

Every fit is exact within the value's own comparison tolerance, on a value with enough distinct non-zero entries
that it cannot be chance (fits.py), and says a fact in the part's own words: its value, input and option names,
the case's sizes as the docstrings name them (symbols.py). Nothing is said when nothing fits. The first fit is
the one named (or, where one variant fits several explanations, they are candidates that another case of the
part may tell apart, as with the catalogue's: grading/diagnosis.py). A ``Finding`` names a structural entry of
the catalogue (mistakes/structural.py: its title and paragraph) and carries the line with the case's numbers
(``text``) and the line a hidden case may show (``hidden``: without a number taken from values).
"""

import numpy as np

from .fits import Finding, Fit
from .neighbours import inputs_check, options_check, other_layer, stops_early
from .transforms import axis_order, block, factor, low_precision, offset, other_value, unsummed

# (check, the structural entries it can name), in the order above
CHECKS = ((low_precision, ("low_precision",)), (other_value, ("other_value",)), (other_layer, ("other_layer",)),
          (inputs_check, ("input_ignored",)),
          (options_check, ("option_ignored", "option_swapped", "option_one_value", "option_fixed")),
          (block, ("extra_border", "cropped")), (unsummed, ("unsummed",)),
          (axis_order, ("axes_swapped", "reshape_order")), (factor, ("scaled",)), (offset, ("offset",)),
          (stops_early, ("stops_early",)))


def findings(run, name, got, rtol):
    """([Finding] of the first check that fits ``got``, the student's wrong ``name``: one, or several that the
    same variant fits (candidates another case may tell apart), {entry: whether it fits} of every entry tested)."""
    held = {}
    e = run.expected.get(name)
    if not (isinstance(got, np.ndarray) and isinstance(e, np.ndarray) and got.dtype.kind in "fiub"
            and e.dtype.kind in "fiu" and got.size and e.size):
        return [], held
    if got.dtype.kind == "f" and not np.isfinite(got).all():
        return [], held
    fit = Fit(got, e, rtol)
    for check, kinds in CHECKS:
        try:
            found = check(run, name, got, e, fit) or []
        except Exception:  # noqa: BLE001 - a transform that cannot be evaluated on this value does not fit
            found = []
        found = [found] if isinstance(found, Finding) else list(found)
        held.update({k: any(f.name == k for f in found) for k in kinds})
        if found:
            return found, held
    return [], held
