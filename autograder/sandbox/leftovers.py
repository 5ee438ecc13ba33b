"""What a sandbox uid leaves behind outside its worker, and its removal after every grading.

Where no mount namespace hides the machine (Gradescope's container: no CAP_SYS_ADMIN), student code can
write wherever its uid may: not only /tmp, /var/tmp and /dev/shm, but any folder someone made writable for
others (a 777 folder inside /tmp, /run/lock, /var/crash, ...), and below those, anywhere. Files left there
would reach the next grading that runs as that uid (grade-all grades many submissions per sandbox slot).

So the places are found, not listed: ``writable_places(uid, gid)`` scans the filesystem once per process
for the folders that uid can write to (owner, group or other bits, with every folder above it
traversable), pruning folders it cannot enter and pseudo filesystems; ``clean(uid, gid)`` then removes,
recursively below each of them, every file and folder the uid owns (never following a link), and the
SysV IPC objects and POSIX message queues it owns. The scan is cached: a new writable place can only
appear inside one already found (made by the uid, or another sandbox user) or be made by root.
"""

import functools
import os
import shutil
import stat
import subprocess
import time

PSEUDO = {"proc", "sysfs", "cgroup", "cgroup2", "devpts", "debugfs", "tracefs", "securityfs", "pstore", "bpf",
          "configfs", "fusectl", "binfmt_misc", "autofs", "hugetlbfs", "efivarfs", "nsfs", "rpc_pipefs"}
SCAN_SECONDS = 20.0  # past this, the scan stops and the well-known places stand in (with a note)
KNOWN = ("/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue", "/run/lock", "/var/crash")


def pseudo_mounts():
    """Mount points of pseudo filesystems (/proc, /sys, cgroups, ...): nothing to clean there."""
    out = set()
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                sep = fields.index("-")
                if fields[sep + 1] in PSEUDO:
                    out.add(fields[4].replace("\\040", " "))
    except (OSError, ValueError, IndexError):
        out |= {"/proc", "/sys"}
    return out


def _may(st, uid, gid, bits):
    """Does ``uid`` (primary group ``gid``, no other group: the worker drops them) have ``bits`` (a mask of
    the owner's rwx, e.g. 0o3 for write + search) on a file with this stat?"""
    if st.st_uid == uid:
        return st.st_mode >> 6 & bits == bits
    if st.st_gid == gid:
        return st.st_mode >> 3 & bits == bits
    return st.st_mode & bits == bits


@functools.cache
def writable_places(uid, gid, root="/"):
    """(the folders ``uid`` can create files in, outermost only, complete?) below ``root``."""
    skip = pseudo_mounts()
    found, todo, deadline = [], [root], time.monotonic() + SCAN_SECONDS
    while todo:
        if time.monotonic() > deadline:
            return tuple(sorted(set(found) | {p for p in KNOWN if os.path.isdir(p)})), False
        folder = todo.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            try:
                if not e.is_dir(follow_symlinks=False) or e.path in skip:
                    continue
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            if not _may(st, uid, gid, 0o1):  # cannot even enter it: nothing below is reachable
                continue
            if _may(st, uid, gid, 0o3):
                found.append(e.path)  # everything below is walked by clean()
            else:
                todo.append(e.path)
    return tuple(sorted(found)), True


def clean_files(uid, gid, places, since=None):
    """Remove everything ``uid`` owns below ``places`` (recursively, never following links); returns how
    many entries went. A folder of someone else that ``uid`` cannot enter is not walked: ``uid`` cannot have
    made anything below it (its owner may have closed it since; a sandbox user's own folders go whole when
    that user's grading is cleaned).

    ``since``: a time (time.time()) before which ``uid`` owned nothing anywhere (its slot was clean when it was
    taken: isolation.acquire). Whatever it made since sits in a folder whose status changed since (adding,
    removing or renaming an entry, or a chmod, sets the folder's ctime, which nothing can set back), so only the
    entries of such folders are looked at one by one; below the others only their sub-folders are walked (the
    entry's type from the directory itself, no stat of every file: /tmp can hold a hundred thousand)."""
    removed = 0
    todo = [(p, _changed(p, since)) for p in places]
    while todo:
        folder, changed = todo.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            try:
                if not changed and not e.is_dir(follow_symlinks=False):
                    continue  # a file in a folder unchanged since: not the uid's
                st = e.stat(follow_symlinks=False)
                if st.st_uid == uid:
                    if stat.S_ISDIR(st.st_mode):
                        shutil.rmtree(e.path, ignore_errors=True)
                    else:
                        os.unlink(e.path)
                    removed += 1
                elif stat.S_ISDIR(st.st_mode) and _may(st, uid, gid, 0o1):
                    todo.append((e.path, since is None or st.st_ctime >= since))
            except OSError:
                continue
    return removed


def _changed(path, since):
    """Did the folder's status change at or after ``since`` (None: treat it as changed)?"""
    if since is None:
        return True
    try:
        return os.lstat(path).st_ctime >= since
    except OSError:
        return True


SYSV = {"shm": ("-m", 1, 7), "msg": ("-q", 1, 7), "sem": ("-s", 1, 4)}  # /proc/sysvipc file: ipcrm flag,
# column of the id and of the owner's uid


def ipc_left(uid):
    """[(kind, id)] of the SysV IPC objects (shared memory, message queues, semaphores) ``uid`` owns or
    created in this IPC namespace, from /proc/sysvipc/*."""
    out = []
    for kind, (_, id_col, uid_col) in SYSV.items():
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                next(f, None)  # header
                for line in f:
                    cols = line.split()
                    # owner uid, then creator uid (cuid) two columns on
                    if len(cols) > uid_col + 2 and uid in (int(cols[uid_col]), int(cols[uid_col + 2])):
                        out.append((kind, int(cols[id_col])))
        except (OSError, ValueError):
            continue
    return out


def clean_ipc(uid):
    """Remove what ``uid`` left in SysV IPC (only reachable without an IPC namespace; seccomp refuses the
    calls anyway); its POSIX message queues are files in /dev/mqueue, which clean_files covers. ipcrm
    (util-linux) does the removal."""
    for kind, ident in ipc_left(uid):
        try:
            subprocess.run(["ipcrm", SYSV[kind][0], str(ident)], capture_output=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            pass


def clean(uid, gid, full=True, since=None):
    """Everything ``uid`` left outside its worker's own folder: files anywhere it could write (``full``;
    else in the well-known places only, enough where its workers were confined to their scratch), IPC
    objects. Returns (entries removed, complete?): not complete when the scan ran out of time (the
    well-known places were cleaned instead). ``since``: see clean_files."""
    places, complete = writable_places(uid, gid) if full else (tuple(p for p in KNOWN if os.path.isdir(p)), True)
    removed = clean_files(uid, gid, places, since)
    clean_ipc(uid)
    return removed, complete
