"""Where in an array the wrong values are, said by position only: "rows 5-6 of every channel", "a 1-pixel
border of sample 0", "the last column of every channel", never a value.

``describe(bad, got, layout)`` takes the mask of the wrong elements of a value whose shape is right and
returns a short phrase (None when there is nothing to say: no wrong element, or no shape to speak of). The
last two axes are the plane the phrase speaks of: the H x W image of an NCHW array (``layout`` "image"),
the KH x KW taps of a weight (F, C, KH, KW) ("weight"), the (row, column) matrix of T or of each sample's
im2col columns ("matrix"); the axes before them name which planes ("of every channel", "of filter 1").
Where the planes are wrong in different places, the phrase counts instead.
``specific`` tells whether the phrase points somewhere (not "everywhere"): then it says more than general
advice about strides and padding would. Whether the wrong values are exactly 0 is said too ("where it is
0"): a bit the student's own output chose, and often the cause (a loop that never reached those pixels).
"""

from dataclasses import dataclass

import numpy as np

LISTED = 6  # at most this many separate indices are listed ("rows 0, 2, 4"); more become a count
# The words of each layout: an element of the plane, its rows and columns, the leading axes (outer first),
# and every plane.
WORDS = {
    "image": ("pixel", "row", "column", ("sample", "channel"), "of every channel"),
    "weight": ("tap", "kernel row", "kernel column", ("filter", "channel"), "of every filter"),
    "matrix": ("entry", "row", "column", ("sample",), "of every sample"),
}


def layout_of(name, ndim):
    """The layout of a graded value, from its name: weights and their gradients, 4-D images, else matrices."""
    if name.startswith(("w", "dw", "grads['w")):
        return "weight" if ndim == 4 else "matrix"
    return "image" if ndim == 4 else "matrix"


@dataclass(frozen=True)
class Region:
    text: str  # "rows 5-6 of every channel"
    specific: bool  # not everywhere: the phrase points at part of the value
    zero: bool  # every wrong element is exactly 0

    def line(self, name):
        """One line of feedback: "dx: wrong in rows 5-6 of every channel, where it is 0"."""
        return f"{name}: wrong in {self.text}" + (", where it is 0" if self.zero else "")


def describe(bad, got, layout="image"):
    """The Region of the True elements of ``bad`` (a boolean array of the value's shape), or None."""
    bad = np.asarray(bad, dtype=bool)
    if bad.ndim == 0 or not bad.any():
        return None
    zero = bool(isinstance(got, np.ndarray) and got.shape == bad.shape and got.dtype.kind in "fiub"
                and np.all(got[bad] == 0))
    if bad.all():
        return Region("every element" if bad.ndim < 2 else "every value", False, zero)
    if bad.ndim == 1:
        return Region(f"{spans(np.flatnonzero(bad), bad.size, 'element')}", True, zero)
    words = WORDS[layout if layout in WORDS and (bad.ndim == 4) == (layout != "matrix") else "matrix"]
    planes = bad.reshape(-1, *bad.shape[-2:])
    plane = planes.any(axis=0)
    hit = planes.any(axis=(1, 2))
    which = which_planes(hit.reshape(bad.shape[:-2]), words[3], words[4])
    if not all(np.array_equal(p, plane) for p, h in zip(planes, hit) if h):  # wrong in other places in each
        text = f"{int(bad.sum())} of the {bad.size} values"
        return Region(text if hit.all() else f"{text}, in {which[3:]}", not hit.all(), zero)
    where, scattered = in_plane(plane, *words[:3])
    lead = f"of every {words[3][-1]} of "  # every pixel of every channel of sample 1: every pixel of sample 1
    if plane.all() and which.startswith(lead):
        which = "of " + which[len(lead):]
    text = where if not which else f"{where} {which}"
    specific = not ((plane.all() or scattered) and hit.all())
    return Region(text, specific, zero)


def spans(indices, size, noun):
    """'rows 2-3', 'the last row', 'the first 2 rows', 'rows 0, 2, 4', '7 rows' for sorted ``indices``."""
    indices = [int(i) for i in indices]
    n = len(indices)
    plural = noun + "s" if noun != "pixel" else "pixels"
    contiguous = indices == list(range(indices[0], indices[0] + n))
    if contiguous and indices[0] == 0:
        return f"the first {noun}" if n == 1 else f"the first {n} {plural}"
    if contiguous and indices[-1] == size - 1:
        return f"the last {noun}" if n == 1 else f"the last {n} {plural}"
    if n == 1:
        return f"{noun} {indices[0]}"
    if contiguous:
        return f"{plural} {indices[0]}-{indices[-1]}"
    if n <= LISTED:
        return f"{plural} " + ", ".join(map(str, indices))
    step = indices[1] - indices[0]
    if all(b - a == step for a, b in zip(indices, indices[1:])):
        return f"every {ordinal(step)} {noun} from {noun} {indices[0]} to {indices[-1]}"
    return f"{n} of the {size} {plural}"


def contiguous(indices):
    return len(indices) == indices[-1] - indices[0] + 1


def interval(indices, noun):
    return f"{noun} {indices[0]}" if len(indices) == 1 else f"{noun}s {indices[0]}-{indices[-1]}"


def ordinal(n):
    return {2: "second", 3: "third", 4: "fourth"}.get(n, f"{n}th")


def in_plane(plane, noun="pixel", row="row", column="column"):
    """(where the True elements of a 2-D mask are: whole rows, whole columns, a border, a block, a grid, a band
    along the edges; scattered: True when none of these fits and they spread over most of the plane)."""
    h, w = plane.shape
    full_rows, full_cols = plane.all(axis=1), plane.all(axis=0)
    rows, cols = np.flatnonzero(plane.any(axis=1)), np.flatnonzero(plane.any(axis=0))
    if plane.all():
        return f"every {noun}", False
    if full_rows.any() and np.array_equal(plane, np.broadcast_to(full_rows[:, None], plane.shape)):
        return spans(np.flatnonzero(full_rows), h, row), False
    if full_cols.any() and np.array_equal(plane, np.broadcast_to(full_cols[None, :], plane.shape)):
        return spans(np.flatnonzero(full_cols), w, column), False
    union = full_rows[:, None] | full_cols[None, :]
    if full_rows.any() and full_cols.any() and np.array_equal(plane, union):
        k = border_width(full_rows, full_cols)
        if k:
            return f"a {k}-{noun} border", False
        return (f"{spans(np.flatnonzero(full_rows), h, row)} and "
                f"{spans(np.flatnonzero(full_cols), w, column)}"), False
    box = np.zeros_like(plane)
    box[np.ix_(rows, cols)] = True
    if np.array_equal(plane, box):
        if len(rows) == 1 and len(cols) == 1:
            return f"the {noun} at {row} {rows[0]}, {column} {cols[0]}", False
        if not (contiguous(rows) and contiguous(cols)):
            return f"every {noun} that is in {spans(rows, h, row)} and in {spans(cols, w, column)}", False
        return f"the {len(rows)} x {len(cols)} block of {interval(rows, row)}, {interval(cols, column)}", False
    k = border_reach(plane)
    count = f"{int(plane.sum())} of the {plane.size} {noun}s" if noun != "entry" else \
        f"{int(plane.sum())} of the {plane.size} entries"
    if k:
        some = f"{int(plane.sum())} {noun}s" if noun != "entry" else f"{int(plane.sum())} entries"
        return f"{some} on the {k}-{noun} border", False
    if len(rows) * len(cols) > plane.size // 2:
        return count, True
    return f"{count}, in {spans(rows, h, row)} and {spans(cols, w, column)}", False


def border_width(full_rows, full_cols):
    """k when the full rows and columns are exactly the outer k of each side, else 0."""
    h, w = len(full_rows), len(full_cols)
    for k in range(1, min(h, w) // 2 + 1):
        ring_rows = np.zeros(h, dtype=bool)
        ring_rows[:k] = ring_rows[h - k:] = True
        ring_cols = np.zeros(w, dtype=bool)
        ring_cols[:k] = ring_cols[w - k:] = True
        if np.array_equal(full_rows, ring_rows) and np.array_equal(full_cols, ring_cols):
            return k
    return 0


def border_reach(plane):
    """The smallest k such that every True pixel lies within k pixels of an edge, when that is a thin band
    (k at most a quarter of the plane's smaller side), else 0."""
    h, w = plane.shape
    r, c = np.nonzero(plane)
    reach = np.minimum(np.minimum(r, h - 1 - r), np.minimum(c, w - 1 - c)).max() + 1
    return int(reach) if reach <= max(1, min(h, w) // 4) else 0


def which_planes(hit, names, every="of every plane"):
    """'of every channel', 'of channel 1 of every sample', 'of sample 0', ... for the planes that hold wrong
    elements (``hit``: boolean, the array's leading axes; ``names``: theirs, outer first)."""
    if hit.ndim == 0:
        return ""
    if hit.all():
        return every
    if hit.ndim == 1:
        return f"of {spans(np.flatnonzero(hit), hit.size, names[0])}"
    outer, inner = hit.any(axis=1), hit.any(axis=0)
    if np.array_equal(hit, np.broadcast_to(inner[None, :], hit.shape)):
        return f"of {spans(np.flatnonzero(inner), hit.shape[1], names[1])} of every {names[0]}"
    if np.array_equal(hit, np.broadcast_to(outer[:, None], hit.shape)):
        return f"of every {names[1]} of {spans(np.flatnonzero(outer), hit.shape[0], names[0])}"
    return f"of {int(hit.sum())} of the {hit.size} ({names[0]}, {names[1]}) planes"
