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


_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def sanitize(text, limit=1500):
    """Make text from student code printable: no escapes, no control chars, capped."""
    if not isinstance(text, str):
        try:
            text = str(text)
        except Exception:
            text = "<unprintable>"
    text = text.encode("utf-8", errors="replace").decode("utf-8", errors="replace")
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace") if any(
        0xD800 <= ord(c) <= 0xDFFF for c in text) else text
    text = _CONTROL.sub("?", text)
    if len(text) > limit:
        text = text[:limit] + f"... [{len(text) - limit} more characters cut]"
    return text


def fmt(v):
    v = float(v)
    return f"{v:.6g}"


def compare_array(name, got, expected, rtol=RTOL_OUT, atol=ATOL, integer=False):
    """None when ``got`` matches; otherwise a list of lines explaining how it differs."""
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
    if integer:
        bad = got != expected
    else:
        g = got.astype(np.float64)
        e = expected.astype(np.float64)
        nan_mismatch = np.isnan(g) != np.isnan(e)
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.abs(g - e)
            bad = ~(diff <= atol + rtol * np.abs(e)) & ~(np.isnan(g) & np.isnan(e))
        bad |= nan_mismatch
    if not bad.any():
        return None
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    n_bad, n = int(bad.sum()), bad.size
    lines = [f"{name}: {n_bad} of {n} values wrong; first at index {first}: "
             f"got {fmt(got[first])}, expected {fmt(expected[first])}"]
    if not integer:
        if np.isnan(got).any() or np.isinf(got).any():
            lines.append(f"{name}: contains NaN or inf")
        else:
            with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
                d = np.abs(got - expected)
                rel = d / np.maximum(np.abs(expected), 1e-12)
            lines.append(f"{name}: max abs error {fmt(d.max())}, max rel error {fmt(rel[bad].max())}")
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
