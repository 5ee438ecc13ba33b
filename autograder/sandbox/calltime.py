"""How long one call into student code may take: the worker's own time, with the wall clock only as a wide bound.

A call's limit (Limits.call_timeout, Limits.import_timeout at start-up) is what the student's code may spend.
On a busy machine (other gradings and test runs beside it, Gradescope's half CPU shared with neighbours) a
worker gets less of a core per second than on an idle one, and the wall clock would charge the student for
the machine's load. So while the grader waits for a reply it reads, from /proc, what the worker had:

- its CPU time (every thread and child process, cpu.worker_cpu), and
- the time it had for itself: the wall time minus the time its most delayed thread spent runnable but kept
  from a core (the scheduler's run-queue delay, /proc/<pid>/task/<tid>/schedstat; a worker that sleeps or
  blocks has all of its time).

Either reaching the limit is the student's time-out (an infinite loop, a sleep, a very slow implementation).
A worker that reaches neither before the outer bound (``Limits.call_wall_factor`` x the limit), with its CPU
time far under the limit (under half), was kept from running by the machine: ``CallClock.starved`` is then
the reason, a fault of the machine, never the student's (sandbox/faults.py). One that computed more than
half its limit by then is the student's time-out all the same: an infinite loop stays the student's on a
machine that gives it an eighth of a processor or more. A student cannot fake starving: making its own
threads wait for a core means burning CPU on every core, which reaches the limit first.

The first reading is taken after channel.POLL seconds, not at the call's start (most calls end before that
and cost nothing): those seconds count in full as CPU time and as time the worker had. Without /proc (a
student's Mac) nothing is read and the wall clock is the limit, as it was.
"""

import os
import time

from .channel import CallError
from .cpu import worker_cpu
from .procs import tree

STARVED = 0.5  # at the wall bound, a worker with less than this share of its CPU limit was kept from running


def run_delay(pid):
    """The largest run-queue delay (seconds) of any thread of ``pid`` and its descendants, or None."""
    worst, seen = 0, False
    for p in tree(pid):
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tids:
            try:
                with open(f"/proc/{p}/task/{t}/schedstat", "rb") as f:
                    worst = max(worst, int(f.read().split()[1]))
                seen = True
            except (OSError, ValueError, IndexError):
                continue
    return worst / 1e9 if seen else None


class CallClock:
    """The time of one round trip with the worker ``proc``: ``check(what)`` (or the clock called: the Channel's
    watch) between waits raises the student's time-out; ``outer`` is the wall bound the caller waits at most."""

    def __init__(self, proc, limit, wall_factor):
        self.proc, self.limit = proc, float(limit)
        self.outer = self.limit * max(float(wall_factor), 1.0)
        self.start = time.perf_counter()
        self.first = None  # (time, CPU, run delay) of the first reading
        self.last = (0.0, 0.0, 0.0)  # (wall, CPU, kept waiting) since the start, at the last reading
        self.expired = ""  # "cpu" | "time": the clock ended the call (the student's time-out)

    def reading(self):
        """(wall, CPU, kept waiting) since the call started, or None where /proc cannot tell."""
        if self.proc is None or self.proc.poll() is not None:
            return None
        cpu, delay = worker_cpu(self.proc), run_delay(self.proc.pid)
        if cpu is None or delay is None:
            return None
        now = time.perf_counter()
        if self.first is None:
            self.first = (now, cpu[0], delay)
        head = self.first[0] - self.start  # before the first reading: counted in full
        t0, c0, d0 = self.first
        self.last = (now - self.start, head + cpu[0] - c0, max(delay - d0, 0.0))
        return self.last

    def check(self, what):
        """Raise the student's time-out once the worker spent its limit in CPU time, or had it for itself
        (where /proc cannot tell: once the limit passed by the wall clock)."""
        got = self.reading()
        if got is None:
            got = (time.perf_counter() - self.start,) * 2 + (0.0,)
        wall, cpu, waited = got
        if cpu >= self.limit or wall - waited >= self.limit:
            self.expired = "cpu" if cpu >= self.limit else "time"
            raise CallError(f"{what} did not finish within the time limit", kind="timeout")

    __call__ = check  # the Channel's watch

    def starved(self):
        """Why the machine, not the student, ended the call at the outer bound ('' when it did not): the
        worker had neither its time nor half its CPU time before the wall bound ran out. (A worker that
        computed more than half its limit and goes on is taken at its word: a loop, or too slow.)"""
        wall, cpu, waited = self.last
        if (self.expired or self.first is None or time.perf_counter() - self.start < self.outer * 0.99
                or cpu >= STARVED * self.limit):
            return ""
        return (f"the machine was too busy: the worker was kept waiting for a processor {waited:.0f} s of "
                f"{wall:.0f} s and computed {cpu:.1f} s of the {self.limit:g} s allowed")
