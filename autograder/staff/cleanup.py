"""``python -m autograder cleanup``: remove the sandbox users and slot locks that grading created.

Graded as root, every grader takes a slot (isolation.acquire): a lock file in
/run/convgrade (or a root-only folder in the temp dir) and a system user of its
own, ``convgrade-sandbox``, ``convgrade-sandbox-2``, ... ($CONVGRADE_SANDBOX_USER
renames them). They stay between gradings on purpose (one useradd per slot, not
per grading); a TA done grading on their own machine removes them with this.

Only what grading made is touched: names ``BASE`` or ``BASE-N``, and of those
only users that look like the ones isolation.py creates (home /nonexistent, a
nologin shell, uid and gid not 0) and still have the uid grading recorded
when it made them (sandbox/accounts.py). A slot whose lock is held belongs to a
grading running right now and is left alone. Before a user goes, every process
it still runs is killed and what it left wherever it could write is
deleted. Without root nothing is changed.
"""

import fcntl
import grp
import os
import pwd
import re
import stat
import subprocess
import sys

from ..sandbox.accounts import admin_tool, recorded_owner
from ..sandbox.isolation import LOCK_DIRS, SANDBOX_USER
from ..sandbox.leftovers import clean
from ..sandbox.procs import kill_uid

NOT_ROOT = ("cleanup removes system users, so it needs root: run `sudo .venv/bin/python -m autograder cleanup`. "
            "Nothing was changed.")


def created_by_us(entry):
    """A passwd entry shaped like isolation.sandbox_user's useradd (and setup.sh's)."""
    return (entry.pw_uid != 0 and entry.pw_gid != 0 and entry.pw_dir == "/nonexistent"
            and entry.pw_shell.endswith("/nologin"))


def slot_locks(pattern, dirs=LOCK_DIRS):
    """{slot name: [lock file]} in the root-only lock folders."""
    out = {}
    for d in dirs:
        try:
            st = os.lstat(d)
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0:
                continue
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            if e.name.endswith(".lock") and pattern.fullmatch(e.name[:-5]) and e.is_file(follow_symlinks=False):
                out.setdefault(e.name[:-5], []).append(e.path)
    return out


def cleanup(base=SANDBOX_USER, dirs=LOCK_DIRS):
    """Remove the sandbox users ``base``, ``base-N`` and their slot locks. Returns (removed, messages).

    Raises PermissionError when not root."""
    if os.geteuid() != 0:
        raise PermissionError(NOT_ROOT)
    pattern = re.compile(re.escape(base) + r"(-[0-9]+)?")
    locks = slot_locks(pattern, dirs)
    names = sorted({e.pw_name for e in pwd.getpwall() if pattern.fullmatch(e.pw_name)} | set(locks))
    removed, messages = [], []
    for name in names:
        held, busy = [], False
        for path in locks.get(name, []):
            try:
                fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held.append((path, fd))
            except BlockingIOError:
                os.close(fd)
                busy = True
        try:
            if busy:
                messages.append(f"{name}: a grading is using this slot right now; left alone")
                continue
            problem = remove_user(name)
            if problem:
                messages.append(problem)
                continue
            for path, _ in held:  # unlinked while still locked: no grader can take the old file meanwhile
                for gone in (path, path[: -len(".lock")] + ".uid"):  # and the uid recorded beside it
                    try:
                        os.unlink(gone)
                    except OSError:
                        pass
            removed.append(name)
        finally:
            for _, fd in held:
                os.close(fd)
    # The lock folders stay (tiny, root-only): removing one could race with a grader's acquire.
    return removed, messages


def remove_user(name):
    """'' when ``name`` is gone (or never existed), else why it stays."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return ""
    if not created_by_us(entry):
        return (f"{name}: not a user grading created (home {entry.pw_dir}, shell {entry.pw_shell}); left alone")
    recorded = recorded_owner(name)
    if recorded not in (None, (entry.pw_uid, entry.pw_gid)):
        return (f"{name}: its uid {entry.pw_uid} is not the one grading recorded for it ({recorded[0]}): "
                "another account by that name; left alone")
    if not kill_uid(entry.pw_uid):
        return f"{name}: some of its processes survived SIGKILL; left alone"
    clean(entry.pw_uid, entry.pw_gid)
    proc = subprocess.run([admin_tool("userdel"), name], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        return f"{name}: userdel failed: {proc.stderr.strip()[:200]}"
    try:  # userdel removes the user's own group where USERGROUPS_ENAB is set; else do it here
        group = grp.getgrnam(name)
        if group.gr_gid == entry.pw_gid and not group.gr_mem:
            subprocess.run([admin_tool("groupdel"), name], capture_output=True, timeout=60)
    except KeyError:
        pass
    return ""


def main(base=SANDBOX_USER):
    try:
        removed, messages = cleanup(base)
    except PermissionError as exc:
        print(f"python -m autograder cleanup: {exc}", file=sys.stderr)
        return 1
    for name in removed:
        print(f"removed {name} (sandbox user and slot lock)")
    for m in messages:
        print(m)
    if not removed and not messages:
        print(f"nothing to remove: no sandbox users or slot locks named {base} or {base}-N")
    return 1 if messages else 0
