"""The evidence of one case, as a checker collects it: what failed, the credit earned, the mistake
recognised, a comparison row per wrong value, explanations, and what the student's code printed.

A checker returns a ``Report`` per case; grading/feedback.py renders it. Nothing here formats for a
terminal or for Gradescope; text that came out of student code is made one line (text.one_line) before
it is kept.
"""

import re
from dataclasses import dataclass, field

import numpy as np

from .compare import fmt, type_name
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

    @property
    def earned(self):
        if self.credit is not None:
            return float(self.credit)
        return 0.0 if self.lines else 1.0

    def printed_by(self, func, text):
        if text and text.strip():
            self.printed.append((func, text))


def mismatch_row(name, got, expected, rtol):
    """One row of the comparison table: got vs expected shape, max abs/rel error, first bad index."""
    row = {"value": name, "got": type_name(got), "expected": type_name(expected), "abs": "", "rel": "",
           "first": ""}
    if isinstance(got, np.ndarray) and isinstance(expected, np.ndarray):
        row["got"], row["expected"] = str(tuple(got.shape)), str(tuple(expected.shape))
        if got.shape == expected.shape and got.dtype.kind in "fiub" and got.size:
            with np.errstate(all="ignore"):
                g, e = got.astype(np.float64), expected.astype(np.float64)
                diff = np.abs(g - e)
                bad = ~(diff <= 1e-9 + rtol * np.abs(e)) | (np.isnan(g) != np.isnan(e))
                if bad.any():
                    row["first"] = str(tuple(int(i) for i in np.argwhere(bad)[0]))
                    finite = np.isfinite(diff)
                    if finite.any():
                        row["abs"] = fmt(diff[finite].max())
                        rel = diff / np.maximum(np.abs(e), 1e-12)
                        row["rel"] = fmt(rel[bad & finite].max()) if (bad & finite).any() else ""
                    else:
                        row["abs"] = "NaN/inf"
    return row


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
    if err.kind == "timeout":
        return f"{msg} ({limits.call_timeout:g} s per call; an infinite loop, or a very slow implementation?)"
    if err.kind == "error":
        where = f" (at {one_line(err.where, 200)})" if err.where else ""
        if msg.startswith("NotImplementedError"):
            return msg.split(":", 1)[-1].strip() or "not implemented yet (NotImplementedError)"
        return f"your code raised {msg}{where}"
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
