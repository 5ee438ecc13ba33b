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
from dataclasses import dataclass, field
from pathlib import Path

from . import feedback, isolation
from .grader import Grader, PartResult
from .locate import SubmissionError, locate
from .results import placeholder, run, validate, write_atomic
from .sandbox import Limits
from .table import load


@dataclass
class Outcome:
    data: dict  # results.json content
    parts: dict = field(default_factory=dict)  # part id -> PartResult
    notes: list = field(default_factory=list)
    status: str = "ok"  # ok | error
    sandbox_user: object = None  # the SandboxUser student code ran as (None: this process's user)


def limits_from(table, **overrides):
    lim = Limits()
    for key, value in {**table.limits, **overrides}.items():
        if value is not None and hasattr(lim, key):
            setattr(lim, key, type(getattr(lim, key))(value))
    return lim


def grade(submission, results_path=None, table=None, parts=None, limits=None, user="auto", python=None,
          reveal=False):
    """Grade ``submission`` (folder or zip); write ``results_path`` if given.

    user: "auto" (a sandbox user of its own where root, see isolation.py), a
    SandboxUser, or None (run student code as this process's user).
    reveal: show hidden cases in full (course staff only, never on Gradescope).

    Raises isolation.SandboxUnavailable, leaving the score-0 placeholder, where
    root could not get an unprivileged user: student code never runs as root.
    """
    table = (table or load()).select(parts or [])
    if results_path:
        results_path = Path(results_path).absolute()
        write_atomic(results_path, placeholder("Grading did not finish; please contact the course staff."))
    limits = limits or limits_from(table)
    notes = []
    acquired = None
    if user == "auto":
        user, note = isolation.acquire()
        acquired = user
        if note:
            notes.append(note)
    grader = None
    located = None
    try:
        if user is not None:
            notes += isolation.protect()
            if results_path:
                notes += isolation.guard_results_folder(results_path.parent)
        try:
            located = locate(submission)
        except SubmissionError as exc:
            data = validate(unreadable(table, str(exc)), table)
            if results_path:
                write_atomic(results_path, data)
            return Outcome(data, {}, notes + [str(exc)], status="error", sandbox_user=user)
        notes += located.notes
        grader = Grader(located, limits=limits, user=user, python=python)
        if results_path:
            grader.sandbox.private.append(str(results_path.parent))
        data, collected = run(table, grader.run_part, reveal=reveal,
                              summary=lambda d, c: summary(d, c, merged(notes, grader.sandbox.isolation_notes),
                                                           table))
        notes = merged(notes, grader.sandbox.isolation_notes)
    finally:
        # every student process dies before anything is written
        if grader is not None:
            grader.close()
        if located is not None:
            located.cleanup()
        # what it left in /tmp & co. goes too (only there without a mount namespace)
        if acquired is not None:
            gone = isolation.release(acquired)
        else:
            gone = isolation.reap(user, clean=True)
    if not gone:
        raise RuntimeError(f"processes of the sandbox user {user.name} survived SIGKILL; results not written")
    validate(data, table)
    if results_path:
        write_atomic(results_path, data)
    return Outcome(data, collected, notes, sandbox_user=user)


def merged(notes, more):
    return notes + [n for n in more if n not in notes]


def unreadable(table, message):
    output = f"The submission could not be read: {message}"
    tests = [{"name": f"{p.number} {p.title}", "number": p.number, "score": 0.0, "max_score": p.weight,
              "status": "failed", "output": output, "visibility": p.visibility} for p in table.parts]
    return dict(placeholder(output), tests=tests)


def summary(data, collected, notes, table):
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
    return feedback.overview(lines, [r for r in collected.values() if isinstance(r, PartResult)])
