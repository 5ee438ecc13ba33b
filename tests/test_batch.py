"""`python -m autograder grade-all`: a synthetic Gradescope export graded in parallel.

The export holds the reference solutions, the stubs, a buggy submission (db
as a mean), a hostile one (os._exit at import, an endless loop), a zip whose
files sit in a nested folder, and a "zip" that is not one (status error). A small case table (three parts, 100
points, short time limits) keeps the batch fast while every status shows up.
"""

import csv
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.table import MODULES, load

ROOT = Path(__file__).resolve().parent.parent
PNG = b"\x89PNG\r\n\x1a\n"

WEIGHTS = {"conv_forward": 40, "conv_backward": 40, "receptive_field": 20}  # this test's own small table


def small_table():
    """Three parts of the real table, with one visible and at most one hidden case each, and short limits
    (short hangs, generous worker start-up under load)."""
    table = load().select(list(WEIGHTS))
    for part in table.parts:
        part.weight = WEIGHTS[part.id]
        part.cases = part.visible_cases[:1] + [c for c in part.cases if c.get("hidden")][:1]
    table.limits = {"call_timeout": 4, "import_timeout": 15}
    return table.to_yaml()


TABLE = small_table()
TOTAL = sum(WEIGHTS.values())


METADATA = """\
submission_1001:
  :submitters:
  - :name: Ada Reference
    :sid: '1001'
    :email: ada@example.edu
  :created_at: 2024-03-01 12:00:00.000000000 -08:00
  :score: 0.0
submission_1002:
  :submitters:
  - :name: Stub Student
    :sid: '1002'
    :email: stub@example.edu
submission_1003:
  :submitters:
  - :name: Bea Buggy
    :sid: '1003'
    :email: bea@example.edu
  - :name: Partner Two
    :sid: '1013'
    :email: two@example.edu
submission_1004:
  :submitters:
  - :name: Hal Hostile
    :sid: '1004'
    :email: hal@example.edu
submission_1005:
  :submitters:
  - :name: Zed Zipped
    :sid: '1005'
    :email: zed@example.edu
  :score: !ruby/object:BigDecimal 18:0.1e2
"""


def put_solutions(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for m in MODULES:
        shutil.copyfile(ROOT / "solutions" / f"{m}.py", folder / f"{m}.py")


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    base = tmp_path_factory.mktemp("batch")
    exp = base / "assignment_42_export"
    exp.mkdir()
    (exp / "submission_metadata.yml").write_text(METADATA)
    put_solutions(exp / "submission_1001")
    stubs = exp / "submission_1002"
    stubs.mkdir()
    for m in [*MODULES, "common"]:
        shutil.copyfile(ROOT / "assignment" / f"{m}.py", stubs / f"{m}.py")
    buggy = exp / "submission_1003"
    put_solutions(buggy)
    conv = (buggy / "conv.py").read_text()
    assert "def conv2d_backward" in conv
    conv += ("\n\n_reference_backward = conv2d_backward\n\n\n"
             "def conv2d_backward(dout, cache):\n"
             "    dx, dw, db = _reference_backward(dout, cache)\n"
             "    return dx, dw, (None if db is None else db / (dout.shape[0] * dout.shape[2] * dout.shape[3]))\n")
    (buggy / "conv.py").write_text(conv)
    hostile = exp / "submission_1004"
    put_solutions(hostile)
    (hostile / "conv.py").write_text("import os\nos._exit(3)\n")
    (hostile / "dilated.py").write_text(
        "def dilate_kernel(w, dilation):\n    return w\n\n\n"
        "def receptive_field(kernel_sizes, strides=None, dilations=None):\n    while True:\n        pass\n")
    with zipfile.ZipFile(exp / "submission_1005.zip", "w") as zf:
        for m in MODULES:
            zf.write(ROOT / "solutions" / f"{m}.py", f"my work/{m}.py")
        zf.writestr("__MACOSX/my work/._conv.py", b"\x00junk")
    (exp / "submission_1006.zip").write_bytes(b"%PDF-1.4 not a zip at all")
    table = base / "cases.yaml"
    table.write_text(TABLE)
    return base, exp, table


def grade_all(table, source, out, *extra, timeout=120):
    cmd = [sys.executable, "-m", "autograder", "--table", str(table), "grade-all", str(source), "--out", str(out),
           *extra]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return " ".join(proc.stdout.split())  # rich may wrap lines


def read_rows(out):
    with open(out / "grades.csv", newline="") as f:
        return {r["submission_id"]: r for r in csv.DictReader(f)}


def is_png(path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image

    assert path.read_bytes()[:8] == PNG, path
    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100


@pytest.fixture(scope="module")
def graded(export):
    base, exp, table = export
    out = base / "out"
    stdout = grade_all(table, exp, out, "--jobs", "2")
    return base, exp, table, out, stdout


def test_grades_csv(graded):
    _, _, _, out, stdout = graded
    rows = read_rows(out)
    assert list(rows) == ["1001", "1002", "1003", "1004", "1005", "1006"]
    ref, stub, bug, bad, zipped = (rows[i] for i in ["1001", "1002", "1003", "1004", "1005"])
    assert (ref["names"], ref["sids"], ref["emails"]) == ("Ada Reference", "1001", "ada@example.edu")
    assert bug["names"] == "Bea Buggy; Partner Two" and bug["sids"] == "1003; 1013"
    assert zipped["names"] == "Zed Zipped"  # a Ruby-tagged field does not break the metadata
    for r in (ref, zipped):
        assert float(r["total"]) == TOTAL and r["status"] == "ok", r
        assert (r["conv_forward"], r["conv_backward"], r["receptive_field"]) == ("40", "40", "20")
    assert float(stub["total"]) == 0 and stub["status"] == "ok"
    assert 0 < float(bug["total"]) < TOTAL and bug["status"] == "ok"
    assert bug["conv_forward"] == "40" and float(bug["conv_backward"]) < 40 and bug["receptive_field"] == "20"
    assert float(bad["total"]) == 0 and bad["status"] == "ok"  # its crash and hang failed its own cases only
    unreadable = rows["1006"]
    assert unreadable["status"] == "error" and float(unreadable["total"]) == 0 and unreadable["names"] == ""
    assert "could not be read" in unreadable["message"]
    assert all(float(r["max"]) == TOTAL for r in rows.values())
    for i in rows:
        data = json.loads((out / i / "results.json").read_text())
        assert data["score"] == float(rows[i]["total"]) and len(data["tests"]) == 3
        assert json.loads((out / i / "batch.json").read_text())["status"] == rows[i]["status"]
    hostile = json.loads((out / "1004" / "results.json").read_text())
    assert "exit" in hostile["tests"][0]["output"] and "time" in hostile["tests"][2]["output"]
    summary = (out / "summary.txt").read_text()
    assert "submissions: 6 (ok 5, timeout 0, error 1)" in summary
    assert "median" in summary and "conv_backward" in summary
    assert "submissions: 6" in stdout


def test_plots(graded):
    out = graded[3]
    for name in ("score_histogram.png", "part_scores.png"):
        is_png(out / name)


def test_rerun_skips_and_zipped_export(graded):
    base, exp, table, out, _ = graded
    before = (out / "1001" / "results.json").stat().st_mtime_ns
    # The same export as Gradescope's zip (one top folder): same ids, so nothing is graded again.
    zpath = base / "export.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in sorted(exp.rglob("*")):
            if p.is_file():
                zf.write(p, f"{exp.name}/{p.relative_to(exp)}")
    stdout = grade_all(table, zpath, out, "--jobs", "2", timeout=60)
    assert "0 to grade, 6 already graded" in stdout
    assert (out / "1001" / "results.json").stat().st_mtime_ns == before
    assert list(read_rows(out)) == ["1001", "1002", "1003", "1004", "1005", "1006"]


def test_timeout_and_plain_folder(export, tmp_path):
    base, exp, table = export
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copytree(exp / "submission_1004", plain / "hal")  # hangs 4 s in receptive_field
    out = tmp_path / "out"
    grade_all(table, plain, out, "--jobs", "2", "--timeout", "2")
    row = read_rows(out)["hal"]
    assert row["status"] == "timeout" and float(row["total"]) == 0 and row["names"] == ""
    data = json.loads((out / "hal" / "results.json").read_text())
    assert data["score"] == 0 and len(data["tests"]) == 3 and "did not finish" in data["output"]
