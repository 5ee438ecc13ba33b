"""Grade one located submission, part by part, case by case.

``Grader.grade`` never raises for anything a submission does: every
failure in student code fails that case only, and becomes a line of feedback
(visible cases) or a status with the case's configuration and the mistake
recognised (hidden cases; feedback.py renders both). A case earns a share of
its part's points (``credit``): all of it when it passed, the forward's share
when only a part's forward is right (``forward_share`` in the table).
"""

import dataclasses
import hashlib
import os
import secrets
import time
import traceback
from dataclasses import dataclass, field

import numpy as np

from ..checking.coverage import part_cells
from ..checking.difficulties import plain_case
from ..checking.evidence import Report, call_error_text, import_cause, located_error
from ..checking.layer import student_files
from ..checking.parts import CHECKERS, Failed
from ..checking.table import describe_case
from ..checking.text import one_line
from ..sandbox.channel import CallError
from ..sandbox.limits import Limits
from ..sandbox.session import Sandbox
from . import diagnosis, feedback

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
    credit: float = None  # share of the case earned (0..1); None: 1 if passed else 0
    mistakes: list = field(default_factory=list)  # names of the mistakes recognised (mistakes.py)
    advice: list = field(default_factory=list)  # general advice lines (shown without a mistake)
    rows: list = field(default_factory=list)  # comparison rows of the wrong values (feedback.mismatch_row)
    printed: list = field(default_factory=list)  # [(function, text)] printed by the student's calls
    stages: list = field(default_factory=list)  # [(stage, passed)] of a part graded forward + backward
    metrics: dict = field(default_factory=dict)  # what the checker measured (parts.METRICS: the leaderboard)
    located: list = field(default_factory=list)  # what a hidden case may show of where it fails (no values)
    used: dict = field(default_factory=dict)  # {student function called: [graded functions it ran]}
    candidates: list = field(default_factory=list)  # mistakes that all fit, undecided (diagnosis.py)
    evidence: dict = field(default_factory=dict)  # {"value", "held": {mistake: bool}} of the case's diagnosis
    causes: list = field(default_factory=list)  # a cause in another part (diagnosis.py): shown first
    notes: list = field(default_factory=list)  # how the diagnosis was decided (diagnosis.py)
    alone: list = field(default_factory=list)  # the line naming the difficulties it meets alone (coverage.py)
    wrong: dict = field(default_factory=dict)  # {value: mask of its wrong elements}, visible cases (notebook.py)
    arrays: dict = field(default_factory=dict)  # {value: (got, expected)}, small values of visible cases (pictures)

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

    def metric(self, name, order="asc"):
        """The part's value of a measured metric: the worst over its cases (the highest when lower is
        better), or None unless every case measured it (a failed case measured nothing trustworthy)."""
        values = [c.metrics.get(name) for c in self.cases]
        if not values or any(v is None for v in values):
            return None
        return max(values) if order == "asc" else min(values)

    def first_problem(self, width=60):
        """One short line for the score table."""
        return feedback.first_problem(self, width)

    def named(self, reveal=False):
        """The mistakes this part's feedback names to the student (to course staff with ``reveal``)."""
        return feedback.named(self, reveal)


def new_secret():
    """A per-grading secret seed for the hidden cases (staff can pass it back with `grade --seed`)."""
    return secrets.randbits(62)


def derived_seed(secret, *labels):
    """A seed for one purpose of one case, from the grading's secret: unpredictable without the secret,
    reproducible with it."""
    digest = hashlib.sha256(":".join(str(v) for v in (secret, *labels)).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 2


def case_for(secret, part, index, case):
    """Case ``index`` of ``part`` as its checker gets it in a grading with ``secret``: a hidden case's seed
    comes from the secret, and every case gets a secret seed for draws that must not be known in advance
    (the timed inputs of the speed part)."""
    case = dict(case, secret_seed=derived_seed(secret, part.id, index, "secret"))
    if case.get("hidden"):
        case["seed"] = derived_seed(secret, part.id, index, case.get("seed", ""))
    return case


_ISOLATED = {}  # Grader._isolated's values by (id of the part, difficulty names); the value keeps the part alive,
# so its id cannot be reused by another part


class Grader:
    """Grades the parts of one submission against the oracle, in two phases, each in its own worker:
    every visible case first, then every hidden case, whose inputs come from the grading's secret seed.
    The visible worker is dead before the hidden one starts, so nothing a process that saw hidden inputs
    printed, raised or left behind can reach the text a student sees."""

    def __init__(self, located, limits=None, user=None, python=None, workdir=None, deadline=None, seed=None,
                 graded=None, difficulties=None):
        self.located = located
        self.limits = limits or Limits()
        self.budget = self.limits.grading_seconds
        self.deadline = deadline if deadline is not None else time.monotonic() + self.budget
        self.seed = new_secret() if seed is None else int(seed)
        self.files = dict(located.extras)
        self.files.update(located.files)
        self.user, self.python, self.workdir = user, python or "", workdir
        self.private = []  # more paths to hide from student code (e.g. the results folder)
        self.graded = dict(graded or {})  # {module: [function]} whose calls the worker records (diagnosis.py)
        self.difficulties = dict(difficulties or {})  # the table's difficulties (a failing case names its own)
        self.sandbox = self._sandbox()
        self.isolation_notes = []
        self.isolation = {}  # what the last worker that ran reported of its isolation (its hello)
        self.confined = True  # every worker could write to its own scratch only (bubblewrap's root or Landlock)
        self.environment = {}  # the worker's Python and numpy, from the hello of a worker that ran

    def _sandbox(self):
        # Every round trip with the worker ends by the grading's deadline (Sandbox.deadline).
        return Sandbox(files=self.files, limits=dataclasses.replace(self.limits), user=self.user,
                       python=self.python, workdir=self.workdir, deadline=self.deadline, private=self.private,
                       graded=self.graded)

    def grade(self, parts):
        """{part id: PartResult} of ``parts``: visible cases of every part, then the hidden ones."""
        results = {p.id: [] for p in parts}
        strikes = {p.id: 0 for p in parts}
        started = time.perf_counter()
        for hidden in (False, True):
            if hidden:
                self._retire(self.sandbox)
                if not any(c.get("hidden") for p in parts for c in p.cases):
                    break  # no hidden phase (the handout's visible-only table): no second worker folder
                self.sandbox = self._sandbox()
            for part in parts:
                for i, case in enumerate(part.cases, 1):
                    if bool(case.get("hidden")) == hidden:
                        res = self._attempt(part, i, self.case_for(part, i, case), strikes)
                        results[part.id].append(res)
        self._retire(self.sandbox)  # retiring twice is harmless: a closed sandbox stays closed
        total = time.perf_counter() - started
        graded = {p.id: PartResult(p, sorted(results[p.id], key=lambda c: c.index),
                                   sum(c.seconds for c in results[p.id]) or total / max(len(parts), 1))
                  for p in parts}
        diagnosis.conclude(graded)  # what only every case of every part can tell
        for result in graded.values():
            self._name_difficulties(result)
        return graded

    def _isolated(self, part):
        """{visible case index: [text of each difficulty it meets alone]} of ``part``; the same for every
        grading with this table, so computed once per process (grade-all grades thousands)."""
        key = (id(part), tuple(sorted(self.difficulties)))
        kept = _ISOLATED.get(key)
        if kept is None:
            by_case = {}
            for cell in part_cells(part, self.difficulties):
                if cell.status == "isolated":
                    for i in cell.cases:
                        by_case.setdefault(i, []).append(self.difficulties[cell.difficulty].text)
            kept = _ISOLATED[key] = (part, by_case)
        return kept[1]

    def _name_difficulties(self, result):
        """A visible case that meets one difficulty alone says which, so a student whose code fails only
        there knows what to look at (the difficulty's own text, from the table); only where the part's plain
        case passed: where it fails too, the difficulty has nothing to do with the bug."""
        plain = plain_case(result.part)
        if plain is None or all(c.passed for c in result.cases):
            return  # only a failing case's feedback says it
        if not any(c.passed and c.index == plain[0] for c in result.cases):
            return
        by_case = self._isolated(result.part)
        for c in result.cases:
            if c.index in by_case:
                c.alone = [f"what sets this case apart from case {plain[0]} (the part's plain case): "
                           + "; ".join(by_case[c.index])]

    def case_for(self, part, index, case):
        return case_for(self.seed, part, index, case)

    def _retire(self, sandbox):
        if sandbox.environment:  # what its worker reported (environment.py): kept for results.json
            self.environment = dict(sandbox.environment)
        if sandbox.isolation:
            self.isolation = dict(sandbox.isolation)
            self.confined &= (sandbox.isolation.get("filesystem") == "allow-list root"
                              or sandbox.isolation.get("landlock") not in (None, "off"))
        for n in sandbox.isolation_notes:
            if n not in self.isolation_notes:
                self.isolation_notes.append(n)
        sandbox.close()

    def _attempt(self, part, i, case, strikes):
        left = self.deadline - time.monotonic()
        if strikes[part.id] >= TIMEOUT_STRIKES:
            why = (f"not run: {strikes[part.id]} earlier cases of this part timed out "
                   "(an infinite loop, or a very slow implementation?)")
            return self.not_run(part, i, case, why)
        if left < 1.0:
            why = (f"not run: the time for the whole grading ({self.budget:g} s) was used up "
                   "(by time-outs or slow calls in earlier cases)")
            return self.not_run(part, i, case, why)
        res = self.run_case(part, i, case)
        strikes[part.id] += res.kind == "timeout"
        return res

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
        sandbox = self.sandbox
        sandbox.notes.clear()
        sandbox.metrics.clear()
        try:
            with np.errstate(all="ignore"):
                found = CHECKERS[part.check](sandbox, part, case)
            take_report(res, found if isinstance(found, Report) else Report(lines=list(found)))
        except Failed as f:
            res.lines, res.kind = list(f.lines), "wrong"
        except CallError as err:
            func = part.forward.rpartition(".")[2]
            located = located_error(err, func, student_files(sandbox))
            report = Report(lines=[call_error_text(err, sandbox.limits)], kind=err.kind, used={func: err.used},
                            located=[located] if located else [])
            report.printed_by(func, err.output)
            take_report(res, report)
        except Exception as exc:  # a bug in the grader, or an oracle refusing a table entry
            res.kind = "error"
            res.lines = ["internal grader error on this case; please tell the course staff: "
                         + one_line(f"{type(exc).__name__}: {exc}", 300)]
            if os.environ.get("CONVGRADE_DEBUG"):
                traceback.print_exc()
        res.info += list(sandbox.notes)
        res.metrics = dict(sandbox.metrics)
        left = sandbox.recycle_if_broken()
        if left:  # the damage stays in this case: the next one gets a fresh worker
            res.info.append(f"your code left the worker holding {left}: a fresh worker runs the next cases")
        cause = import_cause(res.lines, self.located.problems)
        if cause:
            res.lines.append(cause)
        res.seconds = time.perf_counter() - start
        return res

    def close(self):
        self._retire(self.sandbox)


def take_report(res, report):
    """Copy a checker's Report into the CaseResult."""
    res.lines = list(report.lines)
    res.credit = report.earned
    res.passed = not report.lines
    res.kind = report.kind or ("ok" if res.passed else "wrong")
    res.mistakes, res.advice, res.rows = list(report.mistakes), list(report.advice), list(report.rows)
    res.info, res.printed, res.stages = list(report.info), list(report.printed), list(report.stages)
    res.located, res.used = list(report.located), {k: list(v) for k, v in report.used.items()}
    res.candidates, res.evidence, res.wrong = list(report.candidates), dict(report.evidence), dict(report.wrong)
    res.arrays = dict(report.arrays)


