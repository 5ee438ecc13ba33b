"""A case the machine failed runs again: a fault of the grading machine never costs the student a point.

sandbox/faults.py names a failed round trip that the evidence says was the machine's (the worker killed from
outside, a worker kept from running by a busy machine until the wall bound). The grader then runs the case
once more, in a fresh worker (the failed one is dead). A case that fails that way twice is the grader's
fault: its feedback says so, never a mistake of the student's code; it earns what the checks that did run
verified, nothing more; and staff see it in the log (a line on stderr, a "grader fault" note) and in
grade-all's summary (the notes of each grading, as data), with results.json's staff-only ``machine_faults``.

The retries are bounded per grading (``MAX_RETRIES``): a submission that kills its own worker (signals to
itself are allowed) looks like a fault of the machine, and gets no more than that many extra runs; its later
cases are reported as grader faults at once.
"""

import sys

from ..sandbox.faults import faults_of

MAX_RETRIES = 4  # extra runs of a case per grading
NOTE = "grader fault"  # the notes staff look for (grade-all's summary)


def run_case(grader, run_once, part, index, case):
    """``run_once(part, index, case)``, and once more where the machine failed it (a CaseResult)."""
    faults = faults_of(grader.sandbox)
    faults.clear()
    res = run_once(part, index, case)
    first = list(faults_of(grader.sandbox))
    if not first or res.passed:
        return res
    where = f"{part.id} case {index}{' (hidden)' if case.get('hidden') else ''}"
    if grader.retries_left <= 0:
        return grader_fault(grader, res, where, first, "not run again: the grading's retries were used up")
    grader.retries_left -= 1
    print(f"convgrade: {where}: {first[0]}; running it again in a fresh worker", file=sys.stderr)
    faults_of(grader.sandbox).clear()
    again = run_once(part, index, case)
    second = list(faults_of(grader.sandbox))
    if not second:
        grader.machine_faults.append({"case": where, "fault": first[0], "recovered": True})
        return again
    return grader_fault(grader, again, where, first + second, "it failed the same way in a fresh worker")


def grader_fault(grader, res, where, faults, retried):
    """``res`` reported as the grader's fault: the reason, no mistake of the student's named."""
    grader.machine_faults.append({"case": where, "fault": faults[-1], "recovered": False})
    print(f"convgrade: {NOTE}: {where}: {faults[-1]} ({retried})", file=sys.stderr)
    res.kind, res.passed = "machine", False
    res.lines = [f"the grader could not run this case: {faults[-1]} ({retried}). This is not a mistake in your "
                 "code: the course staff see it in the grading log and can grade it again."]
    res.mistakes, res.advice, res.rows, res.candidates, res.located = [], [], [], [], []
    res.used, res.causes, res.evidence, res.wrong, res.arrays, res.stages = {}, [], {}, {}, {}, []
    return res


def notes(grader):
    """The staff's notes of a grading's machine faults (one line each: grade-all's summary counts them)."""
    lost = [f["case"] for f in grader.machine_faults if not f["recovered"]]
    again = [f["case"] for f in grader.machine_faults if f["recovered"]]
    out = []
    if lost:
        out.append(f"{NOTE}: the grading machine failed {len(lost)} case(s) twice, not the submission: "
                   f"{', '.join(lost[:10])}{' ...' if len(lost) > 10 else ''} (grade it again)")
    if again:
        out.append(f"the grading machine failed {len(again)} case(s) once; each ran again in a fresh worker: "
                   f"{', '.join(again[:10])}{' ...' if len(again) > 10 else ''}")
    return out
