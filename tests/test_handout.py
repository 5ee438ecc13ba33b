"""The student handout (tools/build_handout.py): what it ships, and that its
check.py and visualize.py work from the unpacked zip, on the stubs and on a
solved copy."""

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import build_handout  # noqa: E402

from autograder.checking.table import MODULES, load  # noqa: E402
from autograder.intake.locate import UPLOAD_ADVICE  # noqa: E402
from autograder.sandbox import confine  # noqa: E402

TOP = build_handout.TOP
FIGURES = ["toeplitz.png", "receptive_field.png", "max_unpool.png", "checkerboard.png"]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    # Stub drift is test_stubs' business; here the zip is built from assignment/ as it is.
    return build_handout.build(tmp_path_factory.mktemp("dist") / "handout.zip", check_stubs=False)


@pytest.fixture(scope="module")
def files(handout):
    with zipfile.ZipFile(handout) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def unpack(zpath, dest, solved=False):
    with zipfile.ZipFile(zpath) as zf:
        zf.extractall(dest)
    folder = Path(dest) / TOP
    if solved:
        for src in (ROOT / "solutions").glob("*.py"):
            shutil.copyfile(src, folder / src.name)
    return folder


def run(folder, *args, timeout=300, prefix=(), columns=160):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVGRADE_") or k == "CONVGRADE_SANDBOX_USER"}
    env["COLUMNS"] = str(columns)  # (the sandbox users are this test run's own: tests/conftest.py)
    proc = subprocess.run([*prefix, sys.executable, *args], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc


# ----------------------------------------------------------------- contents
def test_student_files(files):
    names = {n[len(TOP) + 1:] for n in files}
    for n in ["README.md", "requirements.txt", "check.py", "visualize.py", "common.py",
              *[f"{m}.py" for m in MODULES]]:
        assert n in names, n
    for m in MODULES:
        text = files[f"{TOP}/{m}.py"].decode()
        assert text == (ROOT / "assignment" / f"{m}.py").read_text(), m
        assert "NotImplementedError" in text
    assert files[f"{TOP}/common.py"] == (ROOT / "assignment" / "common.py").read_bytes()
    assert files[f"{TOP}/_grader/autograder/common.py"] == files[f"{TOP}/common.py"]
    readme = files[f"{TOP}/README.md"].decode()
    for m in MODULES:
        assert f"{m}.py" in readme
    assert "download.pytorch.org/whl/cpu" in readme and "check.py" in readme and "common.py" in readme
    assert "| 1.1 | conv2d_forward |" in readme  # the parts table is filled in
    reqs = files[f"{TOP}/requirements.txt"].decode()
    assert "torch" in reqs and "numpy" in reqs and "gradescope-utils" in reqs


def test_no_solutions_no_hidden_cases(files):
    for name, data in files.items():
        assert "solutions" not in name.split("/"), name
        assert "__pycache__" not in name and not name.endswith(".pyc"), name
        text = data.decode("utf-8", errors="replace")
        assert "# BEGIN SOLUTION" not in text and "# END SOLUTION" not in text, name
    assert not [f for f in files if f.startswith(f"{TOP}/_grader/autograder/staff/")]
    shipped_text = files[f"{TOP}/_grader/autograder/cases.yaml"].decode()
    shipped = {p["id"]: p for p in yaml.safe_load(shipped_text)["parts"]}
    full = load()
    assert list(shipped) == [p.id for p in full.parts]
    visible_seeds, hidden_seeds = set(), set()
    for p in full.parts:
        assert shipped[p.id]["cases"] == p.visible_cases, p.id
        assert shipped[p.id]["weight"] == p.weight
        for c in p.cases:
            if "seed" in c:  # a hidden case needs none: its inputs come from each grading's secret seed
                (hidden_seeds if c.get("hidden") else visible_seeds).add(c["seed"])
            if c.get("hidden"):
                assert c not in shipped[p.id]["cases"]
                assert {k: v for k, v in c.items() if k != "hidden"} not in shipped[p.id]["cases"]
    assert not any(c.get("hidden") for p in shipped.values() for c in p["cases"])
    shipped_seeds = {int(s) for s in re.findall(r"seed: (\d+)", shipped_text)}
    assert shipped_seeds == visible_seeds
    assert not (hidden_seeds - visible_seeds) & shipped_seeds


def test_builder_refuses_a_solution():
    files = build_handout.contents()
    files[f"{TOP}/conv.py"] += b"\n# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n"
    with pytest.raises(ValueError, match="BEGIN SOLUTION"):
        build_handout.audit(files)


# ----------------------------------------------------------------- the unpacked handout
@pytest.fixture(scope="module")
def stubs_folder(handout, tmp_path_factory):
    return unpack(handout, tmp_path_factory.mktemp("stubs"))


@pytest.fixture(scope="module")
def solved_folder(handout, tmp_path_factory):
    return unpack(handout, tmp_path_factory.mktemp("solved"), solved=True)


def as_non_root():
    """A command prefix that runs a process with a non-root euid (a user namespace), or None."""
    if os.geteuid() != 0:
        return ()
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-U", "--map-user=1000", "--map-group=1000", "true"],
                                  capture_output=True).returncode == 0:
        return (unshare, "-U", "--map-user=1000", "--map-group=1000")
    return None


def test_check_on_stubs(stubs_folder):
    """Run as a student would (not root, where this machine can): score 0, every part listed,
    the grader's isolation notes down to one line. (The solved copy below runs as this user.)"""
    proc = run(stubs_folder, "check.py", prefix=as_non_root() or ())
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for p in load().parts:
        assert re.search(rf"{re.escape(p.number)} .*0/{p.weight:g} .*FAIL", out), f"part {p.id} of cases.yaml"
    assert "not implemented yet" in out
    total = load().visible_only().total
    assert f" 0/{total:g}" in out and f"0 / {total:g} points on the visible cases" in out
    assert "(hidden)" not in out  # the handout has no hidden cases at all
    assert sum("isolation" in line for line in out.splitlines()) <= 1  # one short line at most
    if as_non_root() is not None and confine.bwrap_binary() is None:
        # not root and no bubblewrap (no user namespace): the sandbox reports reduced isolation, in one line
        assert sum("isolation reduced" in line for line in out.splitlines()) == 1, out
    for m in MODULES:
        assert f"{m}.py" in out.split("Upload to Gradescope:")[1]
    assert UPLOAD_ADVICE in " ".join(out.split())  # the same advice as both READMEs
    if sys.version_info[:2] != (3, 10):  # not Gradescope's Python: a warning that says what to do, once
        assert "warning: this is Python" in proc.stderr and "python3.10 -m venv .venv" in proc.stderr, proc.stderr
        assert "warning" not in out


SCREEN = 40  # check() on the untouched stubs fits in this many rows (issue 27)


def test_check_on_the_stubs_fits_one_screen(stubs_folder):
    """``print(check())`` in a kernel on the untouched stubs, at the 120 columns a notebook's print gets: every
    part's line in the table, each function not implemented said once, within one screen, the banners (Python's
    warning, what hidden cases show) included the first time, left out the next."""
    code = "from check import check\nprint(check())\nprint('=' * 20)\nprint(check('conv_forward'))"
    proc = run(stubs_folder, "-c", code, prefix=as_non_root() or (), columns=120)
    first, again = proc.stdout.split("=" * 20 + "\n")
    rows = sum(max(1, -(-len(line) // 120)) for line in first.rstrip("\n").split("\n"))
    assert rows <= SCREEN, f"{rows} rows:\n{first}"
    assert first.count("not implemented yet: ") == 1 and "conv2d_forward (" in first
    for p in load().parts:
        assert re.search(rf"{re.escape(p.number)} .*0/{p.weight:g} .*FAIL", first), p.id
    assert "for those it shows their shapes" in first and "for those it shows" not in again
    assert "warning" not in again and "isolation" not in again


def test_check_list(stubs_folder):
    proc = run(stubs_folder, "check.py", "--list")
    assert proc.returncode == 0
    for p in load().parts:
        assert p.id in proc.stdout


def test_check_on_solved_copy(solved_folder):
    proc = run(solved_folder, "check.py", "-v")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    total = load().visible_only().total
    assert "FAIL" not in out and f"{total:g}/{total:g}" in out, out
    for p in load().parts:
        n = len(p.visible_cases)
        assert f"{n} of {n} cases passed ({p.weight:g} / {p.weight:g} points)" in out, f"part {p.id} of cases.yaml"
    assert f"{total:g} / {total:g} points on the visible cases" in out


def test_visualize_on_stubs(stubs_folder):
    proc = run(stubs_folder, "visualize.py", "--out", "figs")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    for name in FIGURES:
        assert sum(1 for line in lines if line.startswith(f"skipped {name}: ")) == 1, proc.stdout
    assert not (stubs_folder / "figs").exists()


def test_visualize_on_solved_copy(solved_folder):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image

    proc = run(solved_folder, "visualize.py")
    assert proc.returncode == 0
    assert "skipped" not in proc.stdout and "could not" not in proc.stdout, proc.stdout
    for name in FIGURES:
        path = solved_folder / "figures" / name
        assert path.read_bytes()[:8] == PNG, name
        img = matplotlib.image.imread(path)
        assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 200, name
