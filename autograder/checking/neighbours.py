"""Neighbouring configurations (structural evidence, structure.py): the oracle's value for the case with one thing
changed, compared with the student's wrong value. Driven by the part's table entry alone:

- each option the case gives as a pair (h, w) with h != w: swapped, and each of its values used for both axes;
- each option left at its default (padding and output_padding 0, dilation and stride 1, output_size None), or
  set to 2 (the lecture's examples) where it is a stride, kernel, scale or dilation: the whole value or (an
  option that changes the output's size) its first Ho x Wo positions; where one changed configuration is
  several of these (a 2 written into the code, or the 2 of (2, 3) used for both axes), each is a candidate;
- each optional input left out (b=None);
- a loop that stops early: the value of the same case with an input's (a forward) or dout's (a backward) last
  row or column, or its rows or columns from one of the case's sizes on, left out (zero);
- another layer on the same inputs: an oracle function that takes the same arguments (max_pool2d for
  avg_pool2d, bed_of_nails for nearest_upsample), the same value of its result.

The variants are computed on the grader's side from the evidence only (``run.variant`` and ``run.memo``: once per
batch in grade-all), never from what the student returned.
"""

import functools
import inspect
import math

import numpy as np

from .difficulties import none_default
from .inputs import pair
from .sizes import geometry
from .fits import Finding, telling
from .symbols import equals, sizes

NEUTRAL = {"padding": 0, "output_padding": 0, "dilation": 1, "stride": 1, "output_size": None}
FIXED = ("stride", "kernel_size", "scale_factor", "dilation")  # options the lecture's examples set to 2
WHAT = {"padding": "no padding", "output_padding": "no output_padding", "dilation": "adjacent taps",
        "stride": "a stride of 1", "output_size": "the default output size"}


def shown(v):
    return "None" if v is None else str(tuple(v)) if isinstance(v, tuple) else str(v)


def option_changes(run):
    """[(finding name, what the change is, {option: new value})] of the case's neighbouring configurations."""
    out = []
    for k in run.part.options:
        if k not in run.options:
            continue
        v = run.options[k]
        neutral = NEUTRAL.get(k, "unset")
        if k == "stride" and none_default(run.part, k):
            neutral = None
        if neutral != "unset" and v is not None and pair_or(v) != pair_or(neutral):
            out.append(("option_ignored", f"{k}={shown(neutral)} gives ({WHAT.get(k, 'the default')}): the case "
                        f"has {k}={shown(v)}, and it is left out", {k: neutral}))
        if isinstance(v, tuple) and len(v) == 2 and v[0] != v[1]:
            out.append(("option_swapped", f"{k}={shown(v[::-1])} gives: the case has {k}={shown(v)}, "
                        f"{v[0]} along H (rows) and {v[1]} along W (columns)", {k: v[::-1]}))
            for i, axis in enumerate(("H", "W")):
                if neutral == "unset" or pair_or(neutral) != (v[i], v[i]):  # the default: said above
                    out.append(("option_one_value", f"{k}={shown((v[i], v[i]))} gives (the case has "
                                f"{k}={shown(v)}: {v[i]}, its value along {axis}, for both axes)", {k: (v[i], v[i])}))
        if k in FIXED and v is not None and pair_or(v) != (2, 2):
            out.append(("option_fixed", f"{k}=2 gives (the case has {k}={shown(v)})", {k: 2}))
    return out


def pair_or(v):
    try:
        return pair(v)
    except (TypeError, ValueError):
        return v


class Shim:
    """A CaseRun's part, inputs and options with some options changed (for sizes.geometry)."""

    def __init__(self, run, options):
        self.part, self.inputs, self.case = run.part, run.inputs, run.case
        self.options = {**run.options, **options}


def cropped(run, value, changed, target):
    """``value`` (the variant's) cut to ``target``'s shape where the change made the output larger: its first
    Ho x Wo positions (the last two axes, or a flattened last axis of Ho*Wo windows). None where that is not it."""
    if value.ndim != target.ndim or value.shape[:-2 if value.ndim == 4 else -1] != target.shape[:-2 if
                                                                                              target.ndim == 4 else -1]:
        return None
    if value.ndim == 4:
        ho, wo = target.shape[2:]
        return value[..., :ho, :wo] if value.shape[2] >= ho and value.shape[3] >= wo else None
    if value.ndim == 3:
        g, g2 = geometry(run), geometry(Shim(run, changed))
        if g is None or g2 is None or g.kind not in ("conv", "fold"):
            return None
        ho, wo = (g.conv_out(a) for a in range(2))
        ho2, wo2 = (g2.conv_out(a) for a in range(2))
        if ho * wo != target.shape[2] or ho2 * wo2 != value.shape[2] or ho2 < ho or wo2 < wo:
            return None
        return value.reshape(*value.shape[:2], ho2, wo2)[..., :ho, :wo].reshape(target.shape)
    return None


def options_check(run, name, got, e, fit):
    """[Finding] of every explanation of the first changed configuration whose value ``got`` is."""
    backward = name not in run.part.outputs
    changes = option_changes(run)
    for changed in unique(c for _, _, c in changes):  # the same configuration, however written, computed once
        try:
            value = run.variant(options=changed, backward=backward)[name]
        except Exception:  # noqa: BLE001 - torch refuses the neighbour (a negative size, a dout of another shape)
            continue
        if not isinstance(value, np.ndarray) or not telling(value):
            continue
        where = ""
        if not fit.same(value):
            part_of = None
            if not backward and value.shape != got.shape and got.shape == e.shape:
                part_of = cropped(run, value, changed, e)
            if part_of is None or not fit.same(part_of):
                continue
            windows = " x ".join(str(v) for v in e.shape[2:]) if e.ndim == 4 else "Ho x Wo"
            where = f", on its first {windows} output positions"
        return [Finding(kind, f"{name} is what {what}{where}", f"{name} is what {what}{where}")
                for kind, what, c in changes if normal(c) == normal(changed)]
    return []


def normal(change):
    return {k: pair_or(v) for k, v in change.items()}


def unique(changes):
    out = []
    for change in changes:
        if all(normal(change) != normal(c) for c in out):
            out.append(change)
    return out


def inputs_check(run, name, got, e, fit):
    backward = name not in run.part.outputs
    for k, spec in run.part.inputs.items():
        if (spec or {}).get("optional") and run.inputs.get(k) is not None:
            try:
                value = run.variant(inputs={k: None}, backward=backward)[name]
            except Exception:  # noqa: BLE001
                continue
            if isinstance(value, np.ndarray) and telling(value) and fit.same(value):
                line = f"{name} is what {k}=None gives: {k} is left out"
                return Finding("input_ignored", line, line)
    return None


# ----------------------------------------------------------------- a loop that stops early
def cuts(n, axis, run):
    """[(k, why)] of where a loop over ``n`` rows (axis 2) or columns (axis 3) may stop early: one short, or at
    one of the case's sizes (or that size over the stride, rounded up)."""
    table = sizes(run)
    along = ("Ho", "H", "H + 2*ph") if axis == 2 else ("Wo", "W", "W + 2*pw")
    prefer = along + ("Wo", "W", "W + 2*pw", "Ho", "H", "H + 2*ph")
    out = [(n - 1, equals(n - 1, table, prefer=prefer))] if n > 1 else []
    stride = pair(run.options["stride"])[axis - 2] if run.options.get("stride") is not None else 1
    for s in table:
        for k in {s.value, math.ceil(s.value / stride)}:
            if 0 < k < n - 1 and all(k != c for c, _ in out):
                why = equals(k, table, prefer=prefer) or f"{k} = ceil({s.symbol}/{'sh' if axis == 2 else 'sw'})"
                out.append((k, why))
    return out


def truncated(a, axis, k):
    b = np.array(a, copy=True)
    b[(slice(None),) * axis + (slice(k, None),)] = 0
    return b


def stops_early(run, name, got, e, fit):
    backward = name not in run.part.outputs
    if backward:
        if run.dout is None or run.dout.ndim != 4:
            return None
        arrays = [(run.part.upstream, run.dout)]
    else:
        arrays = [(k, v) for k, v in run.args if isinstance(v, np.ndarray) and v.ndim == 4 and v.dtype.kind == "f"]
    for label, a in arrays:
        for axis, word in ((2, "row"), (3, "column")):
            n = a.shape[axis]
            for k, why in cuts(n, axis, run):
                value = variant_cut(run, label, a, axis, k, backward).get(name)
                if isinstance(value, np.ndarray) and telling(value) and fit.same(value):
                    if k == n - 1:
                        line = (f"{name} is what {label} gives when its last {word} ({word} {why or k}) is left out "
                                "(set to 0)")
                    else:
                        line = (f"{name} is what {label} gives when its {word}s from {k} on are left out (set to 0)"
                                + (f": {why}" if why else ""))
                    return Finding("stops_early", line, line)
    return None


def variant_cut(run, label, a, axis, k, backward):
    """The case's values with ``label``'s entries from ``k`` on along ``axis`` zeroed (dout: the same forward)."""
    if not backward:
        try:
            return run.variant(inputs={label: truncated(a, axis, k)}, backward=False)
        except Exception:  # noqa: BLE001
            return {}
    def compute():
        try:
            return run.with_upstream(truncated(run.dout, axis, k))
        except Exception:  # noqa: BLE001 - the oracle refuses (kept as such: computed once per batch)
            return {}
    return run.memo(("structure", "dout", axis, k), compute)



# ----------------------------------------------------------------- another layer on the same inputs
@functools.cache
def parameters(name):
    """The named parameters of an oracle function, or None (a generic wrapper, *args)."""
    from . import oracle

    fn = getattr(oracle, name, None)
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if fn is None or any(p.kind == p.VAR_POSITIONAL for p in params):
        return None
    return tuple(p.name for p in params if p.kind != p.VAR_KEYWORD), any(p.kind == p.VAR_KEYWORD for p in params)


def other_layers(run):
    """[name] of the oracle's other functions that take exactly the arrays this case passes (then dout) and its
    options."""
    from . import oracle

    own = parameters(run.part.oracle)
    if not own:
        return []
    out = []
    for name in sorted(vars(oracle)):
        theirs = parameters(name) if name != run.part.oracle and not name.startswith("_") else None
        if not theirs or "dout" not in theirs[0]:
            continue
        arrays = list(theirs[0][:theirs[0].index("dout")])  # what it takes before the upstream gradient
        if arrays == [k for k, _ in run.args] and (theirs[1] or set(run.options) <= set(theirs[0])):
            out.append(name)
    return out


def other_layer(run, name, got, e, fit):
    from . import oracle

    backward = name not in run.part.outputs
    for other in other_layers(run):
        def compute(other=other):
            try:
                fn = getattr(oracle, other)
                outs, grads = fn(*[v for _, v in run.args], dout=run.dout if backward else None, **run.options)
                return run._named(outs, grads)
            except Exception:  # noqa: BLE001 - that layer refuses these inputs (kept as such: once per batch)
                return {}
        value = run.memo(("structure", "layer", other, backward), compute).get(name)
        if isinstance(value, np.ndarray) and telling(value) and fit.same(value):
            line = f"{name} is what {other} gives on this case's inputs (another layer's {name})"
            return Finding("other_layer", line, line)
    return None
