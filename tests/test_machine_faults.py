"""A fault of the grading machine costs the student nothing (sandbox/calltime.py, sandbox/faults.py,
grading/retry.py): a worker killed from outside, or kept from running by a busy machine, runs the case again
in a fresh worker; twice, and the case is the grader's fault (its feedback, the staff's note, results.json),
never the student's mistake. Limits count the worker's own time: beside CPU hogs a slow honest case passes and
an infinite loop is still the student's time-out; a submission that kills itself gets a bounded number of
extra runs and nothing for free."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hostile.attacks import DK, Attack, wrap_dk
from hostile.build import make_submission

from autograder import run
from autograder.checking.table import load
from autograder.grading import diagnosis, retry, verdict
from autograder.sandbox import faults
from autograder.sandbox.confine import bwrap_works, interpreter_paths, worker_python
from autograder.sandbox.limits import Limits
from autograder.sandbox.procs import tree
from autograder.staff.batch import Row
from autograder.staff.export import Submission
from autograder.staff.report import summary_text

TABLE = load().select([DK])
CASES = len(TABLE.part(DK).cases)
WEIGHT = TABLE.part(DK).weight
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason=(
    "needs root: the test moves the sandbox user's worker onto the core its CPU hogs spin on, which only root "
    "may do to another user's process"))
HOG = "import os, sys\nif sys.argv[1]:\n    os.sched_setaffinity(0, {int(sys.argv[1])})\nwhile True:\n    pass\n"


def grade(sub, **limits):
    bwrap_works(worker_python())  # the probes first: no worker-like process but the grading's own later
    interpreter_paths(worker_python())
    return run.grade(sub, parts=[DK], limits=Limits(**{"call_timeout": 2.0, "import_timeout": 10.0,
                                                         "cpu_seconds": 120, **limits}), trusted=True)


def submission(tmp_path, name, body):
    return make_submission(Attack(name, "", wrap_dk(body)), tmp_path / name, {})


def workers():
    """The pids of this process's sandbox workers (the interpreters started with -I -c, under bwrap or not)."""
    out = []
    for pid in tree(os.getpid())[1:]:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"-I" in argv[1:3] and b"-c" in argv[1:4] and b"bwrap" not in argv[0]:
            out.append(pid)
    return out


class Hogs:
    """``n`` processes that spin on the CPU (on core ``cpu`` only, if given), until stopped; each in a session
    of its own, as other people's and other runs' processes are (the scheduler shares a core between
    sessions first, "autogroups", then between the processes of each)."""

    def __init__(self, n, cpu=None):
        self.procs = [subprocess.Popen([sys.executable, "-c", HOG, "" if cpu is None else str(cpu)],
                                       start_new_session=True) for _ in range(n)]
        time.sleep(0.3)

    def stop(self):
        for p in self.procs:
            p.kill()
            p.wait()
        self.procs = []


def dk_cases(out):
    return out.parts[DK].cases


def test_a_worker_killed_from_outside_runs_again(tmp_path):
    """The worker dies by a SIGKILL no limit explains (another run's clean-up, an administrator): the case runs
    again in a fresh worker and scores; staff see the fault, the student loses nothing."""
    sub = submission(tmp_path, "slow_once", """
import time
if not globals().get("_slept"):
    globals()["_slept"] = True
    time.sleep(1.5)  # the first call of each worker: long enough to be killed in""")
    killed = []

    def killer():
        deadline = time.monotonic() + 60
        while not killed and time.monotonic() < deadline:
            for pid in workers():
                time.sleep(0.5)  # into the first call's sleep (a process that ended meanwhile was no worker)
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
                killed.append(pid)
                break
            time.sleep(0.05)

    thread = threading.Thread(target=killer)
    thread.start()
    out = grade(sub)
    thread.join()
    assert killed, "the test never saw a worker to kill"
    assert out.data["score"] == WEIGHT, [c.lines for c in dk_cases(out)]
    recovered = out.data["extra_data"]["machine_faults"]
    assert len(recovered) == 1 and recovered[0]["recovered"], recovered
    assert "killed from outside (SIGKILL" in recovered[0]["fault"], recovered
    assert any("failed 1 case(s) once; each ran again in a fresh worker" in n for n in out.notes), out.notes
    assert not any(n.startswith(retry.NOTE) for n in out.notes), out.notes


def test_a_submission_that_kills_itself_gets_bounded_retries_and_nothing_for_free(tmp_path):
    """os.kill(os.getpid(), SIGKILL) looks like a kill from outside: a few cases run again (at most
    MAX_RETRIES per grading), each then is the grader's fault in the feedback and the staff's note, and the
    part earns nothing."""
    sub = submission(tmp_path, "self_kill", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    judged = []
    real = faults.judge

    def counting(sandbox, err, clock=None):
        reason = real(sandbox, err, clock)
        judged.append(reason)
        return reason

    faults.judge = counting
    try:
        out = grade(sub)
    finally:
        faults.judge = real
    cases = dk_cases(out)
    assert out.data["score"] == 0
    assert [c.kind for c in cases] == ["machine"] * CASES, [c.lines for c in cases]
    assert len(judged) == CASES + min(retry.MAX_RETRIES, CASES) and all(judged), judged  # bounded runs
    retried = [c for c in cases if "fresh worker" in c.lines[0]]
    assert len(retried) == min(retry.MAX_RETRIES, CASES)
    assert all("This is not a mistake in your code" in c.lines[0] for c in cases)
    # nothing of the student's is named or blamed: no mistake, no cause elsewhere, no function said to fail
    assert all(not (c.mistakes or c.candidates or c.causes or c.used or c.evidence) for c in cases)
    part = TABLE.part(DK)
    assert {verdict.diagnosis(part, c, reveal=True)[0] for c in cases} == {"machine"}
    assert not any(diagnosis.fails(c, "forward", 1) for c in cases)
    assert any(n.startswith(f"{retry.NOTE}: the grading machine failed {CASES} case(s) twice") for n in out.notes)
    text = out.parts[DK].feedback(fmt="text")
    assert "This is not a mistake in your code" in text, text
    if any(c.hidden for c in cases):  # a hidden case shows its kind of failure only
        assert "(the grading machine failed, not your code)" in text, text
    # grade-all's summary names the submission, from the grading's notes (data, never text it printed)
    row = Row(Submission("s1", "submission_1", sub), "ok", "", 1.0, out.data, notes=out.notes)
    summary = summary_text([row], TABLE, 0)
    assert "the grading machine's faults (1 submissions; grade them again" in summary, summary
    assert f"  s1: {retry.NOTE}: the grading machine failed {CASES} case(s) twice" in summary, summary


def test_under_two_cpu_hogs_a_slow_case_passes_and_a_loop_is_still_a_time_out(tmp_path):
    """Two processes spinning beside the grading (and whatever else runs on the machine): a case whose honest
    code needs 1.2 s of CPU time per call passes under a 1.5 s limit, however long it waits for a processor (it
    counts CPU time, not the wall clock), and an infinite loop is the student's time-out, never a fault of the
    machine. (The wall bound is wide here, 20 x the limit, so that a machine loaded by much more than the two
    hogs still gives the worker its time before it.)"""
    slow = submission(tmp_path, "slow", """
import time
end = time.process_time() + 1.2
while time.process_time() < end:
    pass""")
    loop = submission(tmp_path, "loop", "while True:\n    pass")
    limits = {"call_timeout": 1.5, "call_wall_factor": 20.0}
    hogs = Hogs(2)
    try:
        passed = grade(slow, **limits)
        looped = grade(loop, **limits)
    finally:
        hogs.stop()
    assert passed.data["score"] == WEIGHT, [c.lines for c in dk_cases(passed)]
    kinds = [c.kind for c in dk_cases(looped)]
    assert kinds[:2] == ["timeout", "timeout"] and "machine" not in kinds, kinds
    assert "machine_faults" not in looped.data["extra_data"]


class Pinned:
    """Every sandbox worker that has dropped to its sandbox user (its start-up done) is moved to core ``cpu``
    (each of its threads), until stopped."""

    def __init__(self, cpu):
        self.cpu, self.done, self.seen = cpu, threading.Event(), set()
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self):
        while not self.done.wait(0.02):
            for pid in workers():
                try:
                    if pid in self.seen or Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split()[0] == "0":
                        continue
                    for tid in os.listdir(f"/proc/{pid}/task"):
                        os.sched_setaffinity(int(tid), {self.cpu})
                    self.seen.add(pid)
                except (OSError, IndexError):
                    continue

    def stop(self):
        self.done.set()
        self.thread.join()


@ROOT_ONLY
def test_a_case_the_busy_machine_starved_runs_again_and_twice_is_the_graders_fault(tmp_path, monkeypatch):
    """Twenty CPU hogs on the worker's core leave it a twentieth of a processor: its call reaches the wall bound
    with its CPU time far under the limit. With the hogs gone for the second run the case scores; with them
    still there it is the grader's fault, not a time-out. (The grader runs on the other cores.)"""
    sub = submission(tmp_path, "busy", """
import time
if not globals().get("_busy"):
    globals()["_busy"] = True  # the first call of each worker: 0.6 s of CPU time (2 s allowed)
    end = time.process_time() + 0.6
    while time.process_time() < end:
        pass""")
    limits = {"call_timeout": 2.0, "call_wall_factor": 5.0}
    mine = os.sched_getaffinity(0)
    cpu = sorted(mine)[-1]
    hogs = []

    pinned = []

    def busy():
        os.sched_setaffinity(0, (mine - {cpu}) or mine)
        hogs.append(Hogs(20, cpu=cpu))
        pinned.append(Pinned(cpu))

    def quiet():
        for h in hogs + pinned:
            h.stop()
        os.sched_setaffinity(0, mine)

    def after(function, n):  # the machine quiet again once ``function`` reported n times
        seen = []

        def wrapped(*args, **kwargs):
            out = function(*args, **kwargs)
            seen.append(out)
            if len(seen) == n:
                quiet()
            return out
        return wrapped

    monkeypatch.setattr(faults, "judge", after(faults.judge, 1))  # busy for the first run only
    busy()
    try:
        out = grade(sub, **limits)
    finally:
        quiet()
    assert out.data["score"] == WEIGHT, [c.lines for c in dk_cases(out)]
    recovered = out.data["extra_data"]["machine_faults"]
    assert len(recovered) == 1 and recovered[0]["recovered"], recovered
    assert "the machine was too busy" in recovered[0]["fault"], recovered

    monkeypatch.undo()
    monkeypatch.setattr(retry, "grader_fault", after(retry.grader_fault, 1))  # busy for both runs of case 1
    hogs.clear()
    pinned.clear()
    busy()
    try:
        out = grade(sub, **limits)
    finally:
        quiet()
    cases = dk_cases(out)
    assert cases[0].kind == "machine" and "the machine was too busy" in cases[0].lines[0], cases[0].lines
    assert "it failed the same way in a fresh worker" in cases[0].lines[0]
    assert all(c.passed for c in cases[1:]), [c.lines for c in cases[1:]]
    assert any(n.startswith(f"{retry.NOTE}: the grading machine failed 1 case(s) twice") for n in out.notes)


def test_a_clean_twin_that_fails_is_the_machines_fault_never_the_students(tmp_path, monkeypatch):
    """The speed part's tripwire measures a clean worker that never runs student code: where that worker fails
    (here: every round trip of it crashes), the case runs again and then is the grader's fault, never the
    student's crash or time-out (no strike, nothing named)."""
    from autograder.checking import checks
    from autograder.sandbox.channel import CallError
    from autograder.sandbox.session import Sandbox

    class BrokenTwin:
        def spawn(self):
            pass

        def close(self):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.close()

        def ping(self, *args, **kwargs):
            raise CallError("the worker process died during ping: killed by SIGKILL", kind="crash")

    monkeypatch.setattr(Sandbox, "clean_twin", lambda self: BrokenTwin())
    monkeypatch.setattr(checks, "TRIPWIRE", 1e9)  # every student figure goes to the twin
    pid = next(p.id for p in load().parts if p.check == "gemm_efficiency")
    out = run.grade(Path(__file__).resolve().parent.parent / "solutions", parts=[pid], limits=Limits(cpu_seconds=120),
                    trusted=True)
    cases = out.parts[pid].cases
    assert cases and all(c.kind == "machine" and "This is not a mistake in your code" in c.lines[0]
                         for c in cases), [(c.kind, c.lines) for c in cases]
    assert all("clean worker" in f["fault"] for f in out.data["extra_data"]["machine_faults"])
