"""A TA's machine after grading as root: the checkout stays usable for its owner
(isolation.restrict takes only 'other' away), and `python -m autograder cleanup` removes the
sandbox users and slot locks grading created, only those, refusing politely without root."""

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from autograder.sandbox import isolation
from autograder.staff import cleanup

ROOT = Path(__file__).resolve().parent.parent
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason=(
    "needs root: creating and removing sandbox users (useradd, userdel) and changing file owners is "
    "only possible as root; CI runs these as root, `sudo make test` does too"))
TA, OTHER = 1000, 64123  # a checkout owner, and a uid in neither its user nor its group


def as_non_root():
    """A command prefix that runs a process with a non-root euid (a user namespace), or None."""
    if os.geteuid() != 0:
        return ()
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-U", "--map-user=1000", "--map-group=1000", "true"],
                                  capture_output=True).returncode == 0:
        return (unshare, "-U", "--map-user=1000", "--map-group=1000")
    return None


def test_cleanup_refuses_politely_without_root():
    prefix = as_non_root()
    if prefix is None:
        pytest.skip("root, and no user namespace to run the command as another user")
    proc = subprocess.run([*prefix, sys.executable, "-m", "autograder", "cleanup"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "needs root" in proc.stderr and "Nothing was changed" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def can_list(path, uid, gid, groups=()):
    return subprocess.run(["ls", str(path)], user=uid, group=gid, extra_groups=list(groups),
                          capture_output=True).returncode == 0


@ROOT_ONLY
def test_restrict_keeps_the_owner_and_group_and_locks_out_others():
    """What isolation.protect does to the grader's package and venv, on a TA-owned folder."""
    top = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        os.chmod(top, 0o755)
        venv = top / ".venv"
        venv.mkdir()
        (venv / "torch.py").write_text("")
        os.chown(venv, TA, TA)
        os.chmod(venv, 0o755)
        isolation.restrict(venv)
        assert os.stat(venv).st_mode & 0o777 == 0o750
        assert can_list(venv, TA, TA)  # the TA, after grading as root
        assert can_list(venv, 2000, 2000, groups=[TA])  # a colleague in the TA's group
        assert not can_list(venv, OTHER, OTHER)  # anyone else: every sandbox user
        sandbox, _ = isolation.sandbox_user()
        assert sandbox is not None and not can_list(venv, sandbox.uid, sandbox.gid)
        # a folder whose group a sandbox user has: the group loses its access too
        os.chown(venv, TA, sandbox.gid)
        os.chmod(venv, 0o775)
        isolation.restrict(venv)
        assert os.stat(venv).st_mode & 0o777 == 0o700
    finally:
        shutil.rmtree(top, ignore_errors=True)


def run_as(user, *cmd):
    return subprocess.Popen(list(cmd), user=user.uid, group=user.gid, extra_groups=[], cwd="/",
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


@ROOT_ONLY
def test_cleanup_removes_our_sandbox_users_and_locks_only():
    base = f"cgclean{uuid.uuid4().hex[:6]}"  # never the real slots: other gradings may be running
    decoy = f"{base}-9"
    first = second = None
    try:
        first, _ = isolation.acquire(base=base, slots=3, wait=30)
        second, _ = isolation.acquire(base=base, slots=3, wait=30)
        assert (first.name, second.name) == (base, f"{base}-2")
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/bin/sh", decoy], check=True,
                       capture_output=True)
        isolation.release(first)
        leftover = run_as(first, "sleep", "60")  # something the released user still runs
        time.sleep(0.2)
        removed, messages = cleanup.cleanup(base)
        assert removed == [base], messages
        with pytest.raises(KeyError):
            pwd.getpwnam(base)
        assert leftover.wait(timeout=10) != 0  # killed before userdel
        assert not any(p.joinpath(f"{base}.lock").exists() for p in isolation.LOCK_DIRS)
        text = "\n".join(messages)
        assert f"{base}-2: a grading is using this slot right now; left alone" in text  # its lock is held
        assert f"{decoy}: not a user grading created" in text
        pwd.getpwnam(f"{base}-2")
        pwd.getpwnam(decoy)
        isolation.release(second)
        second = None
        removed, _ = cleanup.cleanup(base)
        assert removed == [f"{base}-2"]
        assert not any(p.joinpath(f"{base}-2.lock").exists() for p in isolation.LOCK_DIRS)
        again = subprocess.run([sys.executable, "-c", f"from autograder.staff.cleanup import main; "
                                f"raise SystemExit(main({base!r}))"], cwd=ROOT, capture_output=True, text=True)
        assert "removed" not in again.stdout and f"{decoy}: not a user grading created" in again.stdout
    finally:
        for user in (first, second):
            if user is not None:
                isolation.release(user)
        subprocess.run(["userdel", decoy], capture_output=True)
        cleanup.cleanup(base)
