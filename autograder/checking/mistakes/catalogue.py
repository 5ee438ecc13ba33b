"""What a known mistake is, and the helpers its evidence is built from.

A ``Mistake`` says which returned values it can explain (``on``: value names such as ``out`` or
``indices``; ``grad`` means every gradient) and when its evidence holds: ``test(run, name, got)`` gets the
case's evidence (``layer.CaseRun``: the grader's inputs and options, the oracle's answers, the upstream
gradient, and ``variant(...)``, which recomputes the oracle with some inputs or options changed) and
returns True when the student's wrong value is what the mistake produces: the buggy variant recomputed on
the grader's own inputs (torch or numpy, here, on the grader's side), or a structural fact such as "dx is
empty along an axis whose padding is 0". It never runs student code. In grade-all, ``run.variant`` and
``run.memo`` are computed once per batch (oracle_cache.py): what they compute must come from the evidence
only, never from ``got`` (compare ``got`` with it afterwards).

An entry is made by decorating its test (``@mistake(name, on, title, text)``) in a topic module of this
package; ``general`` entries (``advice(...)``) are advice, not a diagnosis: labelled so, and shown only on
a case where no mistake was recognised, so they never contradict one.
"""

from dataclasses import dataclass

import numpy as np

from ..compare import matches
from ..sizes import geometry


@dataclass(frozen=True)
class Mistake:
    name: str
    on: tuple
    test: object
    title: str  # a few words, for the summary and the score table
    text: object  # what the mistake is and how to fix it: one text, or {part kind: text} with a "" default
    general: bool = False
    refines: tuple = ()  # more general mistakes whose evidence holds whenever this one's does
    vague: bool = False  # general advice that says less than where the wrong values are (left out then)
    structural: bool = False  # found by structure.py on any part, never listed in a part's ``mistakes``

    def concerns(self, value_name):
        if self.structural:
            return True
        return value_name in self.on or ("grad" in self.on and value_name.startswith(("d", "grads[")))

    def text_for(self, part=None):
        """The text in the words of ``part``'s kind (its ``size:`` in the table: conv, pool, tconv, ...)."""
        if isinstance(self.text, str):
            return self.text
        kind = getattr(part, "size", "") or ""
        return self.text.get(kind, self.text[""])

    def line(self, part=None, label="likely mistake"):
        if self.general:
            return f"hint (general advice, not a diagnosis): {self.text_for(part)}"
        return f"{label}: {self.title} [{self.name}]: {self.text_for(part)}"


def mistake(name, on, title, text, refines=()):
    """Decorator: the test function becomes the catalogue entry ``name`` (a Mistake). ``text``: one text, or
    a dict {part kind: text} (the table's ``size:`` kinds) with a default under "" where the words differ."""
    def make(test):
        if isinstance(text, dict) and "" not in text:
            raise ValueError(f"mistake {name!r}: a text per kind needs a default under \"\"")
        return Mistake(name, tuple(on), test, title, text, refines=tuple(refines))

    return make


def advice(name, on, text, when=lambda run: True, vague=False):
    """General advice: offered on a wrong value when ``when`` holds and no mistake was recognised. ``vague``:
    left out when the feedback can say where in the array the wrong values are (regions.py), which says more."""
    return Mistake(name, tuple(on), lambda run, value, got: when(run), "general advice", text, True, vague=vague)


@dataclass
class Diagnosis:
    """The evidence of every mistake of a part on one wrong value."""

    found: list  # the mistakes whose evidence holds, a refined (more general) one left out: one, or candidates
    advised: list  # general advice that applies
    held: dict  # {mistake name: whether its evidence holds} for every mistake tested on this value


def diagnose(catalogue, names, run, value_name, got):
    """Test every mistake among ``names`` that concerns the value: a Diagnosis. Two mistakes that both hold
    (their variants give the same value, or the same wrong shape) are candidates, never one of them alone,
    unless one refines the other (ties_last_max is a case of ties_first_max: the specific one is named)."""
    advised, hits, held = [], [], {}
    for n in names:
        m = catalogue[n]
        if not m.concerns(value_name):
            continue
        try:
            hit = bool(m.test(run, value_name, got))
        except Exception:  # noqa: BLE001 - evidence that cannot be evaluated on this value does not hold
            hit = False
        if m.general:
            if hit:
                advised.append(m)
            continue
        held[n] = hit
        if hit:
            hits.append(m)
    refined = {r for m in hits for r in m.refines}
    return Diagnosis([m for m in hits if m.name not in refined], advised, held)


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
    from .. import oracle as module  # torch: already imported by the time a value is judged

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
