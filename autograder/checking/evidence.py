"""The evidence of one case, as a checker collects it: what failed, the credit earned, the mistake
recognised, a comparison row per wrong value, explanations, and what the student's code printed.

A checker returns a ``Report`` per case; grading/feedback.py renders it. Nothing here formats for a
terminal or for Gradescope; text that came out of student code is made one line (text.one_line) before
it is kept.

``located`` holds what a hidden case may show beyond its configuration (its part's ``hidden_feedback:
where``): lines the grader writes from names, shapes, dtypes and positions only, never a value, a message
or printed text. A student's code can choose what they say (which value is wrong, where, the exception's
type and line), a few bits that are worth nothing in the next grading, whose hidden inputs are new.
"""

import ast
import builtins
import functools
import os
import re
from dataclasses import dataclass, field

import numpy as np

from ..sandbox.codec import Bad, Scalar
from .compare import ATOL, fmt, max_rel_error, type_name, wrong_mask
from .text import one_line


@dataclass
class Report:
    """What a checker found in one case. ``lines`` empty: the case passed."""

    lines: list = field(default_factory=list)
    credit: float = None  # share of the case earned (0..1); None: 1 without problems, else 0
    kind: str = ""  # the failed call's CallError kind (error | timeout | crash | import), if one failed
    mistakes: list = field(default_factory=list)  # names of the recognised mistakes (mistakes.MISTAKES)
    advice: list = field(default_factory=list)  # general advice lines, shown only without a mistake
    rows: list = field(default_factory=list)  # one comparison row (dict) per wrong value
    info: list = field(default_factory=list)  # explanations: size formula, expected shapes
    printed: list = field(default_factory=list)  # [(function, text)] the student's calls printed
    stages: list = field(default_factory=list)  # [(stage, passed)] of a part graded forward + backward
    located: list = field(default_factory=list)  # what a hidden case may show (module docstring): no values
    used: dict = field(default_factory=dict)  # {student function called: [graded functions it ran]}
    candidates: list = field(default_factory=list)  # mistakes that all fit and that this case cannot tell apart
    evidence: dict = field(default_factory=dict)  # {"value": name, "held": {mistake: bool}} of the diagnosis
    wrong: dict = field(default_factory=dict)  # {value: boolean mask of its wrong elements}: visible cases only
    arrays: dict = field(default_factory=dict)  # {value: (got, expected)} of small wrong values: visible cases only

    @property
    def earned(self):
        if self.credit is not None:
            return float(self.credit)
        return 0.0 if self.lines else 1.0

    def printed_by(self, func, text):
        if text and text.strip():
            self.printed.append((func, text))


def mismatch_row(name, got, expected, rtol):
    """One row of the comparison table: got vs expected shape, max abs/rel error (none where every wrong
    value should be 0), first bad index."""
    row = {"value": name, "got": type_name(got), "expected": type_name(expected), "abs": "", "rel": "",
           "first": ""}
    if isinstance(got, np.ndarray) and isinstance(expected, np.ndarray):
        row["got"], row["expected"] = str(tuple(got.shape)), str(tuple(expected.shape))
        if got.shape == expected.shape and got.dtype.kind in "fiub" and got.size:
            with np.errstate(all="ignore"):
                bad = wrong_mask(got, expected, rtol)
                diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
                if bad.any():
                    row["first"] = str(tuple(int(i) for i in np.argwhere(bad)[0]))
                    finite = np.isfinite(diff)
                    if finite.any():
                        row["abs"] = fmt(diff[finite].max())
                        rel = max_rel_error(got, expected, bad, ATOL)
                        row["rel"] = fmt(rel) if rel is not None else "-"
                    else:
                        row["abs"] = "NaN/inf"
    return row


def verdict(name, got, expected, region=None, why_none=""):
    """The located line of one wrong value: which value, whether its type, shape, dtype or values are wrong,
    and where (a regions.Region); never a value."""
    if expected is None:
        return f"{name}: expected None ({why_none})"
    if not isinstance(got, np.ndarray):
        kind = {tuple: "a tuple", list: "a list", dict: "a dict", type(None): "None"}.get(type(got))
        kind = kind or ("a number" if isinstance(got, Scalar) else "an object" if isinstance(got, Bad) else "")
        return f"{name}: expected a numpy array of shape {tuple(expected.shape)}, got {kind or 'something else'}"
    if got.shape != expected.shape:
        # the returned shape only where it is one a mistake could give: an empty array's shape could carry
        # any numbers the code chose
        near = got.ndim == expected.ndim and all(g <= 2 * max(expected.shape) + 8 for g in got.shape)
        shape = tuple(got.shape) if near else f"(a {got.ndim}-d array of another size)"
        return f"{name}: wrong shape {shape}, expected {tuple(expected.shape)}"
    if got.dtype != expected.dtype:
        return f"{name}: wrong dtype {got.dtype}, expected {expected.dtype}"
    if got.dtype.kind == "f" and not np.isfinite(got).all():
        return f"{name}: contains NaN or inf"
    return region.line(name) if region is not None else f"{name}: wrong values"


# ----------------------------------------------------------------- where student code raised
NAMES_ANYWHERE = {"<module>", "<lambda>", "<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>"}
KNOWN_EXCEPTIONS = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)} \
    | {"AxisError", "LinAlgError", "DTypePromotionError", "TooHardError"}
WHERE = re.compile(r"^([A-Za-z_]\w*)\.py, line (\d{1,7}), in ([\w<>]{1,100})$")


@functools.lru_cache(maxsize=64)
def _outline(path, size, mtime):
    """(number of lines, names of the functions and classes) of one source file."""
    source = open(path, encoding="utf-8", errors="replace").read()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return 0, frozenset()
    names = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    return source.count("\n") + 1, frozenset(names)


def outline(path):
    try:
        st = os.stat(path)
        return _outline(str(path), st.st_size, st.st_mtime_ns)
    except OSError:
        return 0, frozenset()


OWN_EXCEPTION = "an exception of your own"


def raised_at(err, files):
    """(exception type, "conv.py, line 42, in conv2d_forward") of a failed call, each only when it checks out:
    the name of a type that Python or numpy define, OWN_EXCEPTION for one of the student's own files (never
    its name: a hidden case's feedback would carry whatever the student named it), and a line of a function
    of one of the run folder's files (``files``: {module: path}, the provided common.py included). "" where
    it does not."""
    head = str(err).split(":", 1)[0].strip()
    classes = set().union(*(outline(p)[1] for p in files.values())) if files else set()
    kind = head if head in KNOWN_EXCEPTIONS else OWN_EXCEPTION if head.isidentifier() and head in classes else ""
    m = WHERE.match(getattr(err, "where", "") or "")
    where = ""
    if m and m.group(1) in files:
        lines, names = outline(files[m.group(1)])
        if 1 <= int(m.group(2)) <= lines and (m.group(3) in names or m.group(3) in NAMES_ANYWHERE):
            where = f"{m.group(1)}.py, line {int(m.group(2))}, in {m.group(3)}"
    return kind, where


STOPPED = {"timeout": "did not finish in time: it was stopped", "memory": "ran out of memory",
           "deadline": "was stopped when the grading's time ran out", "crash": "made the worker die"}


def located_error(err, func, files):
    """The located line of a call that raised: the exception's type and where, never its message; of a call that
    was stopped (a time-out, out of memory, a fatal signal): where the worker's stack dump says it was."""
    kind, where = raised_at(err, files)
    if err.kind in STOPPED:
        return f"{func} {STOPPED[err.kind]} at {where}" if where else ""
    if err.kind != "error":
        return ""
    if kind == "NotImplementedError":
        return f"{func} is not implemented yet (it raised NotImplementedError)"
    if kind == "MemoryError":
        return f"{func} ran out of memory (MemoryError)" + (f" at {where}" if where else "")
    what = kind or "an exception"
    return f"{func} raised {what}" + (f" at {where}" if where else "")


SHAPE_ERROR = re.compile(r"broadcast|shape|reshape|out of bounds|index \d+ is out|size \d+|"
                         r"cannot reshape|dimension|too many indices", re.I)


def is_shape_error(message):
    """A ValueError/IndexError about shapes or indices (what a wrong output size usually raises)."""
    head = message.split(":", 1)[0]
    return head in ("IndexError", "ValueError", "AxisError") and bool(SHAPE_ERROR.search(message)) \
        or head == "IndexError"


def call_error_text(err, limits):
    """The line of a failed call (CallError): the exception and where, a timeout, a crash."""
    msg = one_line(str(err), 1500)  # exception text of student code: one line, it cannot forge grader lines
    where = one_line(err.where, 200) if err.where else ""
    if err.kind == "timeout":
        stopped = f"; it was running {where} when it was stopped" if where else ""
        return f"{msg} ({limits.call_timeout:g} s per call{stopped}: an infinite loop, or a very slow implementation?)"
    if err.kind == "deadline" and where:
        return f"{msg} (it was running {where} when it was stopped)"
    if err.kind == "error":
        if msg.startswith("NotImplementedError"):
            return msg.split(":", 1)[-1].strip() or "not implemented yet (NotImplementedError)"
        if msg.startswith("MemoryError"):
            msg = msg.rstrip(": ")
            return (f"your code ran out of memory ({msg}{f', at {where}' if where else ''}): the worker may use "
                    f"{limits.memory_bytes >> 20} MB; hint: large temporary arrays, a copy per loop iteration, or a "
                    "list that keeps growing?")
        return f"your code raised {msg}" + (f" (at {where})" if where else "")
    return msg


def import_cause(lines, problems):
    """A line naming the student file that made an import fail (``No module named 'pooling'`` when
    pooling.py has a syntax error), from locate's per-file ``problems``; None when there is none."""
    for line in lines:
        for name in re.findall(r"No module named '([A-Za-z_]\w*)'", line):
            if name in problems:
                return f"this import failed because {name}.py could not be used (fix it first): {problems[name]}"
    return None


def expected_shapes(values):
    shown = [f"{k} {tuple(v.shape)}" for k, v in values.items() if isinstance(v, np.ndarray)]
    shown += [f"{k} None" for k, v in values.items() if v is None]
    return ", ".join(shown)
