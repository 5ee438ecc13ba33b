"""Who the worker runs as, keeping the grader's files away from it, and cleaning up.

As root (Gradescope, CI) the worker drops to a dedicated unprivileged user,
created here on demand (setup.sh creates the first on Gradescope). Every
grader process holds its own sandbox user for the whole grading, chosen with a
lock file (``acquire``): the grader SIGKILLs every process of that user after
a timeout and at the end, and RLIMIT_NPROC counts that user's processes, so
two graders running at once (``grade-all --jobs N``, or a ``make grade`` next
to it) must never share one. The slots are ``convgrade-sandbox``,
``convgrade-sandbox-2``, ... (or $CONVGRADE_SANDBOX_USER and the same suffixes).

Where no sandbox user can be had as root, grading refuses to run student code
(``SandboxUnavailable``) rather than run it as root.

Without root (a TA's laptop) the worker runs as the grader's own user: grading
works, but student code could read what that user can read, so the output says so.
"""

import fcntl
import grp
import os
import pwd
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .accounts import LOCK_DIRS, admin_tool, lock_dir, record_owner, recorded_owner, still_ours  # noqa: F401
from .confine import PACKAGE, worker_python
from .leftovers import clean
from .procs import kill_uid

REDUCED = ("isolation reduced: the grader is not running as root, so student code runs as the same "
           "user as the grader (no privilege drop, no network or mount namespace; the seccomp filter "
           "still blocks sockets, new processes and signals to the grader where the kernel allows it)")


@dataclass
class SandboxUser:
    name: str
    uid: int
    gid: int
    lock: object = field(default=None, compare=False, repr=False)  # fd of the slot lock (isolation.acquire)
    released: bool = field(default=False, compare=False, repr=False)  # release() ran: nothing more of it is ours
    clean_since: float = field(default=None, compare=False, repr=False)  # its uid owned nothing before (acquire)


def isolation_in_force(hello, user):
    """(what holds, what is missing) of the isolation of the worker whose hello is ``hello``: the layers
    SECURITY.md describes, named so that staff and students read exactly which ones this machine gave."""
    holds, missing = [], []
    if user is not None:
        holds.append(f"sandbox user {user.name}")
    fs = hello.get("filesystem")
    if fs in ("allow-list root", "mount namespace"):
        holds.append("bubblewrap's allow-list root" if fs == "allow-list root" else "mount namespace")
    else:
        missing.append("mount namespace")
    for key, name in (("processes", "PID namespace"), ("ipc", "IPC namespace"), ("network", "network namespace")):
        (holds if hello.get(key) == "namespace" else missing).append(name)
    landlock = hello.get("landlock")
    if landlock and landlock != "off":
        holds.append(f"Landlock ({landlock})")
    else:
        missing.append("Landlock")
    (holds if hello.get("seccomp") == "on" else missing).append("seccomp")
    if hello.get("oom") == "victim":
        holds.append("the worker is the OOM victim")
    return holds, missing


def reduced_notes(hello, user, wrapped):
    """The notes for the output where a worker's isolation (its hello: ``hello``) is weaker than intended:
    every layer that is missing, by name, and what holds instead."""
    notes = []
    if user is None and not (wrapped and os.geteuid() != 0):
        notes.append(REDUCED if os.geteuid() != 0 else
                     "isolation reduced: student code runs as root (no sandbox user was given)")
    if user is not None and hello.get("uid") != user.uid:
        notes.append(f"isolation reduced: the worker runs as uid {hello.get('uid')}")
    if hello.get("network") != "namespace" and hello.get("seccomp") != "on":
        notes.append("isolation reduced: student code has network access "
                     "(neither a network namespace nor seccomp was available)")
    if hello.get("filesystem") == "permissions only" and hello.get("seccomp") != "on":
        notes.append("isolation reduced: without seccomp the worker may delete a file it keeps open; its scratch "
                     "budget then counts such files through /proc, and stops a worker whose files cannot be counted")
    holds, missing = isolation_in_force(hello, user)
    if user is not None and missing:
        notes.append(f"isolation reduced: no {', no '.join(missing)} here; in force: {', '.join(holds)}")
    notes += [f"isolation reduced: {p}" for p in hello.get("problems") or []]
    notes += [f"isolation reduced: for student code {p}" for p in hello.get("exposed") or []]
    return [str(n)[:400] for n in notes]


SANDBOX_USER = os.environ.get("CONVGRADE_SANDBOX_USER", "convgrade-sandbox")
MAX_SLOTS = int(os.environ.get("CONVGRADE_SANDBOX_SLOTS", "16"))
SINCE_MARGIN = 10.0  # seconds: a folder changed this long before its slot was taken still counts as changed


class SandboxUnavailable(RuntimeError):
    """Root, but no unprivileged user to run student code as: never run it as root."""


def sandbox_user(name=SANDBOX_USER):
    """(SandboxUser or None, note for the output): look the user up, create it if needed.

    No lock is taken: use ``acquire`` to grade with it."""
    if os.geteuid() != 0:
        return None, REDUCED
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        entry = None
        for attempt in range(5):  # useradd fails while another useradd holds /etc/passwd
            try:
                subprocess.run([admin_tool("useradd"), "--system", "--no-create-home", "--home-dir", "/nonexistent",
                                "--shell", "/usr/sbin/nologin", "--user-group", name],
                               check=True, capture_output=True, timeout=30)
            except (OSError, subprocess.SubprocessError):
                pass
            try:
                entry = pwd.getpwnam(name)
                break
            except KeyError:
                time.sleep(0.2 * (attempt + 1))
        if entry is None:
            return None, f"isolation reduced: could not create the sandbox user {name}"
        if entry.pw_uid != 0 and entry.pw_gid != 0:
            record_owner(entry.pw_name, entry.pw_uid, entry.pw_gid)
    if entry.pw_uid == 0 or entry.pw_gid == 0:
        return None, f"isolation reduced: sandbox user {name} has uid or gid 0"
    grp.getgrgid(entry.pw_gid)
    return SandboxUser(entry.pw_name, entry.pw_uid, entry.pw_gid), ""



def acquire(base=None, slots=None, wait=900.0):
    """(SandboxUser holding its slot lock, or None where not root; note for the output).

    Raises SandboxUnavailable as root when no sandbox user can be had."""
    if os.geteuid() != 0:
        return None, REDUCED
    base = base or SANDBOX_USER
    slots = slots or MAX_SLOTS
    names = [base] + [f"{base}-{i}" for i in range(2, slots + 1)]
    try:
        folder = lock_dir()
    except OSError as exc:
        raise SandboxUnavailable(str(exc)) from exc
    deadline = time.monotonic() + wait
    while True:
        for name in names:
            fd = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            user, note = sandbox_user(name)
            if user is None:
                os.close(fd)
                raise SandboxUnavailable(note or f"no sandbox user {name}")
            user.lock = fd
            same = recorded_owner(name) in (None, (user.uid, user.gid))
            record_owner(name, user.uid, user.gid)  # the account this slot's name has now (setup.sh's too)
            kill_uid(user.uid)  # leftovers of a grader that died holding this slot
            was = _slot_state(fd, "dirty")
            known_clean = same and was == "clean"
            if was != "clean" and same:
                # its last holder died before release() cleaned: everywhere the uid could write. A clean
                # slot has nothing to clean: no process of its uid has run since its release. (A slot whose
                # name has another account than the one recorded: what its last holder left was another uid's.)
                known_clean = clean(user.uid, user.gid, full=True)[1]
            # from now on, whatever the uid owns it made in this grading (leftovers.clean_files: ``since``); the
            # margin covers the kernel's coarse clock for a folder's ctime and a small step of the clock. Where
            # the uid may own older files (another account's uid, a scan that ran out of time), release() looks
            # everywhere.
            user.clean_since = time.time() - SINCE_MARGIN if known_clean else None
            record_slot(user)
            return user, note
        if time.monotonic() > deadline:
            raise SandboxUnavailable(f"all {len(names)} sandbox slots stayed busy")
        time.sleep(0.2)


UNTRUSTED = ("not root and no user namespace here (bubblewrap missing, or the kernel or container refuses "
             "unprivileged user namespaces): student code would run with all of your permissions and could "
             "read the hidden cases and rewrite the grader. Grade as root, install bubblewrap, or pass "
             "--trusted if you trust this code.")


def unprivileged_note(limits, python=None, trusted=False):
    """Not root: '' where the worker gets a user namespace with an allow-list root (bwrap); the reduced
    note where it does not and the caller said the code is trusted; else SandboxUnavailable."""
    from .confine import bwrap_works

    python = python or worker_python()
    if (limits.wrapper == "auto" and limits.mount_isolation and limits.network_namespace
            and limits.ipc_namespace and bwrap_works(python)):
        return ""
    if not trusted:
        raise SandboxUnavailable(UNTRUSTED)
    return REDUCED


def pid_namespaces(limits, python=None):
    """Does every worker get a PID namespace of its own (bubblewrap starts it: the worker's own namespaces have
    none)? Where not, two workers that run at once see each other in /proc (how many descriptors, which pids
    the machine hands out): grade-all then grades one submission at a time."""
    from .confine import bwrap_works

    return bool(limits.wrapper == "auto" and limits.mount_isolation and limits.network_namespace
                and limits.ipc_namespace and bwrap_works(python or worker_python()))


def record_slot(user):
    """Tell run_autograder which slot this grading holds ($CONVGRADE_SLOT_FILE, a root-only file it made),
    so that its last-resort clean-up kills this slot's processes only, never another grading's."""
    path = os.environ.get("CONVGRADE_SLOT_FILE")
    if not path:
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            if os.fstat(fd).st_uid == os.geteuid() and not os.fstat(fd).st_mode & 0o077:
                os.write(fd, f"{user.uid} {user.name}\n".encode())
        finally:
            os.close(fd)
    except OSError:
        pass


def _slot_state(fd, new):
    """The state the slot's lock file recorded ("clean" after a release; anything else: its last holder died
    before releasing it), replaced by ``new``."""
    try:
        old = os.pread(fd, 16, 0).decode(errors="replace").strip()
        os.ftruncate(fd, 0)
        os.pwrite(fd, new.encode(), 0)
    except OSError:
        return ""
    return old


def release(user, confined=False):
    """Kill what the slot's user still runs, remove what it left wherever it could write, then give the
    slot back. ``confined``: every worker of the grading could write to its own scratch only (bubblewrap's
    root or Landlock), so the well-known places are enough; else every writable place is searched
    (leftovers.py). True when none of its processes is left."""
    if user is None or user.released:  # released twice (a stale handle): its uid may be another's by now
        return True
    user.released = True
    gone = reap(user, clean_up=True, full=not confined, since=user.clean_since)
    fd = getattr(user, "lock", None)
    if fd is not None:
        user.lock = None
        if gone:
            _slot_state(fd, "clean")
        try:
            os.close(fd)
        except OSError:
            pass
    return gone


def reap(user, clean_up=False, full=True, since=None):
    """SIGKILL every process left running as the sandbox user; True when none is left.
    clean_up: then also delete everything it left wherever it could write (leftovers.py; ``full``: every
    writable place of the machine, else the well-known ones; ``since``: when its slot was taken clean)."""
    if user is None or not still_ours(user):  # removed meanwhile: its uid is not its own any more
        return True
    gone = kill_uid(user.uid)
    if gone and clean_up:
        clean(user.uid, user.gid, full=full, since=since)
    return gone


# ----------------------------------------------------------------- the grader's files
def _contains(folder, path):
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
        return True
    except ValueError:
        return False


def protect():
    """As root, make the grader's own files unreachable for the sandbox users.

    chmod o-rwx (``restrict``) on the grader package (the case table with the
    hidden cases lives there) and on the grader's venv (torch): one folder
    each, so nothing below can be opened by path either. The owner and the
    owner's group keep their access (the sandbox users are in neither), so a
    TA's own checkout stays usable for the TA. The worker's interpreter must
    stay usable by the sandbox user, so a folder holding it is left alone (the
    worker's self-check then reports torch as readable). Returns notes for
    the output."""
    if os.geteuid() != 0:
        return []
    notes = []
    targets = [PACKAGE]
    if sys.prefix != sys.base_prefix:
        targets.append(Path(sys.prefix).resolve())
    worker = Path(worker_python())
    worker_dirs = [worker.parent.parent, worker.resolve().parent]
    for t in targets:
        if any(_contains(t, w) for w in worker_dirs):
            notes.append(f"isolation reduced: {t} holds the worker's interpreter, so it stays readable")
            continue
        try:
            restrict(t)
        except OSError as exc:
            notes.append(f"isolation reduced: could not protect {t}: {exc}")
    return notes


def restrict(path):
    """Take away the 'other' permissions of ``path`` (a folder: nothing below can be opened by path
    either), and the group's too when a sandbox user could hold that group. The owner and the owner's
    group keep their access: a TA's checkout stays usable for the TA after grading as root. Sandbox
    users are never in the group: each has a group of its own (useradd --user-group), the worker
    drops every supplementary group (setgroups([])), and gid 0 is refused (sandbox_user)."""
    st = os.stat(path)
    mask = 0o077 if sandbox_may_hold(st.st_gid) else 0o007
    if st.st_mode & mask:
        os.chmod(path, stat.S_IMODE(st.st_mode) & ~mask)


def sandbox_may_hold(gid):
    """True when a sandbox user could run with group ``gid`` (its own group, or a listed member)."""
    def ours(name):
        return name == SANDBOX_USER or (name.startswith(f"{SANDBOX_USER}-") and name[len(SANDBOX_USER) + 1:].isdigit())

    try:
        group = grp.getgrgid(gid)
    except KeyError:
        return True  # a group without a name: assume the worst
    if ours(group.gr_name) or any(ours(m) for m in group.gr_mem):
        return True
    return any(ours(e.pw_name) and e.pw_gid == gid for e in pwd.getpwall())


def guard_results_folder(folder):
    """The folder results.json goes to must not be writable by a sandbox user (else another
    grading's student code could replace the file). Fixes group/other write where it can.
    Sticky folders such as /tmp are fine: nobody else can replace root's file there."""
    if os.geteuid() != 0:
        return []
    folder = Path(folder)
    try:
        st = os.stat(folder)
    except OSError:
        return []
    if st.st_uid != 0:
        try:
            if pwd.getpwuid(st.st_uid).pw_name.startswith(SANDBOX_USER):
                raise SandboxUnavailable(f"the results folder {folder} belongs to a sandbox user")
        except KeyError:
            pass
    if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
        os.chmod(folder, stat.S_IMODE(st.st_mode) & ~0o022)
        return [f"{folder} was writable by other users: made it writable by its owner only"]
    return []
