"""How long one call into student code may take: the worker's own time, with the wall clock only as a wide bound.

A call's limit (Limits.call_timeout, Limits.import_timeout at start-up) is what the student's code may spend.
On a busy machine (other gradings and test runs beside it, Gradescope's half CPU shared with neighbours) a
worker gets less of a core per second than on an idle one, and the wall clock would charge the student for
the machine's load. So while the grader waits for a reply it reads, from /proc, what the worker had:

- its CPU time (its CPU-time clock: every thread), and
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

The worker is the interpreter at the end of its process tree (bubblewrap's two processes sleep), found once
per worker; each call takes its starting point from it (a clock read and a few small files: a few
microseconds), and the grader reads it again every channel.POLL seconds while it waits (a call that ends
before costs nothing more). Without /proc (a student's Mac) nothing is read and the wall clock is the limit,
as it was.
"""

import os
import time
import weakref

from .channel import CallError
from .cpu import process_clock
from .procs import tree

STARVED = 0.5  # at the wall bound, a worker with less than this share of its CPU limit was kept from running
_WORKER = weakref.WeakKeyDictionary()  # Popen -> pid of the interpreter that runs student code


def worker_pid(proc):
    """The pid of the interpreter that runs student code: ``proc`` itself, or the last of the processes
    bubblewrap started (found once per worker, after its hello)."""
    pid = _WORKER.get(proc)
    if pid is None:
        pid = _WORKER[proc] = tree(proc.pid)[-1]
    return pid


def sample(pid):
    """(CPU seconds, {thread: run-queue delay in seconds}) of process ``pid``, or None where /proc cannot tell."""
    delays = {}
    try:
        cpu = process_clock(pid)
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as f:
                    delays[tid] = int(f.read().split()[1]) / 1e9
            except (OSError, ValueError, IndexError):
                continue
    except (OSError, AttributeError):  # gone, not ours to read, or no CPU-time clocks here
        return None
    return (cpu, delays) if delays else None


class CallClock:
    """The time of one round trip with the worker ``proc``: ``check(what)`` (or the clock called: the Channel's
    watch) between waits raises the student's time-out; ``outer`` is the wall bound the caller waits at most.
    ``starting``: the worker was just started (its time so far is zero: nothing to read yet)."""

    def __init__(self, proc, limit, wall_factor, starting=False):
        self.proc, self.limit = proc, float(limit)
        self.outer = self.limit * max(float(wall_factor), 1.0)
        self.start = time.perf_counter()
        self.pid = None if starting or proc is None else worker_pid(proc)
        self.base = (0.0, {}) if self.pid is None else sample(self.pid)
        self.read = False  # a reading was taken during the call
        self.last = (0.0, 0.0, 0.0)  # (wall, CPU, kept waiting) since the start, at the last reading
        self.expired = ""  # "cpu" | "time": the clock ended the call (the student's time-out)

    def reading(self):
        """(wall, CPU, kept waiting) since the call started, or None where /proc cannot tell."""
        if self.proc is None or self.base is None or self.proc.poll() is not None:
            return None
        now = sample(self.pid if self.pid is not None else tree(self.proc.pid)[-1])
        if now is None:
            return None
        cpu0, delays0 = self.base
        waited = max(d - delays0.get(t, 0.0) for t, d in now[1].items())
        wall = time.perf_counter() - self.start  # (a worker started earlier: its delays counted from then)
        self.last = (wall, max(now[0] - cpu0, 0.0), min(max(waited, 0.0), wall))
        self.read = True
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
        if (self.expired or not self.read or time.perf_counter() - self.start < self.outer * 0.99
                or cpu >= STARVED * self.limit):
            return ""
        return (f"the machine was too busy: the worker was kept waiting for a processor {waited:.0f} s of "
                f"{wall:.0f} s and computed {cpu:.1f} s of the {self.limit:g} s allowed")
