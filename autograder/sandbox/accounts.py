"""Where the sandbox slots' locks live, and whose uid a sandbox user's is.

A uid is a number that userdel frees and the next useradd (another grading's, another test run's, anyone's)
hands on: "everything this uid owns" is only a sandbox user's while the account it was recorded with still
holds that uid. Grading records the uid and gid beside the slot's lock when it creates a sandbox user (or
first takes one setup.sh made), and checks them (``still_ours``) before anything that uid owns is killed or
removed: a handle of a user that a clean-up removed meanwhile never touches the account that has its uid now.
"""

import os
import pwd
import shutil
import stat
import tempfile
from pathlib import Path


def admin_tool(name):
    """useradd, userdel, groupdel: found in the system's sbin folders too (a PATH without them, such as a CI
    step's, must not keep root from making a sandbox user)."""
    return shutil.which(name, path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin:/usr/bin:/bin") or name


class NoLockFolder(OSError):
    """No root-only folder for the slot locks."""


LOCK_DIRS = (Path("/run/convgrade"), Path(tempfile.gettempdir()) / "convgrade-root-locks")


def lock_dir():
    """A root-only folder for the slot locks (never one the sandbox users can write)."""
    for d in LOCK_DIRS:
        try:
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
            st = os.lstat(d)
            if stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid():
                os.chmod(d, 0o700)
                return d
        except OSError:
            continue
    raise NoLockFolder("no private folder for the sandbox slot locks")


def _owner_file(name):
    return lock_dir() / f"{name}.uid"


def record_owner(name, uid, gid):
    """Record that the sandbox user ``name`` is the account with ``uid`` and ``gid`` (replaced whole)."""
    try:
        path = _owner_file(name)
        tmp = path.with_name(f".{name}.uid.{os.getpid()}")
        tmp.write_text(f"{uid} {gid}\n")
        os.replace(tmp, path)
    except OSError:
        pass


def recorded_owner(name):
    """(uid, gid) recorded for the sandbox user ``name``, or None."""
    try:
        uid, gid = _owner_file(name).read_text().split()[:2]
        return int(uid), int(gid)
    except (OSError, ValueError):
        return None


def still_ours(user):
    """Is ``user`` still the account it was: its name still has its uid and gid, and they are the ones
    recorded at its creation? A removed user's uid may belong to someone else's account by now."""
    try:
        entry = pwd.getpwnam(user.name)
    except KeyError:
        return False
    if (entry.pw_uid, entry.pw_gid) != (user.uid, user.gid):
        return False
    return recorded_owner(user.name) in (None, (user.uid, user.gid))
