"""CPU time of the sandbox worker, read from its CPU-time clock and /proc, and best-of timing of the grader's own code.

Used by the speed part: the worker's CPU time is what the student's code cost, whatever else the
machine was doing (by the wall clock, ~1 MB of arrays crossing the pipes waits for a core on a busy
machine). Without /proc (a student's Mac) callers fall back to the wall clock.
"""

import os
import time


def process_clock(pid):
    """CPU seconds of process ``pid`` so far, every thread it ever had included (its CPU-time clock,
    clock_gettime with the clock id of clock_getcpuclockid(3): nanoseconds, the threads that ended too)."""
    return time.clock_gettime((~pid << 3) | 2)  # MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)


def worker_cpu(proc):
    """(CPU seconds of the process ``proc``, CPU seconds it was charged in clock ticks), or None where the
    kernel cannot tell (not Linux, no process). Summed over the process and its live descendants.

    The first is each process's CPU-time clock (``process_clock``): exact, and it holds every thread the
    process ever ran, so work done in a thread that ended before the reading is counted (schedstat of the
    live threads would lose it, and the ticks below are 10 ms coarse: a slow convolution done in such a
    thread measured as fast). The second comes from /proc/<pid>/stat (utime + stime + cutime + cstime,
    10 ms ticks), which also holds waited-for child processes that ended in between.
    """
    if proc is None or proc.poll() is not None:
        return None
    ns = ticks = 0
    todo, seen = [proc.pid], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            tids = os.listdir(f"/proc/{pid}/task")
            with open(f"/proc/{pid}/stat") as f:
                ticks += sum(int(v) for v in f.read().rsplit(")", 1)[1].split()[11:15])
            ns += process_clock(pid)
        except (OSError, ValueError, IndexError, AttributeError):  # AttributeError: no clock_gettime here
            if pid != proc.pid and not os.path.exists(f"/proc/{pid}"):
                continue  # a descendant that just ended
            return None
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    todo += [int(c) for c in f.read().split()]
            except (FileNotFoundError, ProcessLookupError):  # a thread that just ended
                continue
            except (OSError, ValueError):
                return None
    return ns, ticks / os.sysconf("SC_CLK_TCK")


def counts_cpu():
    """Can this machine read a process's CPU time from outside it (worker_cpu)? Linux with /proc."""
    try:
        process_clock(os.getpid())
        with open(f"/proc/{os.getpid()}/stat"):
            return True
    except (OSError, AttributeError):
        return False


def cpu_spent(before, after):
    """CPU seconds between two worker_cpu() readings (None if either is None): the exact figure, unless
    the ticks show more than one tick beyond it (work in child processes that ended, whose clocks are gone)."""
    if before is None or after is None:
        return None
    tick = 1 / os.sysconf("SC_CLK_TCK")
    return max(after[0] - before[0], after[1] - before[1] - tick)


def best_time(run, prepare, repeats, clock=time.perf_counter):
    """Best-of-``repeats`` seconds of ``run(*prepare(i))``, fresh arguments each time (prepared untimed)."""
    best = float("inf")
    for i in range(repeats):
        args = prepare(i)
        start = clock()
        run(*args)
        best = min(best, clock() - start)
    return best
