"""Faults of the machine, told apart from what a submission did.

A call fails for the submission's reasons (it raised, looped, ran out of memory, wrote too much, exited) or
for the machine's: the worker was killed by something the grader cannot attribute to the submission, or the
machine kept it from running until the wall bound (calltime.py). ``judge`` looks at one failed round trip
and, where the evidence clears the submission, names the fault:

- a time-out at the outer wall bound with the worker's CPU time and own time far under the limit
  (CallClock.starved): the machine was too busy;
- a SIGKILL with no sign of any limit: not the grader's own kill (its time-outs are judged above), not the
  OOM killer (oom.py: the call then failed as "ran out of memory"), not the scratch guard (scratch.py), not
  RLIMIT_CPU (the worker's CPU time, read from its exited process before the grader reaps it, is under the
  limit). Something outside killed it: another run's clean-up, an administrator, a container runtime.

The case is then run again with a fresh worker (grading/retry.py); a submission that kills itself with
SIGKILL (signals to itself are allowed) looks the same, so the retries are bounded and the second failure is
reported as the grader's fault, never as the student's mistake, and earns nothing.

A sandbox collects the faults of its round trips in ``machine_faults`` (the grader takes them per case).
"""

import os
import signal
import time


def faults_of(sandbox):
    """The machine faults recorded on ``sandbox`` since the grader last took them (a list, kept on it)."""
    return vars(sandbox).setdefault("machine_faults", [])


def exited_cpu(pid, wait=2.0):
    """CPU seconds of the exited process ``pid`` (still a zombie: not yet reaped), its waited-for children
    included, or None when it has not exited within ``wait`` seconds or cannot be read."""
    deadline = time.monotonic() + wait
    while True:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            return None
        if fields[0] in (b"Z", b"X"):
            return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        if time.monotonic() > deadline:
            return None
        time.sleep(0.01)


def watched(sandbox, crash_message):
    """The Channel's crash callback: ``crash_message``'s CallError, with what ``judge`` needs of the worker's
    end (its CPU time, read before the grader reaps it; whether the scratch guard ended it)."""
    def crashed(what):
        proc, guard = sandbox.proc, sandbox.guard
        cpu = exited_cpu(proc.pid) if proc is not None else None
        err = crash_message(what)
        err.end = {"cpu": cpu, "code": proc.returncode if proc is not None else None,
                   "guard": bool(guard is not None and guard.exceeded)}
        return err
    return crashed


def judge(sandbox, err, clock=None):
    """Record on ``sandbox`` (and on ``err.fault``) why the failed round trip ``err`` was the machine's fault,
    and return it; '' when the submission could have caused it."""
    reason = ""
    if err.kind == "timeout" and clock is not None:
        reason = clock.starved()
    elif err.kind == "crash" and getattr(err, "end", None):
        end = err.end
        code = end["code"]
        if code is not None and sandbox.wrapped and code > 128:  # bubblewrap passes a signal on as 128 + its number
            code = 128 - code
        cpu_limit = sandbox.limits.cpu_seconds
        if code == -signal.SIGKILL and not end["guard"] and end["cpu"] is not None and end["cpu"] < 0.9 * cpu_limit:
            reason = (f"the worker was killed from outside (SIGKILL, with no sign of a limit: not out of memory, "
                      f"{end['cpu']:.1f} s of its {cpu_limit} s of CPU time)")
    if reason:
        err.fault = reason
        faults_of(sandbox).append(reason)
    return reason
