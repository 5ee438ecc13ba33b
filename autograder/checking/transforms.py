"""The structural transforms that need no oracle (structure.py): another value of the case, the expected value with
its axes in another order (transposed, or laid out in another order and reshaped), times a constant, plus a
constant (or one per channel)."""

import itertools

import numpy as np

from .compare import ATOL, fmt
from .fits import Finding, telling
from .regions import layout_of
from .symbols import ratio_names, runs, sizes

MAX_ATOMS = 6  # axes (split into their sizes) whose orders are tried: 720 orders at most
SAMPLE = 48  # entries compared first, before a whole array is
SIGNIFICANT = 1e-4  # a factor or offset this close to none (relative to the values) is rounding, never a mistake
LOW_PRECISION = 2e-4  # right to this relative error but not to float64's: computed in float32 on the way

AXIS_WORDS = {
    "image": ("samples", "channels", "rows", "columns"),
    "weight": ("filters", "channels", "kernel rows", "kernel columns"),
}


# ----------------------------------------------------------------- right, to a lower precision
def low_precision(run, name, got, e, fit):
    """float64 values that agree with the expected ones only to about float32's precision, or a float32 (float16)
    result where float64 is expected: computed in float32 somewhere, which its dtype already shows."""
    lower = got.dtype.kind == "f" and e.dtype.kind == "f" and got.dtype.itemsize < e.dtype.itemsize
    if got.shape != e.shape or fit.integer or got.dtype != e.dtype and not lower or not telling(e):
        return None
    if lower:
        return Finding("low_precision", f"{name} is {got.dtype}, where {e.dtype} is expected: a value computed in "
                       f"{got.dtype} on the way (np.{got.dtype}, an array or constant of that dtype, astype)",
                       f"{name} is {got.dtype}, not {e.dtype}")
    g, ef = got.astype(np.float64), e.astype(np.float64)
    top = float(np.abs(ef).max())
    err = float(np.abs(g - ef).max())
    if not err <= LOW_PRECISION * top:
        return None
    digits = max(1, int(-np.log10(max(err / top, 1e-15))))
    line = (f"{name} is right to about {digits} significant digits only (errors up to {fmt(err)} on values up to "
            f"{fmt(top)}), where float64 gives 15: a value computed in float32 on the way (np.float32, a float32 "
            "array or constant), or an approximation")
    return Finding("low_precision", line, f"{name} is right to a lower precision than float64's only")


# ----------------------------------------------------------------- another value of the case
def others(run, name):
    """[(what, value)] the case holds besides the expected ``name``: inputs, dout, other expected values."""
    out = []
    for k, v in run.inputs.items():
        if isinstance(v, np.ndarray):
            out.append((f"the input {k}, unchanged", v))
        elif isinstance(v, dict):
            out += [(f"the input {k}['{i}'], unchanged", a) for i, a in v.items() if isinstance(a, np.ndarray)]
    if run.dout is not None and name not in run.part.outputs:
        out.append((f"{run.part.upstream} (the upstream gradient), unchanged", run.dout))
    out += [(f"the expected {k}", v) for k, v in run.expected.items() if k != name and isinstance(v, np.ndarray)]
    return out


def other_value(run, name, got, e, fit):
    if not telling(e):
        return None
    for what, value in others(run, name):
        if value.shape == got.shape and telling(value) and fit.same(value):
            line = f"{name} is {what}"
            return Finding("other_value", line, line)
    return None


# ----------------------------------------------------------------- axes in another order
def atomizations(run, name, e):
    """[(sizes, labels, split)] ways of seeing ``e``'s axes as finer ones: each axis as it is, or (a flattened
    one) split into the sizes it is made of (symbols.runs); ``split``: some axis was."""
    layout = AXIS_WORDS.get(layout_of(name, e.ndim)) if e.ndim == 4 else None
    words = layout or (("rows", "columns") if e.ndim == 2 else ("samples", "rows", "columns") if e.ndim == 3
                       else tuple(f"axis {i}" for i in range(e.ndim)))
    options = []
    for axis, n in enumerate(e.shape):
        here = [((n,), (words[axis],))]
        for seq in runs(run):
            if np.prod([v for _, v in seq]) == n and len(seq) > 1:
                here.append((tuple(v for _, v in seq), tuple(s for s, _ in seq)))
        options.append(here)
    out = []
    for combo in itertools.islice(itertools.product(*options), 16):
        shape = tuple(v for sizes_, _ in combo for v in sizes_)
        labels = tuple(label for _, labels_ in combo for label in labels_)
        if len(shape) <= MAX_ATOMS:
            out.append((shape, labels, any(len(s) > 1 for s, _ in combo)))
    return out


def source_index(q, shape, perm, read):
    """Flat indices into ``e`` of the entries ``q`` of ``e.reshape(shape).transpose(perm)`` (``read`` False), or of
    ``e.reshape(shape[perm]).transpose(argsort(perm))`` (``read`` True: e's data read as if laid out in order perm)."""
    permuted = tuple(shape[p] for p in perm)
    if not read:
        idx_t = np.unravel_index(q, permuted)
        idx = [None] * len(shape)
        for k, p in enumerate(perm):
            idx[p] = idx_t[k]
        return np.ravel_multi_index(idx, shape)
    inverse = np.argsort(perm)
    idx_s = np.unravel_index(q, shape)
    idx_r = [None] * len(shape)
    for k, p in enumerate(inverse):
        idx_r[p] = idx_s[k]
    return np.ravel_multi_index(idx_r, permuted)


def axis_order(run, name, got, e, fit):
    if got.size != e.size or not telling(e):
        return None
    g, ef = got.ravel(), e.ravel()
    if not np.allclose(np.sort(g), np.sort(ef), rtol=fit.rtol, atol=ATOL):  # not the same values: no order fits
        return None
    q = np.unique(np.linspace(0, g.size - 1, min(SAMPLE, g.size)).astype(np.int64))
    for shape, labels, split in atomizations(run, name, e):
        for perm in itertools.permutations(range(len(shape))):
            if perm == tuple(range(len(shape))):
                continue
            for read in (False, True):
                src = source_index(q, shape, perm, read)
                if not np.allclose(g[q], ef[src], rtol=fit.rtol, atol=ATOL):
                    continue
                src = source_index(np.arange(g.size), shape, perm, read)
                if fit.same(ef[src].reshape(got.shape)):
                    return order_finding(name, got, e, shape, labels, perm, read, split)
    return None


def order_finding(name, got, e, shape, labels, perm, read, split):
    ordered = ", ".join(labels[p] for p in perm)
    natural = ", ".join(labels)
    moved = [i for i, p in enumerate(perm) if p != i]
    permuted = tuple(shape[p] for p in perm)
    # a transpose: two axes swapped, or the value's shape the permuted one (values in another axis order with the
    # right shape may as well be a reshape: said as that)
    if not read and not split and got.shape == permuted and (len(moved) == 2 or permuted != e.shape):
        if len(moved) == 2:
            a, b = moved
            line = f"{name} holds the expected values with axes {a} and {b} ({labels[a]} and {labels[b]}) swapped"
        else:
            line = f"{name} holds the expected values with its axes in the order ({ordered}) instead of ({natural})"
        return Finding("axes_swapped", line, line)
    if perm == tuple(reversed(range(len(shape)))) and not split:
        ordered += ": Fortran order, order='F'"
    elif len(shape) == 4 and perm == (0, 2, 3, 1) and not split:
        ordered += ": channels last"
    if read:
        line = (f"{name} holds the expected data read as if laid out ({ordered}) and then put back in the order "
                f"({natural}): it is laid out ({natural})")
    else:
        line = (f"{name} holds the expected values in the order ({ordered}) where ({natural}) is expected, reshaped "
                f"to {tuple(got.shape)}")
    return Finding("reshape_order", line, line.split(", reshaped to")[0])  # a hidden case: not the shape returned


# ----------------------------------------------------------------- a constant factor or offset
def factor(run, name, got, e, fit):
    if got.shape != e.shape or not telling(e):
        return None
    ef, g = e.astype(np.float64).ravel(), got.astype(np.float64).ravel()
    c = float(ef @ g) / float(ef @ ef)
    if not np.isfinite(c) or abs(c) < 1e-6 or fit.number(c, 1.0) or not fit.same(c * e.astype(np.float64)):
        return None
    if fit.number(c, -1.0):
        return Finding("scaled", f"{name} is the expected {name} with every sign flipped (times -1)",
                       f"{name} is the expected {name} with every sign flipped")
    names = ratio_names(c, sizes(run), fit.number, limit=4)
    said = f" = {' = '.join(names)}" if names else " (no size of this case)"
    table = {s.symbol: s for s in sizes(run)}
    alone = names[0].strip("1/()") if len(names) == 1 else ""  # a meaning only where one size fits
    meaning = table[alone].meaning if alone in table else ""
    line = f"{name} is the expected {name} times {fmt(c)}{said}" + (f" ({meaning})" if meaning else "")
    hidden = f"{name} is the expected {name} times " + (" = ".join(names) if names else "a constant")
    return Finding("scaled", line, hidden)


def offset(run, name, got, e, fit):
    if got.shape != e.shape or not telling(e):
        return None
    d = got.astype(np.float64) - e.astype(np.float64)
    k = float(np.median(d))
    scale = SIGNIFICANT * float(np.abs(e).max())  # an offset below this is rounding, not a mistake
    if abs(k) > scale and fit.same(e + int(round(k)) if fit.integer else e.astype(np.float64) + k):
        size = str(int(round(abs(k)))) if fit.integer else fmt(abs(k))
        return Finding("offset", f"{name} is the expected {name} {'plus' if k > 0 else 'minus'} {size} everywhere",
                       f"{name} is the expected {name} off by the same constant everywhere")
    if e.ndim == 4 and e.shape[1] > 1:
        per = np.median(d, axis=(0, 2, 3))
        if np.abs(per).max() <= scale:
            return None
        ref = e.astype(np.float64) + per.reshape(1, -1, 1, 1)
        if fit.same(ref):
            for k_, v in run.inputs.items():
                if isinstance(v, np.ndarray) and v.shape == per.shape:
                    for sign, word in ((1, "plus"), (-1, "minus")):
                        if np.allclose(per, sign * v, rtol=fit.rtol, atol=ATOL):
                            line = f"{name} is the expected {name} {word} {k_} along the channels (axis 1)"
                            return Finding("offset", line, line)
            return Finding("offset", f"{name} is the expected {name} plus one constant per channel (axis 1), "
                           "the same at every pixel of a channel",
                           f"{name} is the expected {name} off by one constant per channel")
    return None


# ----------------------------------------------------------------- a sum left out, a border kept or cropped
def unsummed(run, name, got, e, fit):
    """``got`` has more axes than the expected value and sums to it over some of them: a sum left out."""
    extra = got.ndim - e.ndim
    if extra < 1 or extra > 2 or not telling(got) or not e.any() or fit.integer:
        return None
    for axes in itertools.combinations(range(got.ndim), extra):
        kept = tuple(n for a, n in enumerate(got.shape) if a not in axes)
        if kept == e.shape and fit.same_values(got.sum(axis=axes), e):
            table = sizes(run)
            what = ", ".join(f"axis {a} (of size {got.shape[a]}{named_as(got.shape[a], table)})" for a in axes)
            line = f"{name} has the expected values before a sum over {what}: sum over it as well"
            return Finding("unsummed", line, line)
    return None


def named_as(n, table):
    """" = Ho = Wo" for a size the case names (every plain symbol of that value, the output's first), else ""."""
    hits = [s.symbol for s in table if s.value == n and n > 1 and "*" not in s.symbol and "+" not in s.symbol]
    hits.sort(key=lambda h: ("Ho", "Wo", "N").index(h) if h in ("Ho", "Wo", "N") else 3)
    return "".join(f" = {h}" for h in hits[:4])


def block(run, name, got, e, fit):
    """The expected value is a block of ``got`` (a border too many: zeros or other values around it), or ``got`` a
    block of the expected value (rows or columns missing), along the last two axes."""
    if got.ndim != e.ndim or got.ndim < 2 or got.shape[:-2] != e.shape[:-2] or got.shape == e.shape:
        return None
    (gh, gw), (eh, ew) = got.shape[-2:], e.shape[-2:]
    if gh >= eh and gw >= ew and telling(e):
        for a in range(gh - eh + 1):
            for b in range(gw - ew + 1):
                if fit.same_values(got[..., a:a + eh, b:b + ew], e):
                    rest = got.astype(np.float64).copy()
                    rest[..., a:a + eh, b:b + ew] = 0
                    zeros = "of zeros" if not rest.any() else "holding other values"
                    line = (f"{name} holds the expected {name} in rows {a}-{a + eh - 1} and columns {b}-{b + ew - 1} "
                            f"of its {gh} x {gw}: {border(a, gh - eh - a, b, gw - ew - b)} {zeros} too many")
                    return Finding("extra_border", line, line)
    if gh <= eh and gw <= ew and telling(got):
        for a in range(eh - gh + 1):
            for b in range(ew - gw + 1):
                if fit.same_values(got, e[..., a:a + gh, b:b + gw]):
                    line = (f"{name} is rows {a}-{a + gh - 1} and columns {b}-{b + gw - 1} of the expected {eh} x {ew} "
                            f"{name}: {border(a, eh - gh - a, b, ew - gw - b)} missing")
                    return Finding("cropped", line, line)
    return None


def border(top, bottom, left, right):
    """"1 row at the bottom, 2 columns at the left": the rows and columns of a border, side by side."""
    if top == bottom == left == right:
        return f"a {top}-pixel border"
    sides = ((top, "row", "top"), (bottom, "row", "bottom"), (left, "column", "left"), (right, "column", "right"))
    return ", ".join(f"{n} {word}{'s' if n > 1 else ''} at the {side}" for n, word, side in sides if n)
