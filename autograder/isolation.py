"""Who the worker runs as, and cleaning up after it.

As root (Gradescope, CI) the worker drops to a dedicated unprivileged user,
created here on demand (setup.sh creates it on Gradescope). Without root (a
TA's laptop) the worker runs as the grader's own user: grading works, but
student code could read what that user can read, so the output says so.
"""

import grp
import os
import pwd
import subprocess

from .sandbox import SandboxUser, kill_uid

SANDBOX_USER = os.environ.get("CONVGRADE_SANDBOX_USER", "convgrade-sandbox")
REDUCED = ("isolation reduced: the grader is not running as root, so student code runs as the same "
           "user as the grader (no privilege drop, no network namespace)")


def sandbox_user(name=SANDBOX_USER):
    """(SandboxUser or None, note for the output)."""
    if os.geteuid() != 0:
        return None, REDUCED
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        try:
            subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                            "--shell", "/usr/sbin/nologin", "--user-group", name],
                           check=True, capture_output=True, timeout=30)
            entry = pwd.getpwnam(name)
        except (OSError, subprocess.SubprocessError, KeyError) as exc:
            return None, f"isolation reduced: could not create the sandbox user {name} ({exc})"
    if entry.pw_uid == 0:
        return None, f"isolation reduced: sandbox user {name} has uid 0"
    grp.getgrgid(entry.pw_gid)
    return SandboxUser(name, entry.pw_uid, entry.pw_gid), ""


def reap(user):
    """SIGKILL every process left running as the sandbox user."""
    if user is not None:
        kill_uid(user.uid)
