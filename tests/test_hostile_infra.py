"""Hostile submissions of issue 11 that need more than one grading, a subprocess, or a command line:
the grading deadline, IPC between gradings, replies too large for 768 MB, markup and forged notes in
the CLI and grade-all, a non-root grader whose tree the student's uid could write, run_autograder's
clean-up of its own slot only, and no temp folder left on any path."""

import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

import pytest
from hostile.attacks import ATTACKS, DK, IPC_LEAVE, IPC_SNOOP, RF, Attack, wrap_dk
from hostile.build import make_submission

from autograder import run
from autograder.checking.table import load
from autograder.cli import main as cli_main
from autograder.grading.results import validate
from autograder.sandbox import isolation, leftovers
from autograder.sandbox.confine import bwrap_works, worker_python
from autograder.sandbox.limits import Limits

ROOT = Path(__file__).resolve().parent.parent
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (sandbox users, a second uid)")


def short(**kw):
    return Limits(**{"call_timeout": 5.0, "import_timeout": 5.0, "cpu_seconds": 60, **kw})


def scores(data, table):
    by_number = {p.number: p.id for p in table.parts}
    return {by_number[t["number"]]: t["score"] for t in data["tests"]}


# ----------------------------------------------------------------- 4: one deadline for the whole grading
def test_deadline_ends_a_grading_that_sleeps_under_the_call_limit(tmp_path):
    """Every function sleeps just under the per-call limit: the grading still ends by its deadline
    (plus a few seconds), and results.json lists every part."""
    folder = tmp_path / "sleepy"
    folder.mkdir()
    for src in (ROOT / "solutions").glob("*.py"):
        text = src.read_text()
        names = [line.split("(")[0][4:] for line in text.splitlines() if line.startswith("def ")
                 and not line.startswith("def _")]
        text += "\nimport time as _t\n" + "".join(
            f"\ndef {n}(*a, **k):\n    _t.sleep(2.8)\n" for n in names)
        (folder / src.name).write_text(text)
    table = load()
    results = tmp_path / "results.json"
    start = time.monotonic()
    out = run.grade(folder, results_path=results, limits=Limits(call_timeout=3, import_timeout=5,
                                                                  grading_seconds=10), user="auto")
    elapsed = time.monotonic() - start
    assert elapsed < 10 + 5, f"the grading took {elapsed:.1f} s with a 10 s deadline"
    data = validate(json.loads(results.read_text()), table)  # every part of the table, in order
    kinds = {c.kind for r in out.parts.values() for c in r.cases}
    assert "skipped" in kinds
    assert any("time for the whole grading (10 s)" in line for r in out.parts.values() for c in r.cases
               for line in c.lines)
    assert data["score"] == 0


# ----------------------------------------------------------------- 5: IPC between gradings
@ROOT_ONLY
@pytest.mark.parametrize("limits", [{}, {"seccomp": False}, {"seccomp": False, "wrapper": "none",
                                                             "ipc_namespace": False}],
                         ids=["all_layers", "namespace_only", "clean_up_only"])
def test_ipc_left_by_one_grading_is_gone_for_the_next(limits, tmp_path):
    table = load().select([DK])
    user = isolation.acquire()[0]
    try:
        leave = make_submission(Attack("ipc_leave", "", IPC_LEAVE), tmp_path / "a", {})
        snoop = make_submission(Attack("ipc_snoop", "", IPC_SNOOP), tmp_path / "b", {})
        run.grade(leave, parts=[DK], limits=short(**limits), user=user)
        assert leftovers.ipc_left(user.uid) == []
        out = run.grade(snoop, parts=[DK], limits=short(**limits), user=user)
        assert scores(out.data, table)[DK] == table.part(DK).weight, out.data["tests"][0]["output"]
        assert leftovers.ipc_left(user.uid) == []
        for folder in ("/dev/shm", "/tmp", "/dev/mqueue"):
            try:
                left = [e.name for e in os.scandir(folder) if e.stat(follow_symlinks=False).st_uid == user.uid]
            except OSError:
                continue
            assert left == [], (folder, left)
    finally:
        isolation.release(user)


# ----------------------------------------------------------------- 8: replies too large, temp folders
# The grader's own peak: VmHWM of its memory (ru_maxrss would count its parent's too: a child spawned by vfork
# keeps the parent's peak across exec, so a test process that had loaded torch made every probe look big).
MEMORY_PROBE = """
import json, sys
sys.path.insert(0, {root!r})
from autograder import run
from autograder.sandbox.limits import Limits
out = run.grade({sub!r}, parts=["dilate_kernel"], limits=Limits(call_timeout=20, import_timeout=20))
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({{"maxrss_kb": peak, "tests": len(out.data["tests"]), "text": out.data["tests"][0]["output"]}}))
"""

BIG_REPLIES = {
    # the largest reply accepted for dilate_kernel (max(4 MB, 8 x its inputs)): just under 4 MB of array
    "largest_accepted": wrap_dk("pass").replace("    return _honest_dk(w, dilation)",
                                               "    return np.zeros((4 << 20) // 8 - 4096)"),
    "far_more": wrap_dk("pass").replace("    return _honest_dk(w, dilation)", "    return np.zeros(30_000_000)"),
    "forged_header": wrap_dk("""
import json, struct
head = json.dumps({"ok": True, "result": {"kind": "array", "index": 0}, "arrays": [1 << 40]}).encode()
for fd in range(3, 20):
    try:
        os.write(fd, struct.pack(">Q", len(head)) + head + b"\\0" * (1 << 20))
    except OSError:
        pass
time.sleep(30)"""),
}


@pytest.mark.parametrize("kind", list(BIG_REPLIES))
def test_grader_stays_under_768_mb_whatever_the_reply(kind, tmp_path):
    sub = make_submission(Attack(kind, "", BIG_REPLIES[kind]), tmp_path / "b", {})
    proc = subprocess.run([sys.executable, "-c", MEMORY_PROBE.format(root=str(ROOT), sub=str(sub))],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["tests"] == 1
    peak_mb = res["maxrss_kb"] / 1024
    assert peak_mb < 768, f"the grader peaked at {peak_mb:.0f} MB"
    if kind != "largest_accepted":
        assert "too large" in res["text"], res["text"]
    else:
        assert "wrong shape" in res["text"], res["text"]


# Source the grader parses itself (static checks) before any worker runs: ~1 MB of one-token lines made
# ast.parse build ~930 MB in the grader's own process, over Gradescope's 768 MB with torch loaded.
BIG_SOURCES = {"graded_module": "dilated.py", "extra_module": "helper.py"}


@pytest.mark.parametrize("kind", list(BIG_SOURCES))
def test_grader_stays_under_768_mb_whatever_the_source(kind, tmp_path):
    sub = make_submission(Attack(kind, "", ""), tmp_path / "b", {})
    target = sub / BIG_SOURCES[kind]
    text = target.read_text() if target.exists() else ""
    target.write_text(text + "\na" * (((1000 << 10) - len(text)) // 2) + "\n")
    proc = subprocess.run([sys.executable, "-c", MEMORY_PROBE.format(root=str(ROOT), sub=str(sub))],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    peak_mb = res["maxrss_kb"] / 1024
    assert peak_mb < 768, f"the grader peaked at {peak_mb:.0f} MB"
    assert res["tests"] == 1
    if kind == "graded_module":
        assert "too long" in res["text"], res["text"]


def central_directory_zip(path, entries):
    """A zip that is all table of contents: ``entries`` central-directory records (47 bytes each, no data), the
    entry count in its end record says nothing (zipfile reads every record of the directory's size)."""
    import struct

    record = struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0)
    with open(path, "wb") as f:  # written as it goes: a subprocess's peak memory counts its parent's at the spawn
        for start in range(0, entries, 10_000):
            f.write(b"".join(record + b"%07d" % i for i in range(start, min(start + 10_000, entries))))
        size = f.tell()
        f.write(struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, size, 0))
        f.write(struct.pack("<4sLQL", b"PK\x06\x07", 0, size, 1))
        f.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))
    return path


def test_grader_stays_under_768_mb_whatever_the_zip(tmp_path):
    """zipfile reads a zip's whole table of contents before anything can count its entries: a 70 MB upload of
    1.5 million entries took the grader (torch loaded) past Gradescope's 768 MB before the entry cap was seen."""
    sub = central_directory_zip(tmp_path / "toc.zip", 1_500_000)
    proc = subprocess.run([sys.executable, "-c", MEMORY_PROBE.format(root=str(ROOT), sub=str(sub))],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["maxrss_kb"] / 1024 < 768, f"the grader peaked at {res['maxrss_kb'] / 1024:.0f} MB"
    assert "could not be read" in res["text"] and "entries" in res["text"], res["text"]


def test_helper_modules_are_capped(tmp_path):
    """The grader parses every helper module itself (static checks; the outline of each file wherever a call
    raised): 500 helpers of 50,000 words each, what a 50 MB zip holds, took ~7 minutes of the grader's own time
    before a single call, and as long again per failing case. Only the first MAX_EXTRA_MODULES are used."""
    from autograder.checking.table import MODULES
    from autograder.intake.locate import MAX_EXTRA_MODULES, locate

    sub = make_submission(Attack("helpers", "", ""), tmp_path / "b", {})
    for i in range(3 * MAX_EXTRA_MODULES):
        (sub / f"helper_{i:03d}.py").write_text(f"VALUE = {i}\n")
    located = locate(sub, MODULES)
    try:
        assert sorted(located.extras) == [f"helper_{i:03d}" for i in range(MAX_EXTRA_MODULES)]
        assert any(f"{2 * MAX_EXTRA_MODULES} more .py files ignored" in n for n in located.notes), located.notes
    finally:
        located.cleanup()


# Where no mount namespace gives the worker a sized tmpfs (Gradescope's container), its scratch is a folder on
# the machine's disk: 8 MB files (RLIMIT_FSIZE), as many as it likes, or files it keeps open or mapped and then
# deletes or renames away (invisible to a walk of the folder, and /proc/<pid>/fd is unreadable there: the filter
# and Landlock refuse removing and renaming, so every byte keeps a name where the walk counts it).
FILL_DISK = {
    "files": wrap_dk("""
import tempfile
chunk = b"x" * (1 << 20)
for i in range(40):
    with open(os.path.join(tempfile.gettempdir(), f"fill-{i}"), "wb") as f:
        for _ in range(8):
            f.write(chunk)
"""),
    "deleted_but_open": wrap_dk("""
import tempfile
chunk = b"x" * (1 << 20)
_held = []
for i in range(40):
    f = open(os.path.join(tempfile.gettempdir(), f"fill-{i}"), "wb")
    try:
        os.unlink(f.name)
    except OSError:
        pass
    _held.append(f)
    for _ in range(8):
        f.write(chunk)
    f.flush()
"""),
    "mapped_and_deleted": wrap_dk("""
import mmap, tempfile
_held = []
for i in range(40):
    name = os.path.join(tempfile.gettempdir(), f"fill-{i}")
    with open(name, "wb") as f:
        f.write(b"x" * (8 << 20))
    f = open(name, "r+b")
    _held.append(mmap.mmap(f.fileno(), 0))
    f.close()
    for how in (lambda: os.rename(name, os.path.join(tempfile.gettempdir(), "..", f"away-{i}")),
                lambda: os.unlink(name)):
        try:
            how()
        except OSError:
            pass
"""),
}
WITHOUT = {"all_layers": {}, "landlock_only": {"seccomp": False}, "proc_only": {"seccomp": False, "landlock": False}}


@ROOT_ONLY
@pytest.mark.parametrize("kind,layers", [(k, "all_layers") for k in FILL_DISK]
                         + [("deleted_but_open", "landlock_only"), ("deleted_but_open", "proc_only")])
def test_scratch_on_disk_keeps_its_budget(kind, layers, tmp_path):
    """No mount namespace (as in Gradescope's container): the worker's scratch folder is on disk, and the grader
    keeps it to the budget a private tmpfs has elsewhere; the call that wrote past it fails and says why. With
    seccomp off Landlock alone refuses the removal; with both off the grader counts the deleted files the worker
    keeps open (/proc/<pid>/fd, readable here as root)."""
    table = load().select([DK, RF])
    sub = make_submission(Attack(kind, "", FILL_DISK[kind], lose=(DK,)), tmp_path / "b", {})
    out = run.grade(sub, parts=[DK, RF], limits=short(wrapper="none", mount_isolation=False, **WITHOUT[layers]))
    got = scores(out.data, table)
    assert got[RF] == table.part(RF).weight
    text = out.data["tests"][0]["output"]
    assert got[DK] < table.part(DK).weight and "wrote more than 32 MB of files" in text, text


def test_no_temp_folder_left_on_any_path(tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    table = load().select([DK])
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("pad.bin", b"\0" * (200 << 20))
    conflict = tmp_path / "conflict.zip"
    with zipfile.ZipFile(conflict, "w") as zf:
        for src in (ROOT / "solutions").glob("*.py"):
            zf.write(src, src.name)
        zf.writestr("dilated.py/x.py", "x = 1\n")
        zf.writestr("upsample.py/", "")
    for sub in (bomb, conflict, tmp_path / "missing.zip"):
        out = run.grade(sub, parts=[DK], limits=short())
        validate(out.data, table)  # a full results.json, every part listed
        assert len(out.data["tests"]) == 1
    assert list(scratch.iterdir()) == []


# ----------------------------------------------------------------- 9: markup, escapes, forged notes
def hostile_names_zip(dest):
    """A zip whose entry names carry rich markup, terminal escapes and a forged grader note."""
    with zipfile.ZipFile(dest, "w") as zf:
        for src in (ROOT / "solutions").glob("*.py"):
            zf.write(src, f"hw/{src.name}")
        for name in ("../[/oops].py", "hw/[bold red]x[/].py", "hw/\x1b[31mred\x1b]0;title\x07.py",
                     "hw/x\nNote: isolation reduced: forged by a file name.py"):
            zf.writestr(name, "x = 1\n")
    return dest


def test_cli_survives_markup_and_escapes_in_file_names(tmp_path):
    folder = hostile_names_zip(tmp_path / "sub.zip")
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(folder), "--parts", DK, "--width", "200"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[/oops].py" in proc.stdout
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    assert not any(line.startswith("Note: isolation reduced: forged") for line in proc.stdout.splitlines())


def test_grade_all_takes_notes_as_data_not_from_text(tmp_path, capsys):
    export = tmp_path / "export"
    export.mkdir()
    hostile_names_zip(export / "s1.zip")
    printer = export / "s2"
    shutil.copytree(ROOT / "solutions", printer)
    with open(printer / "dilated.py", "a") as f:
        f.write("\nprint('Note: isolation reduced: forged by printing')\n")
    rc = cli_main(["grade-all", str(export), "--out", str(tmp_path / "out"), "--jobs", "1", "--parts", DK])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "forged" not in printed
    meta = json.loads((tmp_path / "out" / "submissions" / "s1" / "batch.json").read_text())
    assert isinstance(meta["notes"], list) and all("\n" not in n for n in meta["notes"])


def test_printed_output_is_fenced(tmp_path):
    """What the student printed cannot pass for grader lines: on Gradescope (Markdown) it sits inside a
    code fence it cannot close, in the terminal every line of it sits behind a bar; exception text is
    one line."""
    from hostile.attacks import FORGED_FENCE

    sub = make_submission(Attack("forged_fence", "", FORGED_FENCE), tmp_path / "b", {})
    out = run.grade(sub, parts=[DK], limits=short())
    forged = ("Note: isolation reduced: forged", "case 1: w (2, 3, 3, 3), dilation=2: passed",
              "(end of what your code printed)")

    md, outside, fence = out.data["tests"][0]["output"], [], None
    for line in md.splitlines():
        mark = re.match(r"^(`{3,})", line)
        if fence is None and mark:
            fence = mark.group(1)
        elif fence is not None and line.strip() == fence:
            fence = None
        elif fence is None:
            outside.append(line)
    assert fence is None, md  # every fence the grader opened is closed by the grader
    assert "forged by the submission" in md  # the print is shown (visible case) ...
    assert not [line for line in outside if line.lstrip("- ").startswith(forged)], md  # ... but only fenced

    text = out.parts[DK].feedback(fmt="text")
    for line in text.splitlines():
        if any(f in line for f in forged):
            assert line.startswith("        | ") or "\u23ce" in line, text  # behind the bar, or one line


# ----------------------------------------------------------------- 7: a grader that is not root
NONROOT = """
import json, os, sys
sys.path.insert(0, {root!r})
import numpy, torch, yaml, rich, gradescope_utils, unittest, tempfile, subprocess  # noqa
from autograder import run  # noqa: every grader module, before the drop
from autograder.checking import oracle
from autograder.checking import parts
from autograder.grading import results
from autograder.staff import batch
from autograder import cli
from autograder.sandbox.limits import Limits
# This test's grader venv is root's (made go-rwx by other tests): torch's lazily loaded files are read
# now, as root; a real non-root grader owns its venv.
oracle.dilate_kernel(numpy.ones((1, 1, 3, 3)), 2)
oracle.receptive_field([3, 3], [1, 2], [1, 1])
os.setgroups([])
os.setresgid({gid}, {gid}, {gid})
os.setresuid({uid}, {uid}, {uid})
try:
    out = run.grade({sub!r}, parts={parts!r}, limits=Limits(call_timeout=10, import_timeout=10),
                    trusted={trusted!r})
    print(json.dumps({{"scores": [t["score"] for t in out.data["tests"]], "notes": out.notes,
                      "output": [t["output"][:600] for t in out.data["tests"]]}}))
except Exception as exc:
    print(json.dumps({{"refused": type(exc).__name__ + ": " + str(exc)}}))
"""


def nonroot_user():
    """An ordinary user of this test run's own (another run on the machine makes its own, and removes it)."""
    name = f"cgn{os.environ.get('CONVGRADE_TEST_RUN', uuid.uuid4().hex[:6])}"
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
                        "/usr/sbin/nologin", "--user-group", name], check=True, capture_output=True)
        return pwd.getpwnam(name)


@ROOT_ONLY
def test_non_root_grader_cannot_be_rewritten_by_the_submission(tmp_path):
    """The grader runs as an ordinary user who owns its tree: the submission (same uid) appends to the
    grader's oracle.py. With a user namespace (bwrap) it cannot even see it; the score stays honest and
    the file unchanged. Without one, grading refuses unless --trusted."""
    entry = nonroot_user()
    tree = Path(tempfile.mkdtemp(prefix="convgrade-nonroot-"))
    try:
        os.chmod(tree, 0o755)
        shutil.copytree(ROOT / "autograder", tree / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(ROOT / "assignment" / "common.py", tree / "autograder" / "common.py")
        oracle = tree / "autograder" / "checking" / "oracle.py"
        before = oracle.read_bytes()
        attack = Attack("rewrite_oracle", "", wrap_dk("""
for path in ("@ORACLE@",):
    try:
        with open(path, "a") as f:
            f.write("\\\\ndef dilate_kernel(w, d):\\\\n    return None\\\\npwned = True\\\\n")
    except OSError:
        pass
""").replace("return _honest_dk(w, dilation)", "return _garbage()"), lose=(DK,))
        sub = make_submission(attack, tree / "build", {"ORACLE": oracle})
        for p in [tree, *tree.rglob("*")]:
            os.lchown(p, entry.pw_uid, entry.pw_gid)
        env = {k: v for k, v in os.environ.items() if k != "CONVGRADE_BWRAP"}
        env["CONVGRADE_WORKER_PYTHON"] = worker_python()
        env["CONVGRADE_COMMON"] = str(tree / "autograder" / "common.py")

        def grade_as_user(trusted, bwrap=True):
            code = NONROOT.format(root=str(tree), uid=entry.pw_uid, gid=entry.pw_gid, sub=str(sub),
                                  parts=[DK, RF], trusted=trusted)
            e = dict(env, **({} if bwrap else {"CONVGRADE_BWRAP": "0"}))
            proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                                  cwd=tree, env=e)
            assert proc.returncode == 0, proc.stderr[-3000:]
            return json.loads(proc.stdout.strip().splitlines()[-1])

        if bwrap_works(worker_python()):
            res = grade_as_user(trusted=False)
            assert "refused" not in res, res
            assert res["scores"][0] == 0 and res["scores"][1] == 2, res  # the garbage answer, RF honest
            assert oracle.read_bytes() == before, "the submission rewrote the grader's oracle.py"
        res = grade_as_user(trusted=False, bwrap=False)
        assert "refused" in res and "--trusted" in res["refused"], res
        assert oracle.read_bytes() == before
    finally:
        shutil.rmtree(tree, ignore_errors=True)
        subprocess.run(["userdel", entry.pw_name], capture_output=True)


# ----------------------------------------------------------------- 10: run_autograder kills its own slot only
@ROOT_ONLY
def test_run_autograder_kills_only_the_slot_it_used(tmp_path):
    a = isolation.acquire()[0]
    b = isolation.acquire()[0]
    sleepers = []
    try:
        for u in (a, b):
            sleepers.append(subprocess.Popen(["setpriv", f"--reuid={u.uid}", f"--regid={u.gid}", "--clear-groups",
                                              "sleep", "60"]))
        time.sleep(0.3)
        root = tmp_path / "autograder"
        (root / "source").mkdir(parents=True)
        (root / "results").mkdir()
        fake = tmp_path / "fake-python"
        fake.write_text(f"""#!/bin/bash
if [ "$1" = "-m" ]; then echo "{a.uid} {a.name}" > "$CONVGRADE_SLOT_FILE"; exit 1; fi
exec {sys.executable} "$@"
""")
        fake.chmod(0o755)
        env = dict(os.environ, AUTOGRADER_ROOT=str(root), CONVGRADE_PYTHON=str(fake))
        subprocess.run(["bash", str(ROOT / "autograder" / "gradescope" / "run_autograder")], env=env, check=True,
                       timeout=60)
        time.sleep(0.3)
        assert sleepers[0].poll() is not None, "its own slot's process survived"
        assert sleepers[1].poll() is None, "run_autograder killed another grading's sandbox process"
        assert json.loads((root / "results" / "results.json").read_text())["score"] == 0
        assert not list(root.glob(".convgrade-slot.*"))
    finally:
        for p in sleepers:
            p.kill()
            p.wait()
        isolation.release(b)
        isolation.release(a)



def test_an_oom_kill_is_seen_in_any_counter_that_went_up():
    """sandbox/oom.py: a reading is a tuple of counters (None: unreadable); the kill shows as any one up."""
    from autograder.sandbox.oom import went_up

    assert went_up((0, None, 16), (1, None, 16)) and went_up((0, None, 16), (0, None, 17))
    assert not went_up((1, None, 16), (1, None, 16)) and not went_up((None, 3), (4, 3))
    assert not went_up((2, 5), (1, 5))  # a counter never goes down: that is no kill


def test_a_type_name_cannot_reach_the_feedback_as_markup(tmp_path):
    """A returned object's class name is the student's choice (line breaks, a table row, a heading): the
    feedback shows a stand-in, and every table cell stays one line."""
    attack = next(a for a in ATTACKS if a.name == "type_name_injection")
    sub = make_submission(attack, tmp_path / "b", {})
    out = run.grade(sub, parts=[DK], limits=short(), user=None, trusted=True)
    md = out.data["tests"][0]["output"]
    assert "an object of a type that cannot be shown" in md, md
    assert not [line for line in md.splitlines() if line.lstrip().startswith(("# HEADLINE", "| forged"))], md
    assert "HEADLINE" not in md


@ROOT_ONLY
def test_clean_up_removes_what_a_uid_made_anywhere_it_could_reach_and_walks_nothing_else(tmp_path):
    """leftovers.clean_files: below a writable place, the uid's files go however deep (through folders of
    others it can enter); a folder it cannot enter is not walked, since it cannot have made anything there."""
    uid, gid = 54321, 54321
    tree = {"open": 0o777, "open/deeper": 0o755, "open/deeper/inner": 0o777, "closed": 0o700}
    for rel, mode in tree.items():
        (tmp_path / rel).mkdir()
        (tmp_path / rel).chmod(mode)
    made = [tmp_path / "open/left", tmp_path / "open/deeper/inner/left", tmp_path / "closed/planted"]
    for f in made:
        f.write_text("x")
        os.chown(f, uid, gid)
    own_dir = tmp_path / "open/dir_of_uid"
    (own_dir / "sub").mkdir(parents=True)
    for d in (own_dir, own_dir / "sub"):
        os.chown(d, uid, gid)
    assert leftovers.clean_files(uid, gid, [tmp_path]) == 3
    assert [f.exists() for f in made] == [False, False, True] and not own_dir.exists()


@ROOT_ONLY
def test_clean_up_after_a_clean_slot_looks_only_in_folders_changed_since_and_still_finds_everything(tmp_path):
    """leftovers.clean_files with ``since`` (the time a clean slot was taken: the uid owned nothing then): whatever
    the uid made sits in a folder whose ctime moved, however deep, and goes; in folders unchanged since, files are
    not looked at one by one (a file chown'd there behind the grader's back stands for one), folders still are."""
    import time

    uid, gid = 54321, 54321
    for rel in ("quiet/deeper", "busy"):
        (tmp_path / rel).mkdir(parents=True)
    stale = tmp_path / "quiet" / "stale"
    stale.write_text("x")
    os.chown(stale, uid, gid)  # before the slot was taken: not this grading's
    old_dir = tmp_path / "quiet" / "dir_of_uid"
    old_dir.mkdir()
    os.chown(old_dir, uid, gid)
    time.sleep(0.05)
    since = time.time()
    time.sleep(0.05)
    made = [tmp_path / "busy" / "left", tmp_path / "quiet" / "deeper" / "left"]
    for f in made:
        f.write_text("x")
        os.chown(f, uid, gid)
    assert leftovers.clean_files(uid, gid, [tmp_path], since=since) == 3
    assert not any(f.exists() for f in made) and not old_dir.exists() and stale.exists()
    assert leftovers.clean_files(uid, gid, [tmp_path]) == 1 and not stale.exists()  # without since: every file


def test_a_worker_bubblewrap_cannot_start_starts_without_it_and_one_it_can_needs_no_probe(monkeypatch, tmp_path):
    """Bubblewrap is not probed before the first worker (a process less per grading): the worker's own start is the
    probe. Where bubblewrap then fails to start it and the probe says it does not work here, the worker starts again
    under its own confinement; where it works, no probe runs at all."""
    from autograder.sandbox import session

    probes = []

    def probe(python):
        probes.append(python)
        return False

    monkeypatch.setattr(session, "bwrap_may_work", lambda python: True)
    monkeypatch.setattr(session, "bwrap_works", probe)
    monkeypatch.setattr(session, "bwrap_command", lambda *a, **k: ["/bin/false"])  # a bubblewrap that cannot start
    with session.Sandbox(files={}) as sb:
        reply = sb.ping()
        assert reply.result.get("ok") and not sb.wrapped and probes == [sb.python]
    if bwrap_works(worker_python()):
        monkeypatch.undo()
        monkeypatch.setattr(session, "bwrap_works", probe)
        with session.Sandbox(files={}) as sb:
            assert sb.ping().result.get("ok") and sb.wrapped and sb.isolation.get("filesystem") == "allow-list root"
        assert len(probes) == 1, "a worker bubblewrap started needs no probe"
