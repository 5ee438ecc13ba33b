"""The catalogue of known mistakes: each one recognised from the evidence of one case, and what to tell
the student.

A part's ``mistakes:`` in the case table names entries of ``MISTAKES``, most specific first. An entry
says which returned values it can explain (``on``: value names such as ``out`` or ``indices``; ``grad``
means every gradient) and when its evidence holds: ``test(run, name, got)`` gets the case's evidence
(``layer.CaseRun``: the grader's inputs and options, the oracle's answers, the upstream gradient, and
``variant(...)``, which recomputes the oracle with some inputs or options changed) and returns True
when the student's wrong value is what the mistake produces: the buggy variant recomputed on the
grader's own inputs (torch or numpy, here, on the grader's side), or a structural fact such as "dx is
empty along an axis whose padding is 0". It never runs student code.
In grade-all, ``run.variant`` and ``run.memo`` are computed once per batch (oracle_cache.py): what they
compute must come from the evidence only, never from ``got`` (compare ``got`` with it afterwards).

A wrong value gets the first entry of its part's list whose evidence holds; a case names at most one
mistake (the first value's), so a consequence of a forward mistake is not diagnosed again in the
gradient. ``general`` entries are advice, not a diagnosis: they are labelled so, and shown only on a
case where no mistake was recognised, so they never contradict one.

A new known mistake is one entry here, its name in the part's ``mistakes:`` list, and a mutant in
tests/mutants/ whose ``NAMED`` proves that a visible case names it.
"""

from dataclasses import dataclass

import numpy as np

from .compare import matches
from .sizes import geometry, overlapping

MISTAKES = {}


@dataclass(frozen=True)
class Mistake:
    name: str
    on: tuple
    test: object
    title: str  # a few words, for the summary and the score table
    text: str  # what the mistake is and how to fix it
    general: bool = False

    def concerns(self, value_name):
        return value_name in self.on or ("grad" in self.on and value_name.startswith(("d", "grads[")))

    def line(self):
        if self.general:
            return f"hint (general advice, not a diagnosis): {self.text}"
        return f"likely mistake: {self.title} [{self.name}]: {self.text}"


def mistake(name, on, title, text):
    def register(test):
        MISTAKES[name] = Mistake(name, tuple(on), test, title, text)
        return test

    return register


def advice(name, on, text, when=lambda run: True):
    """General advice: offered on a wrong value when ``when`` holds and no mistake was recognised."""
    MISTAKES[name] = Mistake(name, tuple(on), lambda run, value, got: when(run), "general advice", text, True)


def diagnose(names, run, value_name, got):
    """(the first mistake among ``names`` whose evidence holds for ``got``, [general advice that applies])."""
    advised = []
    for n in names:
        m = MISTAKES[n]
        if not m.concerns(value_name):
            continue
        try:
            hit = bool(m.test(run, value_name, got))
        except Exception:  # noqa: BLE001 - evidence that cannot be evaluated on this value does not hold
            continue
        if hit and m.general:
            advised.append(m)
        elif hit:
            return m, advised
    return None, advised


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
    from . import oracle as module  # torch: already imported by the time a value is judged

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


# ----------------------------------------------------------------- general advice (no diagnosis)
advice("strided_backward", ["grad"], "this case has a stride or dilation > 1: the backward must use the same "
                                     "stride, padding and dilation as the forward",
       when=lambda run: not_one(run.options.get("stride")) or not_one(run.options.get("dilation")))
advice("toeplitz_layout", ["T"], "row r = (f, i, j) of T holds w[f] at the columns (c, i*s - p + kh*d, "
                                 "j*s - p + kw*d) of the input pixels inside the image")
advice("unpool_flat_index", ["out"], "put each value at its flat index (row * W_out + col) of its own (n, c) plane")
advice("avg_overlap_crop", ["dx"], "windows that overlap add up (+=) and the padding border is cropped away",
       when=lambda run: overlapping(geometry(run)) or nonzero(run.options.get("padding")))


# The entries of the catalogue, by topic (each registers its own on import).
from . import mistakes_conv, mistakes_layers  # noqa: E402, F401
