"""The grade-all parent's side of its long-lived grading processes (batch_worker.py).

One GradingProcess per ``--jobs`` slot: started once (torch imported once), then handed one submission at a
time over a private pipe as one line of JSON; its reply is one line of JSON too (nothing is ever unpickled).
A submission's time limit runs from the moment it is handed over; when it runs out, or the process dies or
answers nonsense, the process and every descendant of it are killed (SIGKILL) and the next submission gets a
freshly started process: one submission's crash, hang or hostility never reaches another's result.
"""

import fcntl
import json
import os
import pwd
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PACKAGE_PARENT = Path(__file__).resolve().parents[2]
# `python -m autograder...` would put the cwd (the submissions' folder) first on sys.path: a submission folder
# named autograder/ must never be imported as the grader.
LAUNCHER = ("import sys; sys.path[0] = {!r}; from autograder.staff.batch_worker import serve; "
            "sys.exit(serve(int(sys.argv[1]), int(sys.argv[2])))")
START_TIMEOUT = 600.0  # seconds for a grading process to import torch and load the table
MAX_REPLY = 1 << 20

RUNNING = {}  # grading processes alive -> their temporary folders (killed and removed on Ctrl-C)


class Failure(Exception):
    """The grading process did not answer a submission: ``kind`` timeout or error."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


def descendants(pid):
    """Every live descendant of ``pid`` (Linux /proc; empty elsewhere)."""
    children = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for e in entries:
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(e))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def kill_tree(proc):
    """SIGKILL a process, its process group, and every descendant and its group (the sandboxed workers run
    in sessions of their own)."""
    pids = descendants(proc.pid)
    for target in [proc.pid, *pids]:
        for kill in (os.killpg, os.kill):
            try:
                kill(target, signal.SIGKILL)
            except OSError:
                pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def clean_slot(slot_file):
    """After a grading process was killed (or died): kill what its last sandbox user still runs, unless
    another grading holds that slot now (it killed the leftovers itself when it took the slot)."""
    from ..sandbox.accounts import recorded_owner
    from ..sandbox.isolation import SANDBOX_USER, lock_dir
    from ..sandbox.leftovers import clean
    from ..sandbox.procs import kill_uid

    try:
        uid, name = Path(slot_file).read_text().split()[:2]
        uid = int(uid)
    except (OSError, ValueError):
        return
    try:
        if uid == 0 or pwd.getpwuid(uid).pw_name != name or not re.fullmatch(
                rf"{re.escape(SANDBOX_USER)}(-[0-9]+)?", name) or recorded_owner(name) not in (
                None, (uid, pwd.getpwuid(uid).pw_gid)):
            return
        fd = os.open(lock_dir() / f"{name}.lock", os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
    except (KeyError, OSError):
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return
    try:
        if kill_uid(uid):
            clean(uid, pwd.getpwuid(uid).pw_gid)
    finally:
        os.close(fd)


class GradingProcess:
    """One long-lived grading process: ``grade(request, timeout)`` -> its reply, or raises Failure."""

    def __init__(self, config, cwd, log, slot_file=None):
        self.config, self.cwd, self.log = config, cwd, Path(log)
        self.slot_file = slot_file  # where the process records the sandbox slot it holds (isolation.record_slot)
        self.proc = None
        self.buffer = b""
        self.started = 0  # how many processes this slot has started
        self.tmp = None  # the current process's temporary folder

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        cmd = [sys.executable, "-c", LAUNCHER.format(str(PACKAGE_PARENT)), str(req_r), str(rep_w)]
        with open(self.log, "ab") as log:
            log.write(f"--- grading process {self.started + 1} started {time.strftime('%H:%M:%S')}\n".encode())
            log.flush()
            # its own temporary folder (its sandboxes' folders, unpacked zips), removed when it ends or is
            # killed: a process killed mid-grading cannot remove them itself
            self.tmp = tempfile.mkdtemp(prefix="convgrade-grading-")
            os.chmod(self.tmp, 0o711)  # the sandbox users reach their own folders below it, nothing else
            env = dict(os.environ, CONVGRADE_SLOT_FILE=str(self.slot_file or ""), CONVGRADE_GRADING_TMP=self.tmp)
            env.pop("CONVGRADE_SEED", None)  # the batch's secret comes over the pipe
            for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                env.setdefault(var, "1")  # --jobs processes at once: no BLAS thread pools spinning in each
            try:
                self.proc = subprocess.Popen(cmd, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT, pass_fds=(req_r, rep_w),
                                             start_new_session=True, env=env)
            finally:
                os.close(req_r)
                os.close(rep_w)
        RUNNING[self.proc] = self.tmp
        self.started += 1
        self.requests, self.replies, self.buffer = req_w, rep_r, b""
        # The batch's secret goes over the private pipe, never on a command line other users can read.
        self._send(self.config)
        ready = self._receive(time.monotonic() + START_TIMEOUT, "start")
        if not ready.get("ready"):
            self.kill()
            raise Failure("error", f"the grading process could not start: {ready.get('error', '?')}")

    def grade(self, request, timeout):
        if not self.alive():
            self.kill()
            self.start()
        self._send(request)
        reply = self._receive(time.monotonic() + timeout, "grade", timeout)
        if reply.get("id") != request["id"]:
            self.kill()
            raise Failure("error", "the grading process answered for another submission")
        return reply

    def _send(self, message):
        data = (json.dumps(message) + "\n").encode()
        try:
            while data:
                data = data[os.write(self.requests, data):]
        except OSError as exc:
            self.kill()
            raise Failure("error", f"the grading process stopped listening ({exc.strerror or exc})")

    def _receive(self, deadline, what, timeout=None):
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                if what == "start":
                    raise Failure("error", f"the grading process did not start within {START_TIMEOUT:g} s")
                raise Failure("timeout", f"grading did not finish within {timeout:g} s")
            ready, _, _ = select.select([self.replies], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(self.replies, 65536)
            if not chunk:
                try:
                    code = self.proc.wait(timeout=10) if self.proc else None
                except subprocess.TimeoutExpired:  # closed its end and lives on: killed all the same
                    code = None
                self.kill()
                raise Failure("error", f"the grading process died (exit code {code}){self.tail()}")
            self.buffer += chunk
            if len(self.buffer) > MAX_REPLY:
                self.kill()
                raise Failure("error", "the grading process sent an oversized reply")
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            self.kill()
            raise Failure("error", "the grading process sent an unreadable reply")
        return message

    def tail(self):
        try:
            lines = self.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            return ""
        return f": {lines[-1][:200]}" if lines and not lines[-1].startswith("---") else ""

    def kill(self):
        if self.proc is not None:
            kill_tree(self.proc)
            RUNNING.pop(self.proc, None)
            self.proc = None
            if self.slot_file and os.geteuid() == 0:
                clean_slot(self.slot_file)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        for name in ("requests", "replies"):
            fd = getattr(self, name, None)
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
                setattr(self, name, None)

    def close(self):
        """End the process: EOF on its requests, a moment to exit, then SIGKILL whatever is left."""
        if self.proc is not None and self.requests is not None:
            try:
                os.close(self.requests)
            except OSError:
                pass
            self.requests = None
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.kill()


def kill_all():
    for proc, tmp in list(RUNNING.items()):
        kill_tree(proc)
        RUNNING.pop(proc, None)
        shutil.rmtree(tmp, ignore_errors=True)
