"""`python -m autograder grade-all`: a synthetic Gradescope export graded by long-lived grading processes.

The export holds the reference solutions, the stubs, a buggy submission (db
as a mean), a hostile one (os._exit at import, an endless loop), a zip whose
files sit in a nested folder, and a "zip" that is not one (status error). A small case table (three parts, 100
points, short time limits) keeps the batch fast while every status shows up. The metadata holds old scores
(some with per-test results, as Gradescope exports them): the regrade diff. A submission that overruns its
time, and a grading process killed in the middle of a submission, cost that submission only.
"""

import contextlib
import csv
import json
import re
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from autograder.checking.table import MODULES, load
from autograder.staff.pool import descendants

ROOT = Path(__file__).resolve().parent.parent
PNG = b"\x89PNG\r\n\x1a\n"

WEIGHTS = {"conv_forward": 40, "conv_backward": 40, "receptive_field": 20}  # this test's own small table


def small_table(call_timeout=4):
    """Three parts of the real table, with one visible and at most one hidden case each, and short limits
    (short hangs, generous worker start-up under load)."""
    table = load().select(list(WEIGHTS))
    for part in table.parts:
        part.weight = WEIGHTS[part.id]
        part.cases = part.visible_cases[:1] + [c for c in part.cases if c.get("hidden")][:1]
    table.limits = {"call_timeout": call_timeout, "import_timeout": 15}
    return table, table.to_yaml()


SMALL, TABLE = small_table()
TOTAL = sum(WEIGHTS.values())
OLD_1003 = {"conv_forward": 40, "conv_backward": 40, "receptive_field": 20}  # the export's per-test scores
OLD_1004 = {"conv_forward": 40, "conv_backward": 0, "receptive_field": 20}


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
  :score: 0.0
submission_1003:
  :submitters:
  - :name: Bea Buggy
    :sid: '1003'
    :email: bea@example.edu
  - :name: Partner Two
    :sid: '1013'
    :email: two@example.edu
  :score: 100.0
  :results:
    score: 100.0
    tests:
{results_1003}
submission_1004:
  :submitters:
  - :name: Hal Hostile
    :sid: '1004'
    :email: hal@example.edu
  :score: 60.0
  :results:
    tests:
{results_1004}
submission_1005:
  :submitters:
  - :name: Zed Zipped
    :sid: '1005'
    :email: zed@example.edu
  :score: !ruby/object:BigDecimal 18:0.1e2
"""


def old_tests(scores, by_number=True):
    """The ``tests`` of an old results.json as the export holds them (1004's: named, without numbers)."""
    lines = []
    for p in SMALL.parts:
        lines.append(f"    - name: {p.number} {p.title}\n      score: {scores[p.id]}\n      max_score: {p.weight:g}"
                     + (f"\n      number: '{p.number}'" if by_number else ""))
    return "\n".join(lines)


METADATA = METADATA.format(results_1003=old_tests(OLD_1003), results_1004=old_tests(OLD_1004, by_number=False))


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


def grade_all(table, source, out, *extra, timeout=120, env=None):
    cmd = [sys.executable, "-m", "autograder", "--table", str(table), "grade-all", str(source), "--out", str(out),
           *extra]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)
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


def test_grade_all_runs_one_at_a_time_without_pid_namespaces(export, tmp_path):
    """Without bubblewrap no worker gets a PID namespace, and two at once could see each other in /proc (the
    red team's proc_fds and pid_counter channels): grade-all grades one submission at a time and says why."""
    base, exp, table = export
    env = dict(os.environ, CONVGRADE_BWRAP="0")
    stdout = grade_all(table, exp, tmp_path / "out", "--jobs", "2", "--parts", "receptive_field", env=env)
    assert "one grading at a time" in stdout and "; 1 grading processes" in stdout, stdout
    assert len(read_rows(tmp_path / "out")) == 6


def test_every_submission_has_hidden_inputs_of_its_own(graded):
    """A hidden seed per submission in every mode, here where gradings are kept apart by namespaces too:
    what one grading learns of another's hidden inputs (two gradings run at once) is worth nothing to it."""
    _, _, _, out, _ = graded
    seeds = {}
    for sub in ("1001", "1002", "1003", "1004", "1005"):
        data = json.loads(next(out.rglob(f"*{sub}*/results.json")).read_text())
        seeds[sub] = data["extra_data"]["hidden_seed"]
    assert len(set(seeds.values())) == len(seeds), seeds


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
        data = json.loads((out / "submissions" / i / "results.json").read_text())
        assert data["score"] == float(rows[i]["total"]) and len(data["tests"]) == 3
        assert json.loads((out / "submissions" / i / "batch.json").read_text())["status"] == rows[i]["status"]
    hostile = json.loads((out / "submissions" / "1004" / "results.json").read_text())
    assert "exit" in hostile["tests"][0]["output"] and "time" in hostile["tests"][2]["output"]
    summary = (out / "summary.txt").read_text()
    assert "submissions: 6 (ok 5, timeout 0, error 1)" in summary
    assert "median" in summary and "conv_backward" in summary
    assert "submissions: 6" in stdout
    # the progress bar's last state: done / total, failures (1006 could not be read), an ETA
    assert "6/6" in stdout and "failed: 1" in stdout and "ETA" in stdout
    olds = {i: rows[i]["old_total"] for i in rows}
    assert olds == {"1001": "0", "1002": "0", "1003": "100", "1004": "60", "1005": "10", "1006": ""}


def test_regrade_diff(graded):
    """Every submission whose grade changed: its verdict, its totals, and the parts that changed (where the export
    has them); how to post the regrade, in three lines."""
    from autograder.staff.regrade import POSTING

    _, _, _, out, stdout = graded
    rows = read_rows(out)
    summary = (out / "summary.txt").read_text().splitlines()
    bug, hal = rows["1003"], rows["1004"]
    new_bug = float(bug["total"])
    assert new_bug < 100 and float(bug["conv_backward"]) < 40
    start = summary.index("regrade: 4 of 5 submissions with an old score changed (0 up, 2 down, 2 no per-part "
                          "scores); up and down compare each part's share of its maximum:")
    diff = summary[start + 1:start + 5]
    assert diff == [
        f"  1001 (Ada Reference): no per-part scores, 0/{TOTAL} -> 100/{TOTAL}; the export holds no per-part scores",
        f"  1003 (Bea Buggy; Partner Two): down, 100 -> {new_bug:g} ({new_bug - 100:+g}); "
        f"1.2 conv_backward 40 -> {float(bug['conv_backward']):g} ({float(bug['conv_backward']) - 40:+g})",
        # old tests matched by name (no numbers in 1004's old results); conv_backward was 0 and still is
        "  1004 (Hal Hostile): down, 60 -> 0 (-60); 1.1 conv_forward 40 -> 0 (-40), 3.3 receptive_field 20 -> 0 (-20)",
        f"  1005 (Zed Zipped): no per-part scores, 10/{TOTAL} -> 100/{TOTAL}; the export holds no per-part scores",
    ]
    assert float(hal["total"]) == 0
    assert summary[start + 5:start + 8] == list(POSTING)  # 1002 (0 -> 0) is not listed; then how to post
    assert "regrade: 4 of 5" in stdout
    assert {i: (r["old_max"], r["regrade"]) for i, r in rows.items()} == {
        "1001": ("", "no per-part scores"), "1002": ("", "same"), "1003": (str(TOTAL), "down"),
        "1004": (str(TOTAL), "down"), "1005": ("", "no per-part scores"), "1006": ("", "")}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- regrade-example -->\n")[1].split("<!-- /regrade-example -->")[0]
    assert block.splitlines() == ["    " + line for line in summary[start:start + 5]], \
        "README's regrade example (For course staff) is not what this export's summary says: paste it"
    assert all(line in " ".join(readme.split()) for line in POSTING), "README lacks the lines on posting a regrade"


def weight_change_rows(table, scenarios):
    """Rows of grade-all for ``scenarios`` ({id: (old scores, new scores)}, per part id), the export's old results
    giving every part's old score and maximum (WEIGHTS); ``None`` old scores: an export without per-part results."""
    from autograder.staff.batch import Row
    from autograder.staff.export import Previous, Submission

    rows = []
    for sid, (old, new) in scenarios.items():
        tests = [] if old is None else [{"name": f"{p.number} {p.title}", "number": p.number, "score": old[p.id],
                                         "max_score": WEIGHTS[p.id]} for p in table.parts]
        total = sum((old or {"all": 90}).values())
        sub = Submission(sid, f"submission_{sid}", Path("."), [{"name": f"Student {sid}", "sid": sid, "email": ""}],
                         Previous(total, tests))
        data = {"score": sum(new.values()), "tests": [{"number": p.number, "score": new[p.id]} for p in table.parts]}
        rows.append(Row(sub, "ok", "", 1.0, data))
    return rows


def test_a_regrade_after_a_weight_change_never_shows_a_loss_as_a_gain(tmp_path):
    """The weight of 1.1 raised from 40 to 55 after the export. Read from grades.csv and the summary alone, no
    student who lost points on a part (a smaller share of its maximum) shows as a gain: not "up" in grades.csv,
    not "up" in the summary, no signed rise of the total beside their name; only those who gained on some part
    and lost on none are up."""
    from autograder.staff.report import summary_text, write_csv

    table, _ = small_table()
    first, second, third = table.parts
    first.weight += 15
    full_old, full_new = dict(WEIGHTS), {p.id: p.weight for p in table.parts}
    half = WEIGHTS[first.id] / 2
    scenarios = {  # old scores, new scores (per part id)
        "full": (full_old, full_new),  # full marks before and after: only the maximum changed
        "issue": (full_old, dict(full_new, **{third.id: third.weight - 2})),  # raw total up 13, lost 2 points
        "lost": (full_old, dict(full_new, **{second.id: 0})),
        "half-up": (dict(full_old, **{first.id: half}), dict(full_new, **{first.id: first.weight * 0.6})),
        "half-down": (dict(full_old, **{first.id: half}), dict(full_new, **{first.id: half + 1})),  # +1 raw, -share
        "half-same": (dict(full_old, **{first.id: half}), dict(full_new, **{first.id: first.weight / 2})),
        "both": (dict(full_old, **{second.id: 0}), dict(full_new, **{second.id: 40, third.id: 10})),
        "unknown": (None, full_new),
    }
    rows = weight_change_rows(table, scenarios)
    write_csv(tmp_path / "grades.csv", rows, table)
    csv_rows = read_rows(tmp_path)
    summary = summary_text(rows, table, 0).splitlines()

    def share_moves(sid):
        old, new = scenarios[sid]
        if old is None:
            return None
        return {p.id: round(new[p.id] / p.weight - old[p.id] / WEIGHTS[p.id], 9) for p in table.parts}

    lost = {sid for sid in scenarios if share_moves(sid) and min(share_moves(sid).values()) < 0}
    gained_only = {sid for sid in scenarios if share_moves(sid) and min(share_moves(sid).values()) >= 0
                   and max(share_moves(sid).values()) > 0}
    assert lost == {"issue", "lost", "half-down", "both"} and gained_only == {"half-up"}  # the scenarios hold
    for sid, r in csv_rows.items():
        line = next(x for x in summary if x.startswith(f"  {sid} (Student {sid}): "))
        verdict = line.split(": ", 1)[1].split(",", 1)[0]
        assert verdict == r["regrade"], (sid, line, r)  # the summary and grades.csv say the same
        assert float(r["old_max"] or 0) in (0, TOTAL) and float(r["max"]) == table.total  # both maxima are there
        if sid in lost:
            assert r["regrade"] in ("down", "up and down"), (sid, r)
            assert not re.search(r"-> [\d.]+ \(\+", line.split(";")[0]), line  # no signed rise of the total
        else:
            assert r["regrade"] != "down" and "up and" not in r["regrade"], (sid, r)
        assert (r["regrade"] == "up") == (sid in gained_only), (sid, r)
    assert csv_rows["full"]["regrade"] == csv_rows["half-same"]["regrade"] == "the maximum changed"
    assert csv_rows["unknown"]["regrade"] == "no per-part scores"
    head = next(x for x in summary if x.startswith("regrade: 8 of 8"))
    assert "(1 up, 3 down, 1 up and down, 2 the maximum changed, 1 no per-part scores)" in head, head
    issue = next(x for x in summary if x.startswith("  issue "))
    assert (f"{TOTAL}/{TOTAL} -> {TOTAL + 13:g}/{table.total:g}" in issue
            and f"{first.number} {first.id} 40/40 -> 55/55 (100% -> 100%, the maximum changed)" in issue), issue
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert " ".join(issue.split()) in readme, f"README's example of a changed weight lacks: {issue}"


def test_plots(graded):
    out = graded[3]
    for name in ("score_histogram.png", "part_scores.png"):
        is_png(out / name)


def test_rerun_skips_and_zipped_export(graded):
    base, exp, table, out, _ = graded
    before = (out / "submissions" / "1001" / "results.json").stat().st_mtime_ns
    # The same export as Gradescope's zip (one top folder): same ids, so nothing is graded again.
    zpath = base / "export.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in sorted(exp.rglob("*")):
            if p.is_file():
                zf.write(p, f"{exp.name}/{p.relative_to(exp)}")
    stdout = grade_all(table, zpath, out, "--jobs", "2", timeout=60)
    assert "0 to grade, 6 already graded" in stdout
    assert (out / "submissions" / "1001" / "results.json").stat().st_mtime_ns == before
    assert list(read_rows(out)) == ["1001", "1002", "1003", "1004", "1005", "1006"]


def test_timeout_and_plain_folder(export, tmp_path):
    """A submission over --timeout: its grading process is killed, the row says timeout, and a new process
    grades the next submission (one grading process, so the same slot goes on)."""
    base, exp, _ = export
    table = tmp_path / "cases.yaml"
    table.write_text(small_table(call_timeout=30)[1])  # hal's receptive_field now hangs 30 s per call
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copytree(exp / "submission_1004", plain / "a_hal")
    put_solutions(plain / "b_ref")
    out = tmp_path / "out"
    with private_tmp() as tmp:
        grade_all(table, plain, out, "--jobs", "1", "--timeout", "12", env=dict(os.environ, TMPDIR=tmp))
        left = os.listdir(tmp)
    assert left == [], f"the killed grading process left its temporary folders: {left}"
    rows = read_rows(out)
    row = rows["a_hal"]
    assert row["status"] == "timeout" and float(row["total"]) == 0 and row["names"] == ""
    assert "old_total" not in row  # no metadata, no old scores: no column
    data = json.loads((out / "submissions" / "a_hal" / "results.json").read_text())
    assert data["score"] == 0 and len(data["tests"]) == 3 and "did not finish" in data["output"]
    assert rows["b_ref"]["status"] == "ok" and float(rows["b_ref"]["total"]) == TOTAL


@contextlib.contextmanager
def private_tmp():
    """A temporary folder of the test's own for grade-all's TMPDIR (mode 711 like /tmp's own folders, so
    the sandbox users reach their folders below it): what the batch leaves there is the batch's."""
    folder = tempfile.mkdtemp(prefix="convgrade-test-tmp-")
    os.chmod(folder, 0o711)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def grading_processes(pid):
    out = []
    for p in descendants(pid):
        try:
            if b"autograder.staff.batch_worker" in Path(f"/proc/{p}/cmdline").read_bytes():
                out.append(p)
        except OSError:
            continue
    return out


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the grading process through /proc")
def test_grading_process_killed_mid_submission(export, tmp_path):
    """The grading process dies while it grades a submission: that row is an error, the next submission is
    graded by a fresh process, and the batch ends normally."""
    base, exp, _ = export
    table = tmp_path / "cases.yaml"
    table.write_text(small_table(call_timeout=60)[1])
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copytree(exp / "submission_1004", plain / "a_hal")  # hangs in receptive_field: time to kill
    put_solutions(plain / "b_ref")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "autograder", "--table", str(table), "grade-all", str(plain), "--out", str(out),
           "--jobs", "1"]
    with private_tmp() as tmp:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=dict(os.environ, TMPDIR=tmp))
        try:
            deadline = time.monotonic() + 120
            killed = []
            while not killed and time.monotonic() < deadline:
                # a_hal's grading has started (its grade.log exists) and reached the endless loop
                if (out / "submissions" / "a_hal" / "grade.log").exists():
                    time.sleep(3)
                    for p in grading_processes(proc.pid):
                        os.kill(p, signal.SIGKILL)
                        killed.append(p)
                time.sleep(0.2)
            assert killed, "no grading process was found"
            stdout, _ = proc.communicate(timeout=240)
            left = os.listdir(tmp)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, stdout
    assert left == [], f"the killed grading process left its temporary folders: {left}"
    rows = read_rows(out)
    assert rows["a_hal"]["status"] == "error" and "died" in rows["a_hal"]["message"], rows["a_hal"]
    assert float(rows["a_hal"]["total"]) == 0
    assert rows["b_ref"]["status"] == "ok" and float(rows["b_ref"]["total"]) == TOTAL


def test_slots_that_stop_lose_no_submission(tmp_path, monkeypatch):
    """Should every grading slot stop (a bug of the batch itself, here a grading process that cannot even
    be set up), every submission still gets a row and a valid results.json, and the batch ends."""
    import threading
    from types import SimpleNamespace

    from autograder.staff import batch
    from autograder.staff.export import Submission

    def broken(*args, **kwargs):
        raise OSError("no pipes left")

    monkeypatch.setattr(batch, "GradingProcess", broken)
    subs = [Submission(f"s{i}", f"s{i}", tmp_path / f"s{i}") for i in range(3)]
    args = SimpleNamespace(table=None, parts=[], seed=1, trusted=False, timeout=10.0)
    rows = []
    batch.run_pool(subs, SMALL, args, tmp_path, tmp_path, 2, rows.append, threading.Event())
    assert sorted(r.sub.id for r in rows) == ["s0", "s1", "s2"] and {r.status for r in rows} == {"error"}
    assert all("no pipes left" in r.message for r in rows)
    for r in rows:
        assert batch.load_valid(tmp_path / "submissions" / r.sub.id / "results.json", SMALL)["score"] == 0
    assert not list(tmp_path.glob(".graders-*"))  # the batch's private folder is gone


def test_output_names_and_spreadsheet_cells_from_the_export_stay_apart(export, tmp_path):
    """A submission folder named like an output of grade-all (grades.csv, summary.txt) grades in its own
    folder, and names that hold a NUL, line breaks or a formula reach grades.csv as one plain cell each."""
    _, _, table = export
    plain = tmp_path / "plain"
    for name in ("grades.csv", "summary.txt"):
        put_solutions(plain / name)
    exp = tmp_path / "export"
    put_solutions(exp / "submission_7")
    (exp / "submission_metadata.yml").write_text(
        "submission_7:\n  :submitters:\n  - :name: \"\\0=HYPERLINK(1)\\nsecond line\"\n    :sid: \"@7\\r\"\n"
        "    :email: \"-1+2\"\n  :score: 0.0\n")
    out = tmp_path / "out"
    grade_all(table, plain, out, "--jobs", "1", "--parts", "receptive_field")
    assert (out / "grades.csv").is_file() and (out / "summary.txt").is_file()
    assert {"grades.csv", "summary.txt"} <= set(read_rows(out)), read_rows(out).keys()
    out2 = tmp_path / "out2"
    grade_all(table, exp, out2, "--jobs", "1", "--parts", "receptive_field")
    text = (out2 / "grades.csv").read_text()
    assert "\0" not in text and len(text.splitlines()) == 2, text  # the header and one row
    row = read_rows(out2)["7"]
    for key in ("names", "sids", "emails"):
        assert row[key][:1] == "'" and not any(ord(c) < 32 for c in row[key]), row
