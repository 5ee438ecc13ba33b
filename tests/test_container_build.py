"""The root of Gradescope's container (tools/container_root.py) is built reliably: one build per machine at a
time, a network fault retried, Debian's packages where Ubuntu's archive fails for any reason, mmdebstrap's own
message in the failure, and a failure that every waiting run and every container test shares instead of
building again. mmdebstrap here is a stand-in on the PATH that says what the real one says, so these run
anywhere in seconds (the real build: tests/test_gradescope_container.py, `make container-image`)."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import container_root as cr  # noqa: E402

# What mmdebstrap 1.3.5 printed when apt could not read Ubuntu's keyring (apt checks signatures as the user
# _apt, and the keyring lay under /root): the failure this machine's `make test` met (exit status 25).
UNSIGNED = """\
I: running apt-get update...
Err:1 http://archive.ubuntu.com/ubuntu jammy InRelease
  The following signatures couldn't be verified because the public key is not available: NO_PUBKEY 871920D1991BC93C
E: The repository 'http://archive.ubuntu.com/ubuntu jammy InRelease' is not signed.
E: apt-get update --error-on=any -oAPT::Status-Fd=<$fd> -oDpkg::Use-Pty=false failed
E: mmdebstrap failed to run"""
UNRESOLVED = """\
I: running apt-get update...
Err:1 http://deb.debian.org/debian bookworm InRelease
  Temporary failure resolving 'deb.debian.org'
E: apt-get update --error-on=any -oAPT::Status-Fd=<$fd> -oDpkg::Use-Pty=false failed
E: mmdebstrap failed to run"""

FAKE = textwrap.dedent("""\
    #!{python}
    import json, os, sys, time
    from pathlib import Path
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    suite, target = args[0], Path(args[1])
    log = Path(os.environ["FAKE_LOG"])
    calls = log.read_text().splitlines() if log.exists() else []
    with open(log, "a") as f:
        f.write(suite + "\\n")
    plan = json.loads(os.environ["FAKE_PLAN"]).get(suite, ["ok"])
    step = plan[min(sum(c == suite for c in calls), len(plan) - 1)]
    time.sleep(float(os.environ.get("FAKE_SECONDS", "0")))
    if step == "ok":
        (target / "etc").mkdir(parents=True)
        (target / "etc" / "os-release").write_text(suite)
        sys.exit(0)
    print(json.loads(os.environ["FAKE_SAYS"])[step])
    sys.exit(25)
    """)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A stand-in mmdebstrap on the PATH, a cache and a lock folder of this test's own."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "mmdebstrap"
    script.write_text(FAKE.format(python=sys.executable))
    script.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_LOG": str(tmp_path / "calls"),
           "FAKE_SAYS": json.dumps({"unsigned": UNSIGNED, "unresolved": UNRESOLVED}), "FAKE_PLAN": "{}",
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "CONVGRADE_CONTAINER_LOCK_DIR": str(tmp_path / "locks")}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(cr, "CACHE", tmp_path / "cache" / "convgrade" / "container")
    monkeypatch.setattr(cr, "BACKOFF", (0, 0))
    monkeypatch.setattr(cr, "reachable", lambda url: True)
    monkeypatch.setattr(cr, "ubuntu_keyring", lambda folder: Path(folder) / "k.gpg")
    monkeypatch.setattr(cr, "python310", lambda: None)  # Debian's root as it is (copying 3.10 in needs a real one)

    def calls():
        log = tmp_path / "calls"
        return log.read_text().split() if log.exists() else []

    return env, calls


def test_ubuntus_failure_falls_back_to_debian_and_says_why(fake, monkeypatch):
    env, calls = fake
    monkeypatch.setenv("FAKE_PLAN", json.dumps({"jammy": ["unsigned"]}))
    folder, description, version = cr.build_root("python3.11", say=lambda m: None)
    assert calls() == ["jammy", "bookworm"]  # a signature problem is no network fault: not retried
    assert (folder / "etc" / "os-release").read_text() == "bookworm" and (folder / ".complete").exists()
    assert description.startswith("Debian 12") and version == "3.11"
    assert "The repository 'http://archive.ubuntu.com/ubuntu jammy InRelease' is not signed" in description
    # the next build goes to Debian's root at once, without trying Ubuntu's archive again (for a day)
    again = cr.build_root("python3.11", say=lambda m: None)
    assert again[0] == folder and calls() == ["jammy", "bookworm"]


def test_a_network_fault_is_retried(fake, monkeypatch):
    env, calls = fake
    monkeypatch.setenv("CONVGRADE_CONTAINER_BASE", "debian")
    monkeypatch.setenv("FAKE_PLAN", json.dumps({"bookworm": ["unresolved", "ok"]}))
    said = []
    folder, _, _ = cr.build_root("python3.11", say=said.append)
    assert calls() == ["bookworm", "bookworm"] and (folder / ".complete").exists()
    assert any("network fault" in s and "Temporary failure resolving 'deb.debian.org'" in s for s in said), said


def test_the_failure_holds_mmdebstraps_own_message(fake, monkeypatch):
    env, calls = fake
    monkeypatch.setenv("FAKE_PLAN", json.dumps({"jammy": ["unsigned"], "bookworm": ["unresolved"]}))
    with pytest.raises(cr.BuildError) as err:
        cr.build_root("python3.11", say=lambda m: None)
    text = str(err.value)
    assert "NO_PUBKEY 871920D1991BC93C" in text and "mmdebstrap exited with status 25" in text
    assert "Temporary failure resolving 'deb.debian.org'" in text
    assert calls() == ["jammy"] + ["bookworm"] * cr.ATTEMPTS  # the network fault, retried, then given up
    assert not list(cr.CACHE.glob("root-*")) and not list(cr.CACHE.glob(".partial-*"))  # nothing half-built kept


BUILD = """
import sys
sys.path.insert(0, {tools!r})
import container_root as cr
cr.python310 = lambda: None
try:
    print("built", cr.build_root("python3.11", say=lambda m: None)[0])
except cr.BuildError as exc:
    print("failed", str(exc).replace("\\n", " | "))
"""


@pytest.mark.parametrize("outcome", ["ok", "unsigned"])
def test_concurrent_runs_build_once(fake, tmp_path, outcome):
    """Two test runs (any checkout, any cache folder: the lock is the machine's) ask at once: one builds, the
    other waits and then takes the root, or the failure, that build left."""
    env, calls = fake
    env = dict(os.environ, CONVGRADE_CONTAINER_BASE="debian", FAKE_SECONDS="2",
               FAKE_PLAN=json.dumps({"bookworm": [outcome]}))
    code = BUILD.format(tools=str(ROOT / "tools"))
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    out = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert calls() == ["bookworm"], out  # one build for both
    if outcome == "ok":
        assert len({o for o in out}) == 1 and out[0].startswith("built"), out
    else:
        assert all(o.startswith("failed") and "The repository" in o for o in out), out
        assert sum("while this one waited for the lock" in o for o in out) == 1, out


def test_a_failed_build_fails_every_container_test_at_once(fake, tmp_path):
    """The container tests with a root that cannot be built: each fails with mmdebstrap's message, and
    mmdebstrap ran once, not once per test."""
    import gradescope_container as gc

    if os.geteuid() != 0 or gc.unavailable():
        pytest.skip(f"Gradescope's container: {gc.unavailable() or 'needs root'}")
    env, calls = fake
    env = dict(os.environ, CONVGRADE_CONTAINER_BASE="debian", FAKE_PLAN=json.dumps({"bookworm": ["unsigned"]}))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "tests/test_gradescope_container.py"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    tests = 5 + len(__import__("hostile.container", fromlist=["GRADESCOPE"]).GRADESCOPE)  # every test there
    assert f"{tests} errors" in proc.stdout, proc.stdout[-3000:]
    assert proc.stdout.count("The repository 'http://archive.ubuntu.com/ubuntu jammy InRelease' is not signed") >= tests
    assert calls() == ["bookworm"], calls()
