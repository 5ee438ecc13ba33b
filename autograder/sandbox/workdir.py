"""A worker's private folder and what it is told when it starts.

``populate`` makes the folder: run/ with copies of the submission's files and the grader's own common.py, and
scratch/, the worker's temporary folder where it has no private /tmp. ``worker_config`` is the start-up config
the worker reads (limits, who it runs as, what to hide, its system-call policy, what to probe).
"""

import os
import shutil
from pathlib import Path

from . import policy
from .confine import SCRATCH, landlock_read, private_paths, provided_common, secret_files


def populate(workdir, files, user):
    """(run folder, scratch folder) under ``workdir``. With a sandbox ``user``: run/ and its files root-owned,
    readable by that user's group only (not by other slots' users), writable by nobody but root; scratch/ that
    user's only."""
    run = workdir / "run"
    run.mkdir(parents=True, exist_ok=True)
    scratch = workdir / "scratch"
    scratch.mkdir(mode=0o700, exist_ok=True)
    for name, src in files.items():
        shutil.copyfile(src, run / f"{name}.py")
    shutil.copyfile(provided_common(), run / "common.py")
    if user is not None:
        os.chmod(workdir, 0o711)
        for p in run.iterdir():
            os.chown(p, 0, user.gid)
            os.chmod(p, 0o640)
        os.chown(run, 0, user.gid)
        os.chmod(run, 0o750)
        os.chown(scratch, user.uid, user.gid)
    return run, scratch


def worker_config(sb, req_r, rep_w):
    """The start-up config of the worker of Sandbox ``sb`` (JSON, in its environment), its pipes ``req_r`` and
    ``rep_w``."""
    lim, user = sb.limits, sb.user
    private = private_paths(sb.files.values(), sb.private)
    probe_read, probe_write = [], []
    if user is not None:  # without one, the output says "isolation reduced" already
        probe_read = [str(p) for p in secret_files()] + [str(p) for p in sb.private]
        probe_write = [str(p) for p in sb.private] + [str(p.parent) for p in map(Path, sb.files.values())]
    return {
        "req_fd": req_r, "reply_fd": rep_w, "rundir": str(sb.rundir), "memory_bytes": lim.memory_bytes,
        "cpu_seconds": lim.cpu_seconds, "processes": lim.processes, "file_bytes": lim.file_bytes,
        "open_files": lim.open_files, "uid": user.uid if user else None, "gid": user.gid if user else None,
        "seccomp": bool(lim.seccomp), "seccomp_policy": policy.for_machine() if lim.seccomp else None,
        "mount_isolation": bool(lim.mount_isolation), "isolate_network": bool(lim.network_namespace),
        "isolate_ipc": bool(lim.ipc_namespace), "wrapped": sb.wrapped, "hide": [str(p) for p in private],
        "scratch": SCRATCH, "scratch_bytes": lim.scratch_bytes, "scratch_dir": str(sb.scratch),
        "landlock": bool(lim.landlock), "landlock_read": landlock_read(sb.python, private) if lim.landlock else [],
        "probe_read": probe_read, "probe_write": probe_write,
        "graded": {m: list(fs) for m, fs in sb.graded.items() if m in sb.files},
    }
