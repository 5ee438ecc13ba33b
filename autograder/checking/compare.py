"""Compare what student code returned with torch's answer, and explain it.

Order of checks: type, shape, dtype, values (NaN-safe), so the first message
is the most basic thing that is wrong. Messages are written for a student at
2 a.m.; ``sanitize`` makes any text that came out of student code safe to show.
"""

import re

import numpy as np

from ..sandbox.codec import Bad, Scalar, decode  # noqa: F401  (what crosses the pipe is codec.py's)

RTOL_OUT = 1e-7
RTOL_GRAD = 1e-6
ATOL = 1e-9


def type_name(value):
    if isinstance(value, np.ndarray):
        return f"ndarray {value.dtype} {tuple(value.shape)}"
    if isinstance(value, (Bad, Scalar)):
        return repr(value)
    if value is None:
        return "None"
    if isinstance(value, tuple):
        return f"tuple of {len(value)}"
    return type(value).__name__


_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def sanitize(text, limit=1500):
    """Make text from student code printable: no escapes, no control chars, capped."""
    if not isinstance(text, str):
        try:
            text = str(text)
        except Exception:
            text = "<unprintable>"
    text = text.encode("utf-8", errors="replace").decode("utf-8", errors="replace")
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace") if _SURROGATE.search(text) else text
    text = _CONTROL.sub("?", text)
    if len(text) > limit:
        text = text[:limit] + f"... [{len(text) - limit} more characters cut]"
    return text


def fmt(v):
    v = float(v)
    return f"{v:.6g}"


def wrong_mask(got, expected, rtol=RTOL_OUT, atol=ATOL):
    """The elements of ``got`` (same shape as ``expected``) that are wrong: off by more than atol + rtol * |e|,
    or NaN where the expected value is not (integers: not equal)."""
    if expected.dtype.kind in "iu" and got.dtype.kind in "iu":
        return got != expected
    g, e = got.astype(np.float64), expected.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        bad = ~(np.abs(g - e) <= atol + rtol * np.abs(e)) & ~(np.isnan(g) & np.isnan(e))
    return bad | (np.isnan(g) != np.isnan(e))


def max_rel_error(got, expected, bad, atol=ATOL):
    """The largest relative error over the wrong elements whose expected value is not 0 (within atol): a
    relative error where 0 is expected says nothing (1e12 for a 1e-12 denominator). None when there is none."""
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        e = expected.astype(np.float64)
        rel = np.abs(got.astype(np.float64) - e) / np.abs(e)
    keep = bad & (np.abs(e) > atol) & np.isfinite(rel)
    return float(rel[keep].max()) if keep.any() else None


def compare_array(name, got, expected, rtol=RTOL_OUT, atol=ATOL, integer=False, errors=True):
    """None when ``got`` matches; otherwise a list of lines explaining how it differs (``errors``: with a line of
    the largest errors, which a caller showing a comparison row per value leaves out)."""
    if not isinstance(got, np.ndarray):
        return [f"{name}: expected a numpy array of shape {tuple(expected.shape)}, got {type_name(got)}"]
    if got.shape != expected.shape:
        lines = [f"{name}: wrong shape {tuple(got.shape)}, expected {tuple(expected.shape)}"]
        lines += shape_hints(got.shape, expected.shape)
        return lines
    if got.dtype != expected.dtype:
        line = f"{name}: wrong dtype {got.dtype}, expected {expected.dtype}"
        if got.dtype == np.float32:
            line += " (hint: something converted to float32; keep float64 end to end)"
        elif expected.dtype == np.int64 and got.dtype.kind in "iu":
            line += " (hint: build indices with dtype=np.int64 or .astype(np.int64))"
        elif expected.dtype.kind == "f" and got.dtype.kind in "iub":
            line += (" (hint: the result was computed in integers; "
                     "use float arrays such as np.zeros(..., dtype=x.dtype))")
        return [line]
    bad = (got != expected) if integer else wrong_mask(got, expected, rtol, atol)
    if not bad.any():
        return None
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    n_bad, n = int(bad.sum()), bad.size
    lines = [f"{name}: {n_bad} of {n} values wrong; first at index {first}: "
             f"got {fmt(got[first])}, expected {fmt(expected[first])}"]
    if not integer:
        if np.isnan(got).any() or np.isinf(got).any():
            lines.append(f"{name}: contains NaN or inf")
        elif errors:
            with np.errstate(invalid="ignore", over="ignore"):
                d = np.abs(got.astype(np.float64) - expected)
            rel = max_rel_error(got, expected, bad, atol)
            lines.append(f"{name}: max abs error {fmt(d.max())}"
                         + (f", max rel error {fmt(rel)}" if rel is not None else " (where 0 is expected)"))
    return lines


def shape_hints(got, expected):
    """A hint that holds by the shapes alone: the right sizes in another order (an axis-order mistake).
    Wrong sizes along H and W are explained by the case's output-size formula and the mistakes catalogue
    (sizes.py, mistakes.py), which know the case's geometry."""
    if len(got) == len(expected) and sorted(got) == sorted(expected) and tuple(got[:2]) != tuple(expected[:2]):
        return ["hint: the right sizes in the wrong order: check the axis order (NCHW, weights F,C,KH,KW)"]
    return []


def matches(got, expected, rtol=RTOL_OUT):
    """True when got has expected's shape and values (used to recognise a known mistake)."""
    return (isinstance(got, np.ndarray) and got.shape == expected.shape
            and np.allclose(got, expected, rtol=rtol, atol=1e-7, equal_nan=False))
