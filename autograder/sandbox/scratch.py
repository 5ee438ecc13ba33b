"""The worker's scratch folder where no sized tmpfs holds it: its budget, kept by the grader.

With a mount namespace (bubblewrap's or the worker's own) the worker writes to a private tmpfs of
``Limits.scratch_bytes``. Without one (Gradescope's container: no CAP_SYS_ADMIN, so no mount) its scratch is
a folder on the machine's disk, and Landlock keeps it there, but nothing sizes it: RLIMIT_FSIZE caps one file
(8 MB), not how many, and a worker wrote 320 MB a second into it, enough to fill the disk other gradings and
the machine itself write to. ``ScratchGuard`` measures what the worker holds there (the blocks of every file
below the folder, and of files it deleted but keeps open) a few times a second, from a thread of the grader,
for as long as the worker lives; past the budget it SIGKILLs the worker (it has no other process: seccomp)
and empties the folder, and the call that was running fails with ``EXCEEDED``.
"""

import os
import shutil
import signal
import stat
import threading

POLL_SECONDS = 0.05
MAX_ENTRIES = 10_000  # files and folders below the scratch folder: more is over the budget too (inodes)
MAX_DEPTH = 32  # folders within folders: deeper is over the budget too (a walk holds one descriptor per level)
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class _Over(Exception):
    pass


def held_bytes(folder, pid, budget):
    """Bytes of disk the worker holds in ``folder`` (every file below it, never following a link; walked by
    descriptors, so no path is ever too long to look into) and in files it deleted but keeps open (its
    /proc/<pid>/fd); more than ``budget`` (then counting stops) where there are too many entries or levels."""
    state = {"bytes": 0, "entries": 0}

    def walk(dirfd, depth):
        folders = []
        try:
            with os.scandir(dirfd) as entries:  # read as it goes: never more than MAX_ENTRIES held
                for e in entries:
                    state["entries"] += 1
                    try:
                        st = e.stat(follow_symlinks=False)
                    except OSError:  # gone since the listing
                        continue
                    state["bytes"] += st.st_blocks * 512
                    if state["entries"] > MAX_ENTRIES or state["bytes"] > budget:
                        raise _Over
                    if stat.S_ISDIR(st.st_mode):
                        folders.append(e.name)
        except OSError:
            return
        if folders and depth >= MAX_DEPTH:
            raise _Over
        for name in folders:
            try:
                fd = os.open(name, _DIR, dir_fd=dirfd)
            except OSError:
                continue
            try:
                walk(fd, depth + 1)
            finally:
                os.close(fd)

    try:
        top = os.open(folder, _DIR)
    except OSError:
        top = None
    if top is not None:
        try:
            walk(top, 0)
        except _Over:
            return budget + 1
        finally:
            os.close(top)
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return state["bytes"]
    for fd in fds:
        try:
            st = os.stat(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_nlink == 0:
            state["bytes"] += st.st_blocks * 512
    return state["bytes"]


class ScratchGuard:
    """Keeps one worker (process ``pid``) under ``budget`` bytes in ``folder``; ``exceeded`` says
    whether it was killed for it."""

    def __init__(self, folder, pid, budget):
        self.folder, self.pid, self.budget = folder, pid, budget
        self.exceeded = False
        try:  # a handle on this very process: a pid reused after it ends is never signalled
            self._pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self._pidfd = None
        self.paused = threading.Event()  # the worker is stopped (SIGSTOP): it writes nothing, nothing to measure
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="convgrade-scratch-guard", daemon=True)
        self._thread.start()

    def _watch(self):
        while not self._stop.wait(POLL_SECONDS):
            if self.paused.is_set() or held_bytes(self.folder, self.pid, self.budget) <= self.budget:
                continue
            self.exceeded = True
            try:
                if self._pidfd is not None:
                    signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
                else:
                    os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
            empty(self.folder)
            return

    def rest(self, resting):
        """While the worker is stopped (SIGSTOP) it writes nothing: no measuring then."""
        (self.paused.set if resting else self.paused.clear)()

    def stop(self):
        """Stop watching; True when the guard ended the worker for writing too much."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        return self.exceeded


def empty(folder):
    """Remove everything below ``folder`` (the folder stays)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for e in entries:
        try:
            if e.is_dir(follow_symlinks=False):
                shutil.rmtree(e.path, ignore_errors=True)
            else:
                os.unlink(e.path)
        except OSError:
            pass


EXCEEDED = ("your code wrote more than {mb} MB of files (its temporary folder's limit), so the grader ended it "
            "during {what}; the assignment needs no files: keep arrays in memory")
