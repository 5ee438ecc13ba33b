"""Grade one submission end to end: the path of a submission.

    placeholder results.json (score 0)
    -> locate + static checks             (locate.py)
    -> sandboxed worker runs student code (sandbox.py, worker.py)
    -> torch oracle + comparison          (oracle.py, compare.py, parts.py)
    -> unittest + gradescope-utils        (results.py)
    -> every sandbox process killed, results validated, written atomically

The results folder is never writable by student code: the worker runs as a
sandbox user of its own that cannot even see it (mount namespace), and the
folder itself is made unwritable for other users (isolation.guard_results_folder).
"""

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from .checking.table import load
from .checking.text import one_line
from .grading import feedback, retry
from .grading.environment import fingerprint
from .grading.grader import Grader, PartResult
from .grading.results import add_extra_data, placeholder, run, validate, write_atomic
from .intake.locate import SubmissionError, locate
from .sandbox import isolation
from .sandbox.confine import worker_python
from .sandbox.limits import Limits
from .sandbox import stages
from .sandbox.stages import stage


@dataclass
class Outcome:
    data: dict  # results.json content
    parts: dict = field(default_factory=dict)  # part id -> PartResult
    notes: list = field(default_factory=list)  # grader notes, as data (each one line, sanitised)
    status: str = "ok"  # ok | error
    sandbox_user: object = None  # the SandboxUser student code ran as (None: this process's user)
    seed: int = None  # the secret the hidden cases' inputs came from (`grade --seed` reproduces the grading)
    summary: list = field(default_factory=list)  # the top-level summary's lines (plain text; feedback.overview)
    ungradable: str = None  # why nothing at all could be graded (no graded file usable), else None

    @property
    def isolation_notes(self):
        """The notes that say the isolation is weaker than intended."""
        return [n for n in self.notes if n.startswith("isolation reduced")]


def limits_from(table, **overrides):
    lim = Limits()
    env = {"grading_seconds": os.environ.get("CONVGRADE_GRADING_SECONDS")}  # the environment wins over the table
    for key, value in {**table.limits, **{k: v for k, v in env.items() if v}, **overrides}.items():
        if value is not None and hasattr(lim, key):
            setattr(lim, key, type(getattr(lim, key))(value))
    return lim


def grade(submission, results_path=None, table=None, parts=None, limits=None, user="auto", python=None,
          reveal=False, trusted=False, seed=None, metadata=None):
    """Grade ``submission`` (folder or zip); write ``results_path`` if given.

    user: "auto" (a sandbox user of its own where root, see isolation.py), a
    SandboxUser, or None (run student code as this process's user: the caller
    vouches for the code, as the students' check.py does for their own).
    reveal: show hidden cases in full (course staff only, never on Gradescope).
    seed: the secret the hidden cases' inputs come from (default: $CONVGRADE_SEED, else a new random one);
    it is recorded in results.json's staff-only ``extra_data`` so that a grading can be reproduced.
    trusted: with user "auto" and neither root nor working user namespaces
    (bubblewrap), grade anyway, with the grader's own permissions.
    metadata: Gradescope's submission_metadata.json, for the table's rate_limit (ratelimit.py): over the
    limit, nothing runs and the results are the latest earlier ones, with a message (status "rate_limited").

    Raises isolation.SandboxUnavailable, leaving the score-0 placeholder, where
    root could not get an unprivileged user (student code never runs as root),
    and where not root, with no user namespace, unless ``trusted``.
    """
    start = time.monotonic()
    measured = os.environ.get("CONVGRADE_STAGES") and stages.METER is None
    if measured:  # where the time goes, by stage (tools/bench.py)
        stages.install()
    try:
        outcome = _grade(submission, start, results_path, table, parts, limits, user, python, reveal, trusted, seed,
                         metadata)
    finally:
        if measured:
            stages.finish(os.environ["CONVGRADE_STAGES"], cases=sum(len(p.cases) for p in (table or load()).select(
                parts or []).parts))
    return outcome


def _grade(submission, start, results_path, table, parts, limits, user, python, reveal, trusted, seed, metadata):
    with stage("intake"):
        full = table or load()
        table = full.select(parts or [])
    if results_path:
        results_path = Path(results_path).absolute()
        with stage("writing"):
            write_atomic(results_path, placeholder("Grading did not finish; please contact the course staff."))
    limits = limits or limits_from(table)
    deadline = start + limits.grading_seconds  # one deadline for the whole grading, every round trip
    rate_note = []
    if metadata is not None and table.rate_limit:
        held = rate_limited(table, metadata, results_path)
        if isinstance(held, Outcome):
            return held
        rate_note = [held] if held else []
    notes = list(rate_note)
    acquired = None
    if user == "auto":
        with stage("sandbox"):
            user, note = isolation.acquire()
        acquired = user
        if user is None:  # not root: the worker's isolation is a user namespace (bwrap), or nothing
            note = isolation.unprivileged_note(limits, python, trusted)
        if note:
            notes.append(note)
    grader = None
    located = None
    try:
        if user is not None:
            with stage("sandbox"):
                notes += isolation.protect()
                if results_path:
                    notes += isolation.guard_results_folder(results_path.parent)
        try:
            with stage("intake"):
                located = locate(submission, full.modules)
        except SubmissionError as exc:
            message = one_line(exc, 1000)
            data = validate(with_environment(unreadable(table, message), None, python), table)
            if results_path:
                write_atomic(results_path, data)
            return Outcome(data, {}, notes + [message], status="error", sandbox_user=user,
                           summary=[f"The submission could not be read: {message}"], ungradable=message)
        notes += [one_line(n) for n in located.notes]  # they name files of the submission
        if seed is None and os.environ.get("CONVGRADE_SEED"):
            seed = int(os.environ["CONVGRADE_SEED"])
        grader = Grader(located, limits=limits, user=user, python=python, deadline=deadline, seed=seed,
                        graded=full.functions, difficulties=full.difficulties)
        if results_path:
            grader.private.append(str(results_path.parent))
        # The visible phase's worker starts up (interpreter, numpy, lockdown) while torch loads here; it imports
        # no student module before its first call. The oracle (torch) and every grader module are loaded before
        # any student code runs: nothing a submission does to files on disk can change what grades it (results
        # come from this memory).
        grader.sandbox.spawn()
        with stage("start-up"):
            from .checking import oracle, parts  # noqa: F401
        with stage("checks"):
            graded = grader.grade(table.parts)
        notes = merged(notes, grader.isolation_notes + retry.notes(grader))
        with stage("feedback"):
            data, collected = run(table, lambda part: graded[part.id], reveal=reveal,
                                  summary=lambda d, c: summary(d, c, notes, table), started=start)
        data["extra_data"] = {**data.get("extra_data", {}), "hidden_seed": grader.seed}
        if grader.machine_faults:  # staff-only: the cases the machine failed (grading/retry.py)
            data["extra_data"]["machine_faults"] = grader.machine_faults
        if grader.isolation:  # staff-only: the layers that held for this grading, and those missing here
            holds, missing = isolation.isolation_in_force(grader.isolation, user)
            data["extra_data"]["isolation"] = {"holds": holds, "missing": missing}
    finally:
        # every student process dies before anything is written
        with stage("sandbox"):
            if grader is not None:
                grader.close()
            if located is not None:
                located.cleanup()
            # what it left in /tmp & co. goes too (only there without a mount namespace)
            if acquired is not None:
                gone = isolation.release(acquired, confined=grader is not None and grader.confined)
            else:
                gone = isolation.reap(user, clean_up=True)
    if not gone:
        raise RuntimeError(f"processes of the sandbox user {user.name} survived SIGKILL; results not written")
    with stage("writing"):
        validate(with_environment(data, grader, python), table)
        if results_path:
            write_atomic(results_path, data)
    with stage("feedback"):
        return Outcome(data, collected, notes, sandbox_user=user, seed=grader.seed,
                       summary=summary_lines(data, collected, notes, table), ungradable=nothing_usable(located, table))


def rate_limited(table, metadata, results_path):
    """An Outcome holding back this submission (the table's rate_limit is reached), or the note saying why
    the limit could not be applied ("" when under the limit)."""
    from .intake.ratelimit import decide, read_metadata

    decision = decide(table.rate_limit, read_metadata(metadata), lambda r: validate(r, table))
    if not decision.limited:
        return decision.note
    data = validate(decision.results, table)
    if results_path:
        write_atomic(results_path, data)
    return Outcome(data, {}, ["rate limit reached: the latest earlier result is kept"], status="rate_limited",
                   summary=[data.get("output", "")])


def with_environment(data, grader, python=None):
    """Record the grader's and the worker's Python, numpy and torch (staff-only extra_data):
    what a worker reported in its hello, else (no worker started) a probe of its interpreter."""
    if grader is not None:
        record = fingerprint(grader.environment, grader.sandbox.python)
    else:
        record = fingerprint(None, python or worker_python())
    return add_extra_data(data, "environment", record)


def merged(notes, more):
    more = [one_line(n) for n in more]
    return notes + [n for n in more if n not in notes]


def unreadable(table, message):
    output = f"The submission could not be read: {message}"
    tests = [{"name": f"{p.number} {p.title}", "number": p.number, "score": 0.0, "max_score": p.weight,
              "status": "failed", "output": output, "visibility": p.visibility} for p in table.parts]
    return dict(placeholder(output), tests=tests)


def nothing_usable(located, table):
    """Why no graded file of ``table``'s parts could be used (none found, none passed the static checks: a
    syntax error, a forbidden import), in one line; None when one at least could."""
    if any(m in located.files for m in table.modules):
        return None
    return one_line("no graded file could be used: " + "; ".join(located.problems[m] for m in table.modules
                                                                  if m in located.problems), 1000)


def summary(data, collected, notes, table):
    """The top-level summary in Markdown (Gradescope's ``output``)."""
    return feedback.overview(summary_lines(data, collected, notes, table),
                             [r for r in collected.values() if isinstance(r, PartResult)])


def summary_lines(data, collected, notes, table):
    """The summary's lines of plain text: the total, the failing parts, the files that could not be used, the
    grader's notes (feedback.overview adds the mistakes recognised)."""
    total = sum(t.get("score", 0.0) for t in data["tests"])
    lines = [f"Total: {total:g} / {table.total:g}"]
    failed = [r for r in collected.values() if isinstance(r, PartResult) and r.passed < len(r.cases)]
    if failed:
        lines.append("Parts with failing cases: " + ", ".join(f"{r.part.number} {r.part.title}" for r in failed))
    missing = sorted({r.part.module for r in failed if any(c.kind == "missing" for c in r.cases)})
    for m in missing:
        lines.append(f"Note: {m}.py could not be used (see the parts of that file).")
    lines += [f"Note: {n}" for n in notes if n]
    if os.environ.get("CONVGRADE_EXTRA_OUTPUT"):
        lines.append(os.environ["CONVGRADE_EXTRA_OUTPUT"])
    return lines
