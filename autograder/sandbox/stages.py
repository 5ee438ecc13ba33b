"""Where a grading's time goes, by stage: what `make bench` reports (tools/bench.py), off otherwise.

A grading passes through start-up (torch, imported on first use), intake, worker start, student calls, oracle,
checks, feedback and writing (and the sandbox's own set-up and clean-up); each piece of code says which stage
it is in (``with stage("oracle"):``), and nested stages count exclusively (the student calls made inside a
check are the calls', not the check's). The meter counts this process's CPU time (user + system) and wall
time, and, for the workers, the CPU their process trees used (read from /proc before each is killed):
start-up up to the worker's hello goes to "worker start", the rest to "student calls".

It lives in sandbox/, the first stage of the path, because every stage uses it. It is off unless installed:
``CONVGRADE_STAGES=FILE`` makes run.grade install it and append one JSON line per grading to FILE.
"""

import functools
import json
import time
from contextlib import nullcontext

STAGES = ("start-up", "intake", "sandbox", "worker start", "student calls", "oracle", "checks", "feedback", "writing")
METER = None
_OFF = nullcontext()


_cpu = time.process_time  # this process's user + system CPU, in nanoseconds (os.times: 10 ms ticks)


class Meter:
    """CPU and wall seconds per stage, exclusive of the stages nested inside; the workers' CPU beside."""

    def __init__(self):
        self.cpu = dict.fromkeys(STAGES, 0.0)
        self.wall = dict.fromkeys(STAGES, 0.0)
        self.workers = {"worker start": 0.0, "student calls": 0.0}
        self.counts = {}
        self.active = []
        self.mark = (_cpu(), time.perf_counter())
        self.started = self.mark

    def _charge(self):
        now = (_cpu(), time.perf_counter())
        if self.active:
            top = self.active[-1]
            self.cpu[top] += now[0] - self.mark[0]
            self.wall[top] += now[1] - self.mark[1]
        self.mark = now

    def enter(self, name):
        self._charge()
        self.active.append(name)

    def exit(self):
        self._charge()
        self.active.pop()

    def count(self, name, n=1):
        self.counts[name] = self.counts.get(name, 0) + n

    def record(self, **extra):
        now = (_cpu(), time.perf_counter())
        return {"cpu": {k: round(v, 6) for k, v in self.cpu.items()},
                "wall": {k: round(v, 6) for k, v in self.wall.items()},
                "workers_cpu": {k: round(v, 6) for k, v in self.workers.items()},
                "counts": dict(self.counts), "total_cpu": round(now[0] - self.started[0], 6),
                "total_wall": round(now[1] - self.started[1], 6), **extra}


class _Stage:
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        METER.enter(self.name)

    def __exit__(self, *exc):
        METER.exit()


def stage(name):
    """A context manager counting what runs inside it to ``name`` (one of STAGES); nothing when off."""
    return _OFF if METER is None else _Stage(name)


def staged(name):
    """A decorator: every call of the function counts to the stage ``name``."""
    def decorate(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            if METER is None:
                return fn(*args, **kwargs)
            with _Stage(name):
                return fn(*args, **kwargs)
        return run
    return decorate


def count(name, n=1):
    if METER is not None:
        METER.count(name, n)


def _tree_cpu(proc):
    from .cpu import worker_cpu

    spent = worker_cpu(proc) if proc is not None else None
    return spent[0] if spent else 0.0


def worker_started(proc):
    """Count the CPU a worker's process tree used up to its hello to "worker start"; that figure (0.0: off)."""
    if METER is None:
        return 0.0
    spent = _tree_cpu(proc)
    METER.workers["worker start"] += spent
    return spent


def worker_ended(proc, at_start):
    """Count what the worker's tree used since its hello (``at_start``) to "student calls", before it is killed."""
    if METER is not None and proc is not None:
        METER.workers["student calls"] += max(_tree_cpu(proc) - at_start, 0.0)


def install():
    global METER
    METER = Meter()
    return METER


def finish(path, **extra):
    """Append this grading's record to ``path`` (one JSON line) and turn the meter off."""
    global METER
    meter, METER = METER, None
    if meter is None:
        return None
    record = meter.record(**extra)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
    return record
