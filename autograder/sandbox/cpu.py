"""CPU time of the sandbox worker, read from /proc, and best-of timing of the grader's own code.

Used by the speed part: the worker's CPU time is what the student's code cost, whatever else the
machine was doing (by the wall clock, ~1 MB of arrays crossing the pipes waits for a core on a busy
machine). Without /proc (a student's Mac) callers fall back to the wall clock.
"""

import os
import time


def worker_cpu(proc):
    """(CPU seconds of the process ``proc``'s threads, CPU seconds it was charged in clock ticks), or None
    where /proc cannot tell (not Linux, no process). Summed over the process and its live descendants.

    The first comes from /proc/<pid>/task/*/schedstat (nanoseconds, live threads only); the second from
    /proc/<pid>/stat (utime + stime + cutime + cstime, 10 ms ticks), which also holds threads and
    waited-for children that ended in between, so work cannot hide there.
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
        except FileNotFoundError:  # a descendant that just ended
            if pid == proc.pid:
                return None
            continue
        except (OSError, ValueError, IndexError):
            return None
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    ns += int(f.read().split()[0])
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    todo += [int(c) for c in f.read().split()]
            except FileNotFoundError:  # a thread that just ended: in the ticks
                continue
            except (OSError, ValueError):
                return None
    return ns / 1e9, ticks / os.sysconf("SC_CLK_TCK")


def cpu_spent(before, after):
    """CPU seconds between two worker_cpu() readings (None if either is None): the exact figure, unless
    the ticks show more than one tick beyond it (work in threads or processes that ended)."""
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
