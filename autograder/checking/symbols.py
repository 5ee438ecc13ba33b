"""The named sizes of one case, in the docstrings' own symbols: N, C, H, W of x, F (C_in, C_out of a transposed
convolution's weights), KH, KW, the strides, paddings and dilations, the output's Ho, Wo, and their products.

Structural evidence (structure.py) says what a number it found equals ("0.25 = 1/N", "dout's columns from 7 =
Ho on"), and splits an axis of a flattened value into the sizes it is made of (im2col's C*KH*KW rows, T's
F*Ho*Wo rows): ``sizes`` gives the first, ``runs`` the second. Everything comes from the part's table entry (its
inputs' shapes, its options, its ``size`` kind), so a new part gets its symbols without an entry here.
"""

import math
from dataclasses import dataclass

from .sizes import expected_size, geometry

MEANING = {
    "N": "the batch size", "C": "the input's channels", "F": "the number of filters", "C_in": "the input's channels",
    "C_out": "the output's channels", "H": "the input's height", "W": "the input's width", "KH": "the kernel's height",
    "KW": "the kernel's width", "Ho": "the output's height", "Wo": "the output's width", "sh": "the stride along H",
    "sw": "the stride along W", "ph": "the padding along H", "pw": "the padding along W", "dh": "the dilation along H",
    "dw": "the dilation along W", "fh": "the scale along H", "fw": "the scale along W",
}


@dataclass(frozen=True)
class Size:
    symbol: str  # "N", "KH*KW", "H + 2*ph"
    value: int

    @property
    def meaning(self):
        return MEANING.get(self.symbol, "")


def _base(run):
    """{symbol: value} of the case's plain sizes (an ordered dict: most telling first)."""
    out = {}
    x = run.inputs.get("x")
    first = next((v for v in run.expected.values() if getattr(v, "ndim", 0) == 4), None)
    batch = x if getattr(x, "ndim", 0) == 4 else first
    if batch is not None:
        out["N"] = int(batch.shape[0])
    w = run.inputs.get("w")
    tconv = run.part.oracle == "conv_transpose2d"
    if getattr(w, "ndim", 0) == 4:
        if tconv:
            out["C_in"], out["C_out"] = int(w.shape[0]), int(w.shape[1])
        else:
            out["F"], out["C"] = int(w.shape[0]), int(w.shape[1])
    if "C" not in out and "C_in" not in out and batch is not None:
        out["C"] = int(batch.shape[1])
    g = geometry(run)
    if g is not None:
        if g.size is not None:
            out["H"], out["W"] = (int(v) for v in g.size)
        if g.kind == "scale":
            out["fh"], out["fw"] = (int(v) for v in g.stride)
        else:
            out["KH"], out["KW"] = (int(v) for v in g.kernel)
            out["sh"], out["sw"] = (int(v) for v in g.stride)
        if g.kind in ("conv", "tconv", "fold", "pool", "unpool"):
            out["ph"], out["pw"] = (int(v) for v in g.padding)
        if g.kind in ("conv", "tconv", "fold", "dilate"):
            out["dh"], out["dw"] = (int(v) for v in g.dilation)
        try:
            if g.kind in ("conv", "pool", "fold"):
                out["Ho"], out["Wo"] = (g.conv_out(a) for a in range(2))
            elif g.size is not None:
                out["Ho"], out["Wo"] = (int(v) for v in expected_size(g))
        except Exception:  # noqa: BLE001 - a geometry torch refuses has no output size
            pass
    return out


def sizes(run):
    """[Size] of the case: the plain sizes, then their telling products (KH*KW, Ho*Wo, N*Ho*Wo, C*KH*KW, ...)."""
    base = _base(run)
    out = [Size(k, v) for k, v in base.items()]
    products = [("KH", "KW"), ("Ho", "Wo"), ("H", "W"), ("N", "Ho", "Wo"), ("C", "KH", "KW"), ("F", "Ho", "Wo"),
                ("C", "H", "W"), ("sh", "sw"), ("fh", "fw"), ("N", "C"), ("C_out", "Ho", "Wo"), ("C_in", "H", "W")]
    for names in products:
        if all(n in base for n in names):
            out.append(Size("*".join(names), math.prod(base[n] for n in names)))
    for n, p in (("H", "ph"), ("W", "pw")):
        if n in base and base.get(p):
            out.append(Size(f"{n} + 2*{p}", base[n] + 2 * base[p]))
    return out


def runs(run):
    """Symbol sequences an axis of a value may be flattened from, outer first, with their sizes: the axes of the
    case's arrays in their own order ((C, H, W) of x, (C, KH, KW) and (KH, KW) of w, (F, Ho, Wo) of the output)."""
    base = _base(run)
    seqs = [("C", "H", "W"), ("H", "W"), ("C", "KH", "KW"), ("KH", "KW"), ("F", "Ho", "Wo"), ("Ho", "Wo"),
            ("C_out", "Ho", "Wo"), ("C_in", "H", "W"), ("C_in", "KH", "KW")]
    out = []
    for seq in seqs:
        if all(n in base for n in seq) and all(base[n] > 1 for n in seq):
            out.append(tuple((n, base[n]) for n in seq))
    return out


def equals(value, table, limit=3, prefer=()):
    """The symbols of ``table`` ([Size]) that ``value`` (an integer, a count of rows, ...) equals, as
    "7 = Ho" or "7 = H + 2*ph", those in ``prefer`` first; "" when none does."""
    hits = [s.symbol for s in table if s.value == value and s.value > 1]
    hits.sort(key=lambda h: prefer.index(h) if h in prefer else len(prefer))
    return f"{value} = {' = '.join(hits[:limit])}" if hits else ""


def ratio_names(c, table, close, limit=3):
    """What a factor ``c`` equals among the case's sizes: ["1/N", "KH*KW"] (``close(a, b)``: equal within the
    comparison's tolerance); ratios of two plain sizes ("KH/KW") only where no single size fits."""
    names = []
    for s in table:
        if s.value > 1 and close(c, s.value):
            names.append(s.symbol)
        elif s.value > 1 and close(c, 1.0 / s.value):
            names.append(f"1/{s.symbol}" if "*" not in s.symbol and "+" not in s.symbol else f"1/({s.symbol})")
    if not names:
        plain = [s for s in table if "*" not in s.symbol and "+" not in s.symbol and s.value > 1]
        for a in plain:
            for b in plain:
                if a.value != b.value and close(c, a.value / b.value):
                    names.append(f"{a.symbol}/{b.symbol}")
    seen = []
    for n in names:
        if n not in seen:
            seen.append(n)
    return seen[:limit]
