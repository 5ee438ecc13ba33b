"""The worker's scratch folder where no sized tmpfs holds it: its budget, kept by the grader.

With a mount namespace (bubblewrap's or the worker's own) the worker writes to a private tmpfs of
``Limits.scratch_bytes``. Without one (Gradescope's container: no CAP_SYS_ADMIN, so no mount) its scratch is
a folder on the machine's disk, and Landlock keeps it there, but nothing sizes it: RLIMIT_FSIZE caps one file
(8 MB), not how many. ``ScratchGuard`` measures what the worker holds there a few times a second, from a thread
of the grader, for as long as the worker lives, and past the budget it SIGKILLs the worker (it has no other
process: seccomp) and empties the folder; the call that was running fails with ``EXCEEDED``.

What it holds is what a walk of the folder finds: the filter refuses removing, renaming and linking files,
O_TMPFILE and memfd (syscalls.yaml), and Landlock refuses removing and renaming in the folder, so every byte
written keeps a name below it. Only where the worker has no filter could it hold a file it deleted; then its
open files are read too (/proc/<pid>/fd, which needs the grader to be root with CAP_SYS_PTRACE or the worker's
own user). A count that cannot be made is a reason to stop the worker, never to skip the count. The guard also
watches the free space of the folder's filesystem: a worker that holds files there when it falls under
``RESERVE_BYTES`` is stopped too (the disk that other gradings and the machine write to stays usable).
"""

import os
import shutil
import signal
import stat
import threading

POLL_SECONDS = 0.05
RESERVE_BYTES = 256 << 20  # free space the scratch filesystem keeps while a worker holds files there
HOLDS = 1 << 20  # what a worker must hold in its scratch to be the one stopped when the free space runs low
MAX_ENTRIES = 10_000  # files and folders below the scratch folder: more is over the budget too (inodes)
MAX_DEPTH = 32  # folders within folders: deeper is over the budget too (a walk holds one descriptor per level)
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class _Over(Exception):
    pass


class Uncounted(Exception):
    """What the worker holds cannot be counted (the folder or the worker's open files cannot be read)."""


def held_bytes(folder, pid, budget, unnamed=False):
    """Bytes of disk the worker holds in ``folder`` (every file below it, never following a link; walked by
    descriptors, so no path is ever too long to look into) and, with ``unnamed`` (the worker has no filter, so
    it may delete a file it keeps open), in such files (its /proc/<pid>/fd); more than ``budget`` (then
    counting stops) where there are too many entries or levels. Raises Uncounted where a count fails."""
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
        except OSError as exc:
            raise Uncounted(f"listing the scratch folder: {exc}") from exc
        if folders and depth >= MAX_DEPTH:
            raise _Over
        for name in folders:
            try:
                fd = os.open(name, _DIR, dir_fd=dirfd)
            except OSError as exc:
                raise Uncounted(f"opening a folder in the scratch folder: {exc}") from exc
            try:
                walk(fd, depth + 1)
            finally:
                os.close(fd)

    try:
        top = os.open(folder, _DIR)
    except OSError as exc:
        raise Uncounted(f"opening the scratch folder: {exc}") from exc
    try:
        walk(top, 0)
    except _Over:
        return budget + 1
    finally:
        os.close(top)
    if not unnamed:
        return state["bytes"]
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return state["bytes"]  # the worker has ended
    except OSError as exc:
        raise Uncounted(f"reading the worker's open files: {exc}") from exc
    for fd in fds:
        try:
            st = os.stat(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_nlink == 0:
            state["bytes"] += st.st_blocks * 512
    return state["bytes"]


def free_bytes(folder):
    """Free space of the filesystem ``folder`` is on (what an unprivileged writer may still use)."""
    st = os.statvfs(folder)
    return st.f_bavail * st.f_frsize


class ScratchGuard:
    """Keeps one worker (process ``pid``) under ``budget`` bytes in ``folder``; ``unnamed``: it has no filter
    (it could hold files it deleted). ``exceeded`` says why it was killed: "budget", "uncounted", "disk", or
    "" (it was not)."""

    def __init__(self, folder, pid, budget, unnamed=False):
        self.folder, self.pid, self.budget, self.unnamed = folder, pid, budget, unnamed
        self.exceeded = ""
        self.why = ""  # the count that failed, for the staff log
        try:  # a handle on this very process: a pid reused after it ends is never signalled
            self._pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self._pidfd = None
        self.paused = threading.Event()  # the worker is stopped (SIGSTOP): it writes nothing, nothing to measure
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="convgrade-scratch-guard", daemon=True)
        self._thread.start()

    def _verdict(self):
        """Why the worker must stop now ("budget", "uncounted", "disk"), or ""."""
        try:
            held = held_bytes(self.folder, self.pid, self.budget, self.unnamed)
        except Uncounted as exc:
            self.why = str(exc)
            return "uncounted"
        if held > self.budget:
            return "budget"
        try:
            low = free_bytes(self.folder) < RESERVE_BYTES
        except OSError as exc:
            self.why = f"the free space of the scratch folder's disk: {exc}"
            return "uncounted"
        return "disk" if low and held >= HOLDS else ""

    def _watch(self):
        while not self._stop.wait(POLL_SECONDS):
            if self.paused.is_set():
                continue
            verdict = self._verdict()
            if not verdict:
                continue
            self.exceeded = verdict
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
        """Stop watching; why the guard ended the worker ("budget", "uncounted": ``why`` says which count
        failed, "disk"), or "" (it did not)."""
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


EXCEEDED = {
    "budget": "your code wrote more than {mb} MB of files (its temporary folder's limit), so the grader ended it "
              "during {what}; the assignment needs no files: keep arrays in memory",
    "disk": "your code was writing files when the disk they go to ran nearly full, so the grader ended it during "
            "{what}; the assignment needs no files: keep arrays in memory",
    "uncounted": "the grader could not count the files your code wrote ({why}), so it ended it during {what}; the "
                 "assignment needs no files: keep arrays in memory",
}
