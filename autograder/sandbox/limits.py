"""The limits of one grading and of its worker: time, memory, processes, files, replies, isolation layers.

Course staff set them in the case table's `limits:` (and the whole grading's time by
$CONVGRADE_GRADING_SECONDS); run.limits_from reads both.
"""

import os
from dataclasses import dataclass, field


def default_grading_seconds():
    """Seconds for a whole grading, start-up included ($CONVGRADE_GRADING_SECONDS, else 480): well inside
    Gradescope's 10 minutes, which score 0 with every test hidden when they run out."""
    for var in ("CONVGRADE_GRADING_SECONDS", "CONVGRADE_GRADING_BUDGET"):
        if os.environ.get(var):
            return float(os.environ[var])
    return 480.0

@dataclass
class Limits:
    # seconds per call of the worker's CPU time, or of time it had for itself (a sleep counts, waiting for a
    # busy machine's processor does not: calltime.py); call_wall_factor x that by the wall clock at most
    call_timeout: float = 20.0
    import_timeout: float = 20.0
    call_wall_factor: float = 4.0
    memory_bytes: int = 1536 * 2**20  # address space (numpy + BLAS need ~300 MB of it)
    cpu_seconds: int = 300  # whole worker lifetime
    processes: int = 64  # threads included; only enforced for a dedicated sandbox user (ThreadPoolExecutor
    # starts up to cpu_count + 4 threads)
    file_bytes: int = 8 * 2**20  # any single file, the output log included
    open_files: int = 64
    # A reply may hold max(reply_min_bytes, reply_factor x the bytes the call is expected to return) of
    # arrays; the declared sizes are checked before a byte of the payload is read.
    reply_min_bytes: int = 4 * 2**20
    reply_factor: float = 8.0
    grading_seconds: float = field(default_factory=default_grading_seconds)  # the whole grading (run.grade)
    output_chars: int = 2000  # captured stdout/stderr shown per call
    # A worker left holding more than these after a case is replaced by a fresh one for the cases that follow
    # (descriptors, threads or memory a call kept must not fail another part's cases).
    recycle_open_files: int = 32
    recycle_threads: int = 8
    recycle_rss_bytes: int = 384 * 2**20
    scratch_bytes: int = 32 * 2**20  # private /tmp, /var/tmp, /dev/shm (mount namespace only)
    # isolation layers; switched off only by tests that exercise the layers beneath
    seccomp: bool = True
    mount_isolation: bool = True
    network_namespace: bool = True
    ipc_namespace: bool = True
    # the worker's filesystem allow-list where the kernel has Landlock (landlock.py); $CONVGRADE_LANDLOCK=0
    # switches it off (to see what holds on a kernel without it)
    landlock: bool = field(default_factory=lambda: os.environ.get("CONVGRADE_LANDLOCK", "1").lower()
                           not in ("0", "off", "no", "false"))
    # "auto": start the worker under bubblewrap (an allow-list root in new mount, PID, IPC, network and,
    # without root, user namespaces) where bwrap is installed and works; "none": the worker's own
    # namespaces and tmpfs deny-list (what runs where bwrap is missing or refused)
    wrapper: str = "auto"

    def held_too_much(self, held):
        """What a worker holds beyond the recycle limits ("" when nothing; ``held``: procs.usage's reading)."""
        if held is None:
            return ""
        why = [f"{held['open_files']} open files" if held["open_files"] > self.recycle_open_files else "",
               f"{held['threads']} threads" if held["threads"] > self.recycle_threads else "",
               f"{held['rss_bytes'] >> 20} MB of memory" if held["rss_bytes"] > self.recycle_rss_bytes else ""]
        return ", ".join(w for w in why if w)
