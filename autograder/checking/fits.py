"""What a structural fit is (structure.py): a ``Finding`` (the structural entry it names, its line with the case's
numbers and without), and ``Fit``, exact comparisons of one wrong value at its own comparison tolerance."""

from dataclasses import dataclass

import numpy as np

from .compare import ATOL, wrong_mask

MIN_ENTRIES = 4  # a fit on fewer distinct non-zero entries could be chance: nothing is said


@dataclass(frozen=True)
class Finding:
    name: str  # the structural entry it names (mistakes/structural.py)
    text: str  # the line with the case's numbers
    hidden: str  # the line without a number taken from values (a hidden case)


class Fit:
    """Exact fits of one value at its comparison tolerance."""

    def __init__(self, got, expected, rtol):
        self.got, self.expected, self.rtol = got, expected, rtol
        self.integer = expected.dtype.kind in "iu" and got.dtype.kind in "iu"

    def same(self, ref):
        ref = np.asarray(ref)
        if ref.shape != self.got.shape:
            return False
        if self.integer:
            return bool(np.array_equal(self.got, ref))
        return not wrong_mask(self.got, ref.astype(np.float64), self.rtol).any()

    def same_values(self, value, ref):
        """``value`` (any array of ref's shape, not the student's) equals ``ref`` at this tolerance."""
        value, ref = np.asarray(value), np.asarray(ref)
        if value.shape != ref.shape:
            return False
        if self.integer:
            return bool(np.array_equal(value, ref))
        return not wrong_mask(value.astype(np.float64), ref.astype(np.float64), self.rtol).any()

    def number(self, a, b):
        return abs(a - b) <= ATOL + self.rtol * abs(b)


def telling(e):
    """Enough distinct non-zero entries that a fit is not chance."""
    nz = e[np.abs(e) > ATOL] if e.dtype.kind == "f" else e[e != 0]
    return nz.size >= MIN_ENTRIES and np.unique(nz[:4096]).size >= MIN_ENTRIES


