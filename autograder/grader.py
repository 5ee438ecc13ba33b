"""Grade one located submission, part by part, case by case.

``Grader.run_part`` never raises for anything a submission does: every
failure in student code fails that case only, and becomes a line of feedback
(visible cases) or a status with the case's configuration and the mistake
recognised (hidden cases; feedback.py renders both). A case earns a share of
its part's points (``credit``): all of it when it passed, the forward's share
when only a part's forward is right (``forward_share`` in the table).
"""

import dataclasses
import os
import time
import traceback
from dataclasses import dataclass, field

import numpy as np

from . import feedback
from .compare import sanitize
from .feedback import Report, call_error_text
from .parts import CHECKERS, Failed
from .sandbox import CallError, Limits, Sandbox
from .sizes import geometry_of_case
from .table import META_KEYS

# Gradescope stops a run at its global timeout (10 minutes by default) and then scores it 0, so time-outs
# must not add up to that: every call that hangs costs call_timeout (20 s) and there are ~75 cases.
# Seconds for all the cases of one submission; the rest of the 600 s is slack for start-up and results.
GRADING_BUDGET = float(os.environ.get("CONVGRADE_GRADING_BUDGET", "450"))
TIMEOUT_STRIKES = 2  # timed-out cases after which the rest of a part is not run (other parts keep their time)


@dataclass
class CaseResult:
    index: int
    hidden: bool
    passed: bool
    label: str
    lines: list = field(default_factory=list)
    info: list = field(default_factory=list)
    seconds: float = 0.0
    kind: str = "ok"  # ok | wrong | error | timeout | crash | import | missing | skipped
    credit: float = None  # share of the case earned (0..1); None: 1 if passed else 0
    mistakes: list = field(default_factory=list)  # names of the mistakes recognised (mistakes.py)
    advice: list = field(default_factory=list)  # general advice lines (shown without a mistake)
    rows: list = field(default_factory=list)  # comparison rows of the wrong values (feedback.mismatch_row)
    printed: list = field(default_factory=list)  # [(function, text)] printed by the student's calls
    stages: list = field(default_factory=list)  # [(stage, passed)] of a part graded forward + backward

    def __post_init__(self):
        if self.credit is None:
            self.credit = 1.0 if self.passed else 0.0


@dataclass
class PartResult:
    part: object
    cases: list
    seconds: float

    @property
    def passed(self):
        return sum(c.passed for c in self.cases)

    @property
    def score(self):
        if not self.cases:
            return 0.0
        return round(self.part.weight * sum(c.credit for c in self.cases) / len(self.cases), 4)

    def feedback(self, reveal=False, fmt="text"):
        """The text a student sees for this part (``reveal``: staff only, hidden cases in full);
        fmt: "text" (terminal) or "md" (Gradescope)."""
        return feedback.render(self, reveal=reveal, fmt=fmt)

    def first_problem(self, width=60):
        """One short line for the score table."""
        return feedback.first_problem(self, width)

    def named(self, reveal=False):
        """The mistakes this part's feedback names to the student (to course staff with ``reveal``)."""
        return feedback.named(self, reveal)


def describe_case(part, case):
    """One line naming a case: input shapes and options as the student's call gets them, never values."""
    shapes = part.shape_keys()
    parts = []
    for k, v in case.items():
        if k in shapes and isinstance(v, list):
            parts.append(f"{shapes[k]} {tuple(v)}")
        elif k == "bias":
            parts.append("b=None" if not v else "")
        elif k not in META_KEYS:
            parts.append(f"{k}={tuple(v) if isinstance(v, list) else v}")
    if "stride" in part.options and "stride" not in case:
        parts.append("stride not given (the default)")
    parts.append({"ties": "integer inputs with ties", "constant": "all inputs equal"}.get(case.get("kind"), ""))
    g = geometry_of_case(part, case)
    if g is not None and g.kind in ("pool", "unpool", "fold") and g.overlaps:
        parts.append("overlapping windows")
    return ", ".join(p for p in parts if p)


class Grader:
    """Owns the sandbox of one submission and grades parts against the oracle."""

    def __init__(self, located, limits=None, user=None, python=None, workdir=None, budget=None):
        self.located = located
        self.limits = limits or Limits()
        self.budget = budget or GRADING_BUDGET
        self.deadline = time.monotonic() + self.budget
        files = dict(located.extras)
        files.update(located.files)
        # The sandbox's own copy: its time limits shrink to what is left of the budget.
        self.sandbox = Sandbox(files=files, limits=dataclasses.replace(self.limits), user=user, python=python or "",
                               workdir=workdir)

    def run_part(self, part):
        start = time.perf_counter()
        results = []
        timeouts = 0
        for i, case in enumerate(part.cases, 1):
            left = self.deadline - time.monotonic()
            if timeouts >= TIMEOUT_STRIKES:
                why = (f"not run: {timeouts} earlier cases of this part timed out "
                       "(an infinite loop, or a very slow implementation?)")
                results.append(self.not_run(part, i, case, why))
                continue
            if left < 1.0:
                why = f"not run: the grading time ({self.budget:g} s) was used up, by time-outs in earlier cases"
                results.append(self.not_run(part, i, case, why))
                continue
            self.sandbox.limits.call_timeout = min(self.limits.call_timeout, left)
            self.sandbox.limits.import_timeout = min(self.limits.import_timeout, left)
            res = self.run_case(part, i, case)
            timeouts += res.kind == "timeout"
            results.append(res)
        return PartResult(part, results, time.perf_counter() - start)

    def not_run(self, part, index, case, why):
        return CaseResult(index=index, hidden=bool(case.get("hidden")), passed=False, label=describe_case(part, case),
                          lines=[why], kind="skipped")

    def run_case(self, part, index, case):
        res = CaseResult(index=index, hidden=bool(case.get("hidden")), passed=False, label=describe_case(part, case))
        start = time.perf_counter()
        problem = self.located.problems.get(part.module)
        if problem:
            res.lines, res.kind = [problem], "missing"
            return res
        self.sandbox.notes.clear()
        try:
            with np.errstate(all="ignore"):
                found = CHECKERS[part.check](self.sandbox, part, case)
            take_report(res, found if isinstance(found, Report) else Report(lines=list(found)))
        except Failed as f:
            res.lines, res.kind = list(f.lines), "wrong"
        except CallError as err:
            report = Report(lines=[call_error_text(err, self.sandbox.limits)], kind=err.kind)
            report.printed_by(part.forward.rpartition(".")[2], err.output)
            take_report(res, report)
        except Exception as exc:  # a bug in the grader, or an oracle refusing a table entry
            res.kind = "error"
            res.lines = ["internal grader error on this case; please tell the course staff: "
                         + sanitize(f"{type(exc).__name__}: {exc}", 300)]
            if os.environ.get("CONVGRADE_DEBUG"):
                traceback.print_exc()
        res.info += list(self.sandbox.notes)
        cause = feedback.import_cause(res.lines, self.located.problems)
        if cause:
            res.lines.append(cause)
        res.seconds = time.perf_counter() - start
        return res

    def close(self):
        self.sandbox.close()


def take_report(res, report):
    """Copy a checker's Report into the CaseResult."""
    res.lines = list(report.lines)
    res.credit = report.earned
    res.passed = not report.lines
    res.kind = report.kind or ("ok" if res.passed else "wrong")
    res.mistakes, res.advice, res.rows = list(report.mistakes), list(report.advice), list(report.rows)
    res.info, res.printed, res.stages = list(report.info), list(report.printed), list(report.stages)


__all__ = ["CaseResult", "Grader", "PartResult", "call_error_text", "describe_case", "sanitize"]
