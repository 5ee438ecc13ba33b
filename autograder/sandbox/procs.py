"""The processes of a sandbox uid: find them, and kill them all (double forks included).

Only processes in the grader's own cgroup count: a process can leave its cgroup only with root's help, so
every process a worker started (threads, a double-forked daemon) is there, while a container next to the
grader whose users happen to have the same uid (the same kernel, the same numbers) is not touched.
"""

import os
import re
import signal
import time

# State comes before Uid in /proc/<pid>/status; the Name line above them escapes newlines.
_STATUS = re.compile(rb"\nState:\s*(\S).*?\nUid:\s*(\d+)\s+(\d+)", re.S)


def _cgroup(pid="self"):
    try:
        with open(f"/proc/{pid}/cgroup", "rb") as f:
            return f.read()
    except OSError:
        return None


def scan_uid(uid):
    """([live pids], [zombie pids]) whose real or effective uid is ``uid``, in the grader's cgroup, in one pass
    over /proc (a grading kills its sandbox user's processes several times, and every pass reads every
    process's status)."""
    live, dead = [], []
    ours = _cgroup()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fd = os.open(f"/proc/{entry}/status", os.O_RDONLY | os.O_CLOEXEC)
            try:
                data = os.read(fd, 4096)
            finally:
                os.close(fd)
        except OSError:
            continue
        m = _STATUS.search(data)
        if m and uid in (int(m[2]), int(m[3])):
            if ours is not None and m[1] not in (b"Z", b"X") and _cgroup(entry) not in (ours, None):
                continue  # another container's process with the same uid
            (dead if m[1] in (b"Z", b"X") else live).append(int(entry))
    return live, dead


def pids_of_uid(uid, zombies=False):
    """Live processes (zombies too with ``zombies``) whose real or effective uid is ``uid``."""
    live, dead = scan_uid(uid)
    return live + dead if zombies else live


def kill_uid(uid, rounds=250):
    """SIGKILL every process of ``uid`` until none is left (double forks included).

    Never for the grader's own uid (that would kill the grader)."""
    if uid in (0, os.getuid(), os.geteuid()):
        raise ValueError(f"refusing to kill every process of uid {uid}")
    for _ in range(rounds):
        pids, zombies = scan_uid(uid)
        if not pids:
            # Zombies run nothing, but count against RLIMIT_NPROC of the next worker of this
            # user until they are reaped: give their new parent (init) a moment.
            for _ in range(100):
                if not zombies:
                    break
                time.sleep(0.02)
                zombies = pids_of_uid(uid, zombies=True)
            return True
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)
    return not pids_of_uid(uid)


def tree(pid):
    """``pid`` and every live descendant of it (through /proc/<pid>/task/*/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p in out:
            continue
        out.append(p)
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo += [int(c) for c in f.read().split()]
            except (OSError, ValueError):
                continue
    return out


PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def usage(pid, pids=None):
    """{"open_files", "threads", "rss_bytes"} summed over ``pid`` and its descendants (``pids``: them, known
    already), or None where /proc cannot tell (not Linux, the process is gone, or its /proc entries are not ours
    to read)."""
    total = {"open_files": 0, "threads": 0, "rss_bytes": 0}
    seen = False
    for p in pids or tree(pid):
        try:
            total["open_files"] += len(os.listdir(f"/proc/{p}/fd"))
            with open(f"/proc/{p}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()  # after the command name, which may hold anything
            threads, rss_pages = int(fields[17]), int(fields[21])  # num_threads and rss: fields 20 and 24
        except (OSError, IndexError, ValueError):
            continue
        seen = True
        total["threads"] += threads
        total["rss_bytes"] += rss_pages * PAGE
    return total if seen else None
