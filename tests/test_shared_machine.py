"""A machine that other gradings, test runs and people share: gradings and a clean-up at once keep apart,
root's clean-up never touches an account that was handed a removed sandbox user's uid, and the worker's
venv works where a deployment linked it instead of copying it."""

import json
import os
import pwd
import shutil
import subprocess
import tempfile
import sys
import time
import uuid
from pathlib import Path

import pytest
from hostile.attacks import DK, RF

from autograder.checking.table import load
from autograder.sandbox import isolation
from autograder.sandbox.accounts import recorded_owner
from autograder.sandbox.confine import bwrap_works, worker_python
from autograder.sandbox.procs import pids_of_uid
from autograder.sandbox.session import Sandbox
from autograder.staff import cleanup

ROOT = Path(__file__).resolve().parent.parent
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason=(
    "needs root: sandbox users (useradd, userdel) and their clean-up exist only where grading runs as root; "
    "CI runs these as root, `sudo make test` does too"))


@ROOT_ONLY
def test_two_gradings_and_a_clean_up_at_once(tmp_path):
    """Two gradings of the reference (two TAs, or two test runs, with the same sandbox users) while
    `autograder cleanup` removes those users again and again: both score full marks, the clean-up leaves the
    slots in use alone, and takes what is left once both are done."""
    base = f"cgs{uuid.uuid4().hex[:6]}"
    env = dict(os.environ, CONVGRADE_SANDBOX_USER=base)
    table = load().select([DK, RF])
    gradings = [subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(ROOT / "solutions"), "--parts",
                                  DK, RF, "--results", str(tmp_path / f"{i}.json")], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in (1, 2)]
    busy = 0
    try:
        while any(g.poll() is None for g in gradings):
            done = subprocess.run([sys.executable, "-m", "autograder", "cleanup"], cwd=ROOT, env=env,
                                  capture_output=True, text=True, timeout=120)
            assert "Traceback" not in done.stderr, done.stderr
            busy += "a grading is using this slot right now; left alone" in done.stdout
            time.sleep(0.1)
        for i, g in enumerate(gradings, 1):
            out = g.communicate()[0]
            assert g.returncode == 0, out[-3000:]
            results = json.loads((tmp_path / f"{i}.json").read_text())
            assert results["score"] == table.total, out[-3000:]
        assert busy, "the clean-up never met a slot in use: the gradings did not overlap it"
    finally:
        for g in gradings:
            if g.poll() is None:
                g.kill()
        removed, messages = cleanup.cleanup(base)
    assert not messages, messages
    assert not [e.pw_name for e in pwd.getpwall() if e.pw_name == base or e.pw_name.startswith(f"{base}-")]


@ROOT_ONLY
def test_a_removed_sandbox_users_uid_handed_on_is_never_cleaned():
    """A sandbox user is removed (a clean-up) and its uid goes to another account (another test run's user,
    useradd's next pick): releasing or reaping the old handle afterwards (a grading's late finally) kills
    nothing of that account and removes none of its files, and the uid recorded at creation tells the two
    apart."""
    base = f"cgu{uuid.uuid4().hex[:6]}"
    other = f"{base}x"
    user, _ = isolation.acquire(base=base, slots=1, wait=30)
    proc = None
    folder = Path(tempfile.mkdtemp(prefix="convgrade-theirs-", dir="/tmp"))  # where clean() looks: /tmp
    try:
        assert recorded_owner(base) == (user.uid, user.gid)  # recorded with its creation
        isolation.release(user)
        assert cleanup.cleanup(base)[0] == [base]
        made = subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
                               "/usr/sbin/nologin", "--user-group", "--uid", str(user.uid), other], capture_output=True)
        if made.returncode != 0:
            pytest.skip(f"uid {user.uid} was taken meanwhile: {made.stderr.decode()[-200:]}")
        theirs = pwd.getpwnam(other)
        (folder / "work.txt").write_text("another run's")
        for p in (folder, folder / "work.txt"):
            os.chown(p, theirs.pw_uid, theirs.pw_gid)
        proc = subprocess.Popen(["sleep", "60"], user=theirs.pw_uid, group=theirs.pw_gid, extra_groups=[])
        time.sleep(0.2)

        assert not isolation.still_ours(user)
        isolation.release(user)  # released twice
        assert isolation.reap(user, clean_up=True)  # and reaped by a caller that kept the handle
        user.released = False
        isolation.release(user)
        assert proc.poll() is None and proc.pid in pids_of_uid(theirs.pw_uid)
        assert (folder / "work.txt").read_text() == "another run's"
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run(["userdel", other], capture_output=True)
        cleanup.cleanup(base)


@ROOT_ONLY
def test_cleanup_leaves_an_account_whose_uid_is_not_the_recorded_one():
    """The user by a slot's name is not the account grading created (removed and made again by someone
    else): `cleanup` says so and leaves it."""
    base = f"cgr{uuid.uuid4().hex[:6]}"
    user, _ = isolation.acquire(base=base, slots=1, wait=30)
    try:
        isolation.release(user)
        subprocess.run(["userdel", base], check=True, capture_output=True)
        taken = {e.pw_uid for e in pwd.getpwall()} | {user.uid}
        free = next(u for u in range(999, 100, -1) if u not in taken)
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
                        "/usr/sbin/nologin", "--user-group", "--uid", str(free), base], check=True, capture_output=True)
        removed, messages = cleanup.cleanup(base)
        assert removed == [] and any("not the one grading recorded" in m for m in messages), messages
        pwd.getpwnam(base)
    finally:
        subprocess.run(["userdel", base], capture_output=True)
        cleanup.cleanup(base)


def test_a_worker_venv_reached_through_a_link(tmp_path):
    """The worker's venv linked in place (a deployment's symlink) rather than copied: probed, bound and run
    through its real folder, so the worker finds numpy and keeps bubblewrap's allow-list root."""
    real = Path(worker_python()).parent.parent
    if not (real / "pyvenv.cfg").exists():
        pytest.skip(f"the worker's interpreter {worker_python()} is not a venv here")
    link = tmp_path / "deploy" / "worker-env"
    link.parent.mkdir()
    link.symlink_to(real)
    linked = str(link / "bin" / "python")
    assert bwrap_works(linked) == bwrap_works(worker_python())
    module = tmp_path / "mod.py"
    module.write_text("import numpy as np\n\ndef total(x):\n    return float(np.sum(x))\n")
    with Sandbox(files={"mod": str(module)}, python=linked) as sb:
        assert sb.call("mod", "total", [[1, 2, 3]]).result["result"]["value"] == 6.0
        assert sb.environment.get("numpy"), sb.environment
        if bwrap_works(worker_python()):
            assert sb.isolation["filesystem"] == "allow-list root", sb.isolation
