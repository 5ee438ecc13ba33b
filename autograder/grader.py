"""Grade one located submission, part by part, case by case.

``Grader.run_part`` never raises for anything a submission does: every
failure in student code fails that case only, and becomes a line of feedback
(visible cases) or a bare FAILED (hidden cases).
"""

import dataclasses
import os
import time
import traceback
from dataclasses import dataclass, field

import numpy as np

from .parts import CHECKERS, Failed
from .sandbox import CallError, Limits, Sandbox
from .text import fenced, indented, one_line

# Gradescope stops a run at its global timeout (10 minutes by default) and then scores it 0, so time-outs
# must not add up to that: every call that hangs costs call_timeout (20 s) and there are ~75 cases. One
# absolute deadline for the whole grading (Limits.grading_seconds, counted from run.grade's start) caps
# every round trip with the worker (Sandbox.deadline); the cases after it fail as "not run".
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
    kind: str = "ok"  # ok | wrong | error | timeout | deadline | crash | protocol | import | missing | skipped


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
        return round(self.part.weight * self.passed / len(self.cases), 4)

    def feedback(self, reveal=False):
        """The text a student sees for this part (``reveal``: staff only, hidden cases in full)."""
        n = len(self.cases)
        lines = [f"{self.passed} of {n} cases passed ({self.score:g} / {self.part.weight:g} points)"]
        for c in self.cases:
            tag = " (hidden)" if c.hidden else ""
            status = "passed" if c.passed else "FAILED"
            if c.hidden and not reveal:
                lines.append(f"case {c.index}{tag}: {status}")
                continue
            lines.append(f"case {c.index}{tag}: {c.label}: {status}")
            lines += [indented(t) for t in c.info]
            lines += [indented(t) for t in c.lines]  # student text never starts a line where grader lines do
        return "\n".join(lines)

    def first_problem(self):
        for c in self.cases:
            if not c.passed:
                if c.hidden:
                    return f"case {c.index} (hidden) failed"
                return one_line(c.lines[0], 120) if c.lines else f"case {c.index} failed"
        return ""


def describe_case(case):
    """One line naming a case: shapes and options, not the seed."""
    parts = []
    for k, v in case.items():
        if k in ("seed", "hidden", "repeats", "max_ratio", "omit_stride", "constant", "ties"):
            continue
        if k in ("x", "w", "pre") and isinstance(v, list):
            parts.append(f"{'x' if k == 'pre' else k} {tuple(v)}" + (" (before pooling)" if k == "pre" else ""))
        elif k == "bias":
            parts.append("b=None" if not v else "")
        else:
            parts.append(f"{k}={tuple(v) if isinstance(v, list) else v}")
    if case.get("omit_stride"):
        parts.append("stride not given (None)")
    if case.get("ties"):
        parts.append("integer inputs with ties")
    if case.get("constant"):
        parts.append("all inputs equal")
    return ", ".join(p for p in parts if p)


class Grader:
    """Owns the sandbox of one submission and grades parts against the oracle."""

    def __init__(self, located, limits=None, user=None, python=None, workdir=None, deadline=None):
        self.located = located
        self.limits = limits or Limits()
        self.budget = self.limits.grading_seconds
        self.deadline = deadline if deadline is not None else time.monotonic() + self.budget
        files = dict(located.extras)
        files.update(located.files)
        # Every round trip with the worker ends by the grading's deadline (Sandbox.deadline).
        self.sandbox = Sandbox(files=files, limits=dataclasses.replace(self.limits), user=user, python=python or "",
                               workdir=workdir, deadline=self.deadline)

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
                why = (f"not run: the time for the whole grading ({self.budget:g} s) was used up "
                       "(by time-outs or slow calls in earlier cases)")
                results.append(self.not_run(part, i, case, why))
                continue
            res = self.run_case(part, i, case)
            timeouts += res.kind == "timeout"
            results.append(res)
        return PartResult(part, results, time.perf_counter() - start)

    def not_run(self, part, index, case, why):
        return CaseResult(index=index, hidden=bool(case.get("hidden")), passed=False, label=describe_case(case),
                          lines=[why], kind="skipped")

    def run_case(self, part, index, case):
        res = CaseResult(index=index, hidden=bool(case.get("hidden")), passed=False, label=describe_case(case))
        start = time.perf_counter()
        problem = self.located.problems.get(part.module)
        if problem:
            res.lines, res.kind = [problem], "missing"
            return res
        self.sandbox.notes.clear()
        try:
            with np.errstate(all="ignore"):
                lines = CHECKERS[part.check](self.sandbox, case)
            res.passed, res.kind = not lines, ("ok" if not lines else "wrong")
            res.lines = list(lines)
        except Failed as f:
            res.lines, res.kind = list(f.lines), "wrong"
        except CallError as err:
            res.kind = err.kind
            res.lines = [call_error_text(err, self.sandbox.limits)]
            if err.output.strip():
                res.lines.append(fenced(err.output, self.limits.output_chars))
        except Exception as exc:  # a bug in the grader, or an oracle refusing a table entry
            res.kind = "error"
            res.lines = ["internal grader error on this case; please tell the course staff: "
                         + one_line(f"{type(exc).__name__}: {exc}", 300)]
            if os.environ.get("CONVGRADE_DEBUG"):
                traceback.print_exc()
        res.info = list(self.sandbox.notes)
        res.seconds = time.perf_counter() - start
        return res

    def close(self):
        self.sandbox.close()


def call_error_text(err, limits):
    msg = one_line(str(err), 1500)  # exception text of student code: one line, it cannot forge grader lines
    if err.kind == "timeout":
        return f"{msg} ({limits.call_timeout:g} s per call; an infinite loop, or a very slow implementation?)"
    if err.kind == "error":
        where = f" (at {one_line(err.where, 200)})" if err.where else ""
        if msg.startswith("NotImplementedError"):
            return msg.split(":", 1)[-1].strip() or "not implemented yet (NotImplementedError)"
        return f"your code raised {msg}{where}"
    return msg
