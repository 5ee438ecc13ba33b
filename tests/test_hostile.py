"""Hostile submissions through the real grading path (run.grade), and the
isolation pieces they rely on.

Every attack in tests/hostile/attacks.py is graded with short limits on a few
parts, then: the grader survived within a time bound; results.json is valid,
the grader's own, and unchanged a while later; no part scores above the honest
code, and parts the attack does not touch keep full marks; no file outside the
sandbox changed (a canary file and the repo tree, hashed); nothing the grader
would only create by unpickling exists; the test's own TCP/UDP sockets saw
nothing; no process of the sandbox user is left, and nothing of it in /tmp.

As root (CI) student code runs as a per-grader sandbox user; several attacks
also run with seccomp and/or the mount namespace switched off, to show that
the layers beneath hold on their own.
"""

import hashlib
import io
import json
import os
import secrets
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hostile.attacks import ATTACKS, PARTS
from hostile.build import make_submission

from autograder import run
from autograder.checking.table import load
from autograder.grading.results import validate
from autograder.intake import static
from autograder.sandbox import codec, confine, isolation, landlock, lockdown, policy
from autograder.sandbox.codec import check_reply
from autograder.sandbox.limits import Limits
from autograder.sandbox.procs import kill_uid, pids_of_uid
from autograder.sandbox.session import Sandbox

ROOT = Path(__file__).resolve().parent.parent
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason=(
    "needs root: running student code as a sandbox user of its own (useradd, setuid, namespaces) is only "
    "possible as root; CI runs these as root, `sudo make test` does too"))
# seconds one hostile grading may take (the slowest: two 5 s time-outs and an import probe, each ended by the
# worker's CPU time, or the wall bound on a busy machine)
BOUND = 3 * Limits().call_wall_factor * 5.0 + 20.0
SKIP_DIRS = {".git", ".venv", ".venv-worker", ".venv-py310", ".pytest_cache", ".ruff_cache", "__pycache__", "dist",
             "build", "grades", ".mypy_cache"}


def short_limits(**overrides):
    return Limits(call_timeout=5.0, import_timeout=5.0, cpu_seconds=60, **overrides)


def tree_hash(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        for name in filenames:
            p = Path(dirpath, name)
            if not p.is_file() or p.is_symlink():  # a device node (/dev/zero) would never end
                continue
            try:
                out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
            except OSError:
                out[str(p.relative_to(root))] = "unreadable"
    return out


def tampered(path, token):
    """A changed file of the repo that the attack could have changed: gone, no longer root's, or
    holding what the attacks write. (A root-owned file edited by someone else during the test,
    as happens while developers work in the same tree, is not the sandbox's doing: the sandbox
    user can neither create root-owned files nor write into the repo.)"""
    try:
        st = os.lstat(path)
        data = path.read_bytes()
    except OSError:
        return True
    return st.st_uid != os.geteuid() or b"pwned" in data or token.encode() in data


def part_scores(data, table):
    by_number = {p.number: p.id for p in table.parts}
    return {by_number[t["number"]]: t["score"] for t in data["tests"]}


def scratch_left(uid):
    left = []
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        try:
            left += [e.path for e in os.scandir(folder) if e.stat(follow_symlinks=False).st_uid == uid]
        except OSError:
            continue
    return left


@pytest.fixture(scope="module")
def table():
    return load().select(list(PARTS))


@pytest.fixture(scope="module")
def honest(table):
    """Per-part scores of the untouched solutions, graded the same way."""
    outcome = run.grade(ROOT / "solutions", parts=list(PARTS), limits=short_limits())
    scores = part_scores(outcome.data, table)
    assert scores == {p.id: p.weight for p in table.parts}, outcome.data["output"]
    return scores


@pytest.fixture(scope="module")
def torch_dir():
    import torch

    return Path(torch.__file__).resolve().parent


@ROOT_ONLY  # without root, student code runs as the developer: these attacks would really delete files
@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_hostile_submission(attack, honest, table, torch_dir, tmp_path):
    token = secrets.token_hex(6)
    outside = Path(tempfile.mkdtemp(prefix="convgrade-hostile-"))  # in /tmp, reachable by everyone
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    token_file = Path("/tmp") / f"convgrade-token-{token}"
    # Hold the sandbox slot for the whole test, so that the checks below see this grading's
    # sandbox user only (released, the slot may at once serve another grading running in parallel).
    user = isolation.acquire()[0]
    try:
        os.chmod(outside, 0o755)
        canary = outside / "canary.txt"
        canary.write_text(f"canary {token}\n")
        os.chmod(canary, 0o644)
        if attack.world_writable_results:
            results_dir = outside / "results"
            results_dir.mkdir()
            os.chmod(results_dir, 0o777)
        else:
            results_dir = tmp_path / "results"
        results = results_dir / "results.json"
        for s in (tcp, udp):
            s.bind(("127.0.0.1", 0))
            s.setblocking(False)
        tcp.listen(8)
        unix_path = outside / "log.sock"  # a path-named socket anyone may write to, as /dev/log is
        unix.bind(str(unix_path))
        os.chmod(unix_path, 0o777)
        unix.setblocking(False)
        subst = {"RESULTS": results, "CANARY": canary, "TOKEN": token_file, "NAME": token,
                 "CASES": ROOT / "autograder" / "cases.yaml", "REPO": ROOT, "TORCH": torch_dir,
                 "SITE": torch_dir.parent, "TCP_PORT": tcp.getsockname()[1], "UDP_PORT": udp.getsockname()[1],
                 "GRADER_PID": os.getpid(), "UNIX_SOCKET": unix_path}
        submission = make_submission(attack, tmp_path / "build", subst)
        tree_before = tree_hash(ROOT)

        start = time.monotonic()
        outcome = run.grade(submission, results_path=results, parts=list(attack.parts),
                            limits=short_limits(**attack.limits), user=user)
        elapsed = time.monotonic() - start
        time.sleep(attack.after)

        # the grader survived, in time, and wrote its own valid results
        assert elapsed < BOUND, f"grading took {elapsed:.1f} s"
        data = json.loads(results.read_text())
        validate(data, table)
        assert data == outcome.data
        assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
        text = results.read_text()
        assert len(text) < 200_000
        assert "\\u001b" not in text and "\x1b" not in text, "terminal escapes reached results.json"

        # no more points than the honest code; untouched parts keep theirs
        scores = part_scores(data, table)
        feedback = "\n".join(t.get("output", "") for t in data["tests"])
        for pid, honest_score in honest.items():
            assert scores[pid] <= honest_score + 1e-9, (pid, feedback)
            if pid not in attack.lose:
                assert scores[pid] == pytest.approx(honest_score), f"{pid} lost points:\n{feedback}"
        if attack.unreadable:
            assert outcome.status == "error" and data["score"] == 0
        for word in attack.expect_notes:
            assert any(word in n for n in outcome.notes), (word, outcome.notes)

        # nothing outside the sandbox changed, nothing was unpickled, nothing reached the network
        assert canary.read_text() == f"canary {token}\n"
        tree_after = tree_hash(ROOT)
        changed = sorted(k for k in tree_before.keys() | tree_after.keys() if tree_before.get(k) != tree_after.get(k))
        assert not [k for k in changed if tampered(ROOT / k, token)], f"files of the repo changed: {changed[:10]}"
        assert not token_file.exists(), "something outside the sandbox ran the attack's command"
        for folder in ("/", "/tmp", tmp_path, ROOT):
            assert not list(Path(folder).glob(f"convgrade-zipslip*{token}*"))
        with pytest.raises(BlockingIOError):
            tcp.accept()
        with pytest.raises(BlockingIOError):
            udp.recv(64)
        with pytest.raises(BlockingIOError):
            unix.recv(64)

        # no process of the sandbox user is left, nor anything of it in the shared scratch folders
        assert outcome.sandbox_user is user and user.uid != 0
        assert pids_of_uid(user.uid) == []
        assert scratch_left(user.uid) == []
        if not attack.limits:
            assert not [n for n in outcome.notes if n.startswith("isolation reduced")], outcome.notes
    finally:
        isolation.release(user)
        tcp.close()
        udp.close()
        unix.close()
        shutil.rmtree(outside, ignore_errors=True)
        if token_file.exists():
            token_file.unlink()


# ----------------------------------------------------------------- the layers, one by one
@ROOT_ONLY
def test_worker_reports_full_isolation_as_root():
    user, _ = isolation.acquire()
    sb = Sandbox({}, short_limits(), user=user)
    try:
        sb.ping()
        abi, _ = landlock.landlock_abi()
        layers = {"uid": user.uid, "seccomp": "on", "landlock": f"ABI {abi}" if abi else "off", "oom": "victim"}
        if confine.bwrap_works(sb.python):  # make test installs bubblewrap: the allow-list root
            assert sb.isolation == {**layers, "network": "namespace", "filesystem": "allow-list root",
                                    "ipc": "namespace", "processes": "namespace"}
            assert sb.isolation_notes == ([] if abi else [n for n in sb.isolation_notes if "no Landlock" in n])
        else:
            assert sb.isolation == {**layers, "network": "namespace", "filesystem": "mount namespace",
                                    "ipc": "namespace", "processes": "visible"}
            assert any("no PID namespace" in n for n in sb.isolation_notes)
    finally:
        sb.close()
        isolation.release(user)


def test_not_root_without_user_namespaces_refuses_unless_trusted(monkeypatch, tmp_path):
    """Not root and no bubblewrap: untrusted code is refused (the placeholder stays); --trusted grades
    it and says the isolation is reduced. (A real non-root grader: tests/test_hostile_infra.py.)"""
    monkeypatch.setattr(isolation.os, "geteuid", lambda: 4242)
    results = tmp_path / "results.json"
    with pytest.raises(isolation.SandboxUnavailable, match="--trusted"):
        run.grade(ROOT / "solutions", results_path=results, parts=["receptive_field"],
                  limits=short_limits(wrapper="none"))
    assert json.loads(results.read_text())["score"] == 0
    outcome = run.grade(ROOT / "solutions", parts=["receptive_field"], limits=short_limits(wrapper="none"),
                        trusted=True)
    assert outcome.data["score"] == pytest.approx(2)
    assert outcome.sandbox_user is None
    assert any(n.startswith("isolation reduced: the grader is not running as root") for n in outcome.notes)
    assert "isolation reduced" in outcome.data["output"]


@pytest.mark.skipif(not confine.bwrap_works(confine.worker_python()), reason="bubblewrap does not work here")
def test_not_root_with_user_namespaces_grades_without_reduced_isolation(monkeypatch):
    monkeypatch.setattr(isolation.os, "geteuid", lambda: 4242)
    outcome = run.grade(ROOT / "solutions", parts=["receptive_field"], limits=short_limits())
    assert outcome.data["score"] == pytest.approx(2)
    assert not [n for n in outcome.notes if n.startswith("isolation reduced")], outcome.notes


@ROOT_ONLY
def test_each_grader_gets_its_own_sandbox_user():
    a, _ = isolation.acquire()
    b, _ = isolation.acquire()
    try:
        assert a.uid != b.uid and 0 not in (a.uid, b.uid)
        assert a.name.startswith(isolation.SANDBOX_USER) and b.name.startswith(isolation.SANDBOX_USER)
    finally:
        isolation.release(b)
    c, _ = isolation.acquire()  # b's slot is free again (or another free one)
    try:
        assert c.uid != a.uid
    finally:
        isolation.release(c)
        isolation.release(a)


def test_kill_uid_never_kills_the_grader():
    with pytest.raises(ValueError):
        kill_uid(os.getuid())
    with pytest.raises(ValueError):
        kill_uid(0)


@ROOT_ONLY
def test_refuses_to_run_student_code_as_root(monkeypatch, tmp_path):
    def unavailable(*a, **k):
        raise isolation.SandboxUnavailable("no user")

    monkeypatch.setattr(isolation, "acquire", unavailable)
    results = tmp_path / "results.json"
    with pytest.raises(isolation.SandboxUnavailable):
        run.grade(ROOT / "solutions", results_path=results, parts=["receptive_field"])
    assert json.loads(results.read_text())["score"] == 0  # the placeholder stays


@ROOT_ONLY
def test_results_folder_made_unwritable_for_others(tmp_path):
    folder = tmp_path / "res"
    folder.mkdir()
    os.chmod(folder, 0o777)
    notes = isolation.guard_results_folder(folder)
    assert notes and not os.stat(folder).st_mode & 0o022


@ROOT_ONLY
def test_grader_files_unreadable_for_others():
    isolation.protect()
    for p in (ROOT / "autograder", Path(sys.prefix)):
        if sys.prefix == sys.base_prefix and p == Path(sys.prefix):
            continue
        st = os.stat(p)
        assert not st.st_mode & 0o007, p  # 'other': every sandbox user
        if isolation.sandbox_may_hold(st.st_gid):
            assert not st.st_mode & 0o070, p


# ----------------------------------------------------------------- the wire
def npy(array, allow_pickle=False):
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def test_strict_npy_round_trip():
    for a in (np.arange(6.0).reshape(2, 3), np.asfortranarray(np.arange(6).reshape(2, 3)), np.zeros((0, 4)),
              np.array(3.5), np.arange(4, dtype=np.int64)):
        b = codec.load_npy(npy(a))
        assert b.dtype == a.dtype and b.shape == a.shape and np.array_equal(a, b) and b.flags.writeable


@pytest.mark.parametrize("blob", [
    npy(np.array([object()], dtype=object), allow_pickle=True),
    npy(np.zeros(3, dtype=[("a", "f8"), ("b", "i4")])),
    npy(np.zeros(3, dtype=np.complex128)),
    npy(np.array(["text"])),
    npy(np.zeros(10))[:-8],  # truncated
    npy(np.zeros(10)) + b"\0" * 8,  # trailing bytes
    npy(np.zeros(10)).replace(b"(10,)", b"(11,)"),  # header and data disagree
    b"not an npy file at all",
])
def test_strict_npy_refuses(blob):
    with pytest.raises((ValueError, EOFError)):
        codec.load_npy(blob)


def test_huge_declared_shape_is_refused_before_allocating():
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000,), }"
    header = header.ljust(118) + b"\n"
    blob = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + b"\0" * 64
    with pytest.raises(ValueError):
        codec.load_npy(blob)


@pytest.mark.parametrize("reply", [
    [], {"ok": "yes"}, {"ok": True, "result": {"kind": "array", "index": 3}},
    {"ok": True, "result": {"kind": "scalar", "value": "import os"}},
    {"ok": True, "result": {"kind": "scalar", "value": [1]}},
    {"ok": True, "result": {"kind": "pickle"}}, {"ok": True, "result": {"kind": "tuple", "items": "ab"}},
    {"ok": True, "result": {"kind": "none"}, "cache": "x"}, {"ok": False, "error": 3},
    {"ok": True, "result": {"kind": "none"}, "echo": [{"kind": "array", "index": -1}]},
    # the graded functions a call ran: a list of at most 64 short "module.function" names
    {"ok": True, "result": {"kind": "none"}, "used": "conv.conv2d_forward"},
    {"ok": True, "result": {"kind": "none"}, "used": [3]},
    {"ok": True, "result": {"kind": "none"}, "used": ["conv.conv2d_forward.x"]},
    {"ok": True, "result": {"kind": "none"}, "used": ["conv.conv2d forward"]},
    {"ok": True, "result": {"kind": "none"}, "used": ["conv." + "f" * 200]},
    {"ok": True, "result": {"kind": "none"}, "used": [f"conv.f{i}" for i in range(65)]},
    {"ok": False, "error": "x", "used": ["../etc.passwd"]},
])
def test_malformed_replies_are_refused(reply):
    assert check_reply(reply, n_arrays=1, op="call")


def test_deep_reply_is_refused():
    deep = {"kind": "none"}
    for _ in range(200):
        deep = {"kind": "list", "items": [deep]}
    assert check_reply({"ok": True, "result": deep}, 0, "call")


def test_seccomp_program_builds():
    for machine in ("x86_64", "aarch64"):
        prog = lockdown.seccomp_program(policy.for_machine(machine), 12345)
        assert prog and all(0 <= jt < 256 and 0 <= jf < 256 for _, jt, jf, _ in prog)
    assert policy.for_machine("riscv64") is None and lockdown.seccomp_program(None, 1) is None


SIGNAL_BY_FILE_OWNER = """
import fcntl, os, signal, socket, sys, time
sys.path.insert(0, {root!r})
from autograder.sandbox import lockdown, policy
got = []
signal.signal(signal.SIGTERM, lambda *a: got.append("SIGTERM"))
pid = os.fork()
if pid == 0:  # the worker's own lockdown (seccomp, no Landlock: an older kernel), the same uid as its parent
    # made before the filter, which refuses both now: a pipe, and a socketpair (a file whose owner ioctl can set)
    a, b = os.pipe()
    s, t = socket.socketpair()
    lockdown.lock_down({{"rundir": os.getcwd(), "seccomp": True, "seccomp_policy": policy.for_machine(),
                        "landlock": False}})
    tried = []
    for how in ("fcntl", "ioctl"):
        try:
            if how == "fcntl":
                fcntl.fcntl(a, fcntl.F_SETOWN, os.getppid())
            else:
                fcntl.ioctl(s, 0x8901, os.getppid().to_bytes(4, "little"))  # FIOSETOWN
                a, b = s.fileno(), t.fileno()
            fcntl.fcntl(a, 10, signal.SIGTERM)  # F_SETSIG: this signal instead of SIGIO
            fcntl.fcntl(a, fcntl.F_SETFL, fcntl.fcntl(a, fcntl.F_GETFL) | os.O_ASYNC)
            os.write(b, b"x")  # the file is ready: the kernel signals its owner
            tried.append(how)
        except OSError:
            pass
    print("armed:", tried, flush=True)
    time.sleep(0.5)
    os._exit(0)
os.waitpid(pid, 0)
time.sleep(0.2)
print("parent got:", got)
"""


def test_seccomp_refuses_to_signal_through_a_file_owner(tmp_path):
    """fcntl F_SETOWN/F_SETSIG (and ioctl FIOSETOWN) make the kernel signal a process when a file is ready, with no
    kill(): the worker must not reach a process of its own uid that way (a grader that is not root, --trusted)."""
    proc = subprocess.run([sys.executable, "-c", SIGNAL_BY_FILE_OWNER.format(root=str(ROOT))], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path, start_new_session=True)
    assert "parent got: []" in proc.stdout and "armed: []" in proc.stdout, proc.stdout + proc.stderr[-2000:]


ACT_ON_PARENT = """
import os, resource, sys, time
sys.path.insert(0, {root!r})
from autograder.sandbox import lockdown, policy
before = (resource.getrlimit(resource.RLIMIT_NOFILE), os.getpriority(os.PRIO_PROCESS, 0), os.sched_getaffinity(0))
pid = os.fork()
if pid == 0:  # the worker's own lockdown (seccomp, no Landlock), the same uid as its parent
    lockdown.lock_down({{"rundir": os.getcwd(), "seccomp": True, "seccomp_policy": policy.for_machine(),
                        "landlock": False}})
    done = []
    parent = os.getppid()
    for name, act in (("prlimit", lambda: resource.prlimit(parent, resource.RLIMIT_NOFILE, (20, 20))),
                      ("setpriority", lambda: os.setpriority(os.PRIO_PROCESS, parent, 19)),
                      ("setpriority group", lambda: os.setpriority(os.PRIO_PGRP, 0, 18)),  # its session's only
                      ("sched_setaffinity", lambda: os.sched_setaffinity(parent, {{min(os.sched_getaffinity(0))}})),
                      ("own limit", lambda: resource.prlimit(0, resource.RLIMIT_CORE, (0, 0)))):
        try:
            act()
            done.append(name)
        except OSError:
            pass
    print("done:", done, flush=True)
    os._exit(0)
os.waitpid(pid, 0)
after = (resource.getrlimit(resource.RLIMIT_NOFILE), os.getpriority(os.PRIO_PROCESS, 0), os.sched_getaffinity(0))
print("parent changed:", after != before)
"""


def test_seccomp_refuses_to_act_on_another_process(tmp_path):
    """A process of the worker's uid (the grader, when it is not root and --trusted) must not get its limits
    changed (prlimit RLIMIT_CPU would end it), its priority or its CPUs; the worker's own stay its to set."""
    proc = subprocess.run([sys.executable, "-c", ACT_ON_PARENT.format(root=str(ROOT))], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path, start_new_session=True)
    assert "done: ['own limit']" in proc.stdout and "parent changed: False" in proc.stdout, \
        proc.stdout + proc.stderr[-2000:]


# ----------------------------------------------------------------- static checks
@pytest.mark.parametrize("source", [
    "import torch",
    "from torch import nn",
    "import scipy.signal as s",
    "__import__('tensorflow')",
    "import importlib\nimportlib.import_module('jax.numpy')",
    "from importlib import import_module as im\nim('torch')",
    "import importlib.util as u\nu.spec_from_file_location('x', '/venv/site-packages/torch/__init__.py')",
    "import ctypes\nctypes.CDLL('/venv/lib/python3.10/site-packages/torch/lib/libtorch_cpu.so')",
    "import runpy\nrunpy.run_module('torch')",
])
def test_static_check_finds_forbidden_imports(source):
    import ast

    assert static.forbidden_imports(ast.parse(source))


@pytest.mark.parametrize("source", [
    "import numpy as np  # not torch",
    "'''like torch.nn.functional.conv2d'''",
    "print('torch')",
    "import importlib",
])
def test_static_check_allows_mentions(source):
    import ast

    assert not static.forbidden_imports(ast.parse(source))
