"""What the class got wrong, counted from results.json: the demo export (tools/demo_batch.py, its submissions
built from tests/mutants) graded by grade-all, whose mistakes.csv, crashes.csv and summary must hold exactly the
mistakes and crashes of the mutants it was built from; the same report without regrading (`class-report`) from
grade-all's output, a Gradescope export and Gradescope's submission_metadata.json; the similarity report; and
the staff-only record of each part in results.json.
"""

import csv
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
import yaml

from autograder.checking.evidence import located_error
from autograder.checking.table import load
from autograder.grading.grader import CaseResult, PartResult
from autograder.grading.results import crash_of, staff_record
from autograder.sandbox.channel import CallError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import demo_batch as demo  # noqa: E402

TABLE = load()
# The parts the demo's mutants break (their NAMED and EXPECTED_PARTS), graded here; the rest keeps the test short.
PARTS = ["conv_forward", "conv_backward", "max_pool", "receptive_field", "bed_of_nails", "fc_to_conv"]
BUILT = {sid: demo.mutant_of(what) for sid, _, what in demo.SUBMISSIONS}


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def run(*args, timeout=600):
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    base = tmp_path_factory.mktemp("demo")
    stdout = run("tools/demo_batch.py", "--export", str(base / "demo.zip"), "--out", str(base / "grades"),
                 "--parts", *PARTS)
    return base, base / "grades", stdout


def test_the_demo_prints_its_command_with_its_interpreter(demo_out):
    _, _, stdout = demo_out
    command = next(line for line in stdout.splitlines() if line.startswith("$ "))
    assert command.split()[1] in (sys.executable, str(Path(sys.executable).relative_to(ROOT))), command
    assert command.split()[2:5] == ["-m", "autograder", "grade-all"] and "--similarity" in command


def test_mistakes_csv_holds_the_mistakes_of_the_mutants_the_export_was_built_from(demo_out):
    _, out, _ = demo_out
    rows = read_csv(out / "mistakes.csv")
    expected = Counter((pid, m) for mutant in BUILT.values() if mutant for pid, m in mutant.named.items()
                       if pid in PARTS)
    assert expected, "the demo has no mutant that names a mistake on the parts graded here"
    assert Counter((r["part"], r["mistake"]) for r in rows if not r["possible"]) == expected
    for r in rows:  # each from a mutant that breaks that part; never the reference, the stubs or the style
        mutant = BUILT[r["submission_id"]]
        assert mutant is not None and r["part"] in mutant.expected, r
        assert float(r["points_lost"]) > 0 and r["cases"], r
    assert any(n >= 2 for n in expected.values())  # two students made the same mistake: counted as two
    summary = (out / "summary.txt").read_text(encoding="utf-8")
    for (pid, m), n in expected.items():
        lost = sum(float(r["points_lost"]) for r in rows if (r["part"], r["mistake"]) == (pid, m))
        section = re.split(r"\n  (?=\S)", summary.split(f"\n  {TABLE.part(pid).number} {pid}: ", 1)[1])[0]
        assert f"    {n:>4}  {m}: " in section and f"; {round(lost, 4):g} points" in section, (pid, m, section)


def test_crashes_csv_locates_the_crashing_mutants_by_file_and_function(demo_out):
    _, out, _ = demo_out
    rows = read_csv(out / "crashes.csv")
    crashing = {sid for sid, mutant in BUILT.items()
                if mutant and not set(mutant.named) & set(PARTS) and set(mutant.expected) & set(PARTS)}
    assert crashing and {r["submission_id"] for r in rows} == crashing  # the stubs' NotImplementedError is no crash
    for r in rows:
        mutant = BUILT[r["submission_id"]]
        assert r["file"] == f"{mutant.module}.py" and r["function"] in mutant.functions, r
        assert r["kind"] == "raised" and r["exception"] and int(r["line"]) > 0, r
    assert any("h" in r["cases"] for r in rows)  # hidden cases are counted for staff
    summary = (out / "summary.txt").read_text(encoding="utf-8").split("crashes and time-outs", 1)[1]
    for sid in crashing:
        mutant = BUILT[sid]
        assert f"  {mutant.module}.py {mutant.functions[0]}: raised " in summary, summary


def test_the_mistakes_plot_and_the_results_records_validate(demo_out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image

    _, out, _ = demo_out
    assert matplotlib.image.imread(out / "mistakes.png").shape[0] > 100
    schema = json.loads((ROOT / "tests" / "gradescope_results.schema.json").read_text())
    for sid, _, _ in demo.SUBMISSIONS:
        data = json.loads((out / "submissions" / sid / "results.json").read_text())
        jsonschema.validate(data, schema)
        assert [t["extra_data"]["part"] for t in data["tests"]] == PARTS  # every part's staff record


def report_rows(path):
    return {(r["submission_id"], r["part"], r["mistake"], r["cases"], r["points_lost"])
            for r in read_csv(path / "mistakes.csv")}


def test_class_report_without_regrading_reads_every_source_the_same(demo_out, tmp_path):
    """grade-all's output, a Gradescope export carrying those results.json in its metadata, and Gradescope's
    submission_metadata.json with them as previous submissions: the same mistakes.csv and crashes.csv."""
    _, out, _ = demo_out
    graded = report_rows(out)
    crashes = read_csv(out / "crashes.csv")
    results = {sid: json.loads((out / "submissions" / sid / "results.json").read_text())
               for sid, _, _ in demo.SUBMISSIONS}

    text = run("-m", "autograder", "class-report", str(out), "--out", str(tmp_path / "a"))
    assert report_rows(tmp_path / "a") == graded and read_csv(tmp_path / "a" / "crashes.csv") == crashes
    assert (tmp_path / "a" / "class_report.txt").read_text(encoding="utf-8") in text + "\n"

    export = tmp_path / "export" / "assignment_1_export"  # results as Gradescope keeps them, Ruby-symbol keys
    export.mkdir(parents=True)
    metadata = {f"submission_{sid}": {":submitters": [{":name": "x", ":sid": sid}], ":score": data["score"],
                                      ":results": data} for sid, data in results.items()}
    (export / "submission_metadata.yml").write_text(yaml.safe_dump(metadata), encoding="utf-8")
    run("-m", "autograder", "class-report", str(tmp_path / "export"), "--out", str(tmp_path / "b"))
    assert report_rows(tmp_path / "b") == graded

    runs = tmp_path / "runs"  # one submission_metadata.json per student: the latest previous submission counts
    for sid, data in results.items():
        (runs / sid).mkdir(parents=True)
        stale = {"tests": [{**t, "extra_data": {}} for t in data["tests"]], "score": 0}
        (runs / sid / "submission_metadata.json").write_text(json.dumps({"id": sid, "previous_submissions": [
            {"submission_time": "2024-03-01T10:00:00-08:00", "results": stale},
            {"submission_time": "2024-03-02T10:00:00-08:00", "results": data}]}))
    run("-m", "autograder", "class-report", str(runs), "--out", str(tmp_path / "c"))
    assert report_rows(tmp_path / "c") == graded

    for data in results.values():  # results of an autograder without the record: left out, and said
        for t in data["tests"]:
            t.pop("extra_data")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "results.json").write_text(json.dumps(results["4003"]))
    text = run("-m", "autograder", "class-report", str(tmp_path / "old" / "results.json"), "--out",
               str(tmp_path / "d"))
    assert "not counted: 1 of 1 results carry no staff record" in " ".join(text.split())
    assert read_csv(tmp_path / "d" / "mistakes.csv") == []


def test_the_similarity_report_pairs_copies_and_never_the_starter_code(demo_out):
    _, out, _ = demo_out
    rows = read_csv(out / "similarity.csv")
    page = (out / "similarity.html").read_text(encoding="utf-8")
    assert "://" not in page  # self-contained: nothing to fetch
    stubs = next(sid for sid, _, what in demo.SUBMISSIONS if what == "stubs")
    assert all(stubs not in (r["submission_a"], r["submission_b"]) for r in rows)  # all boilerplate: no pair
    twins = sorted(sid for sid, m in BUILT.items() if m and m.name == "conv_db_mean")
    pair = [r for r in rows if sorted([r["submission_a"], r["submission_b"]]) == twins]
    assert pair and float(pair[0]["similarity"]) == 1.0
    style = next(sid for sid, _, what in demo.SUBMISSIONS if what.startswith("style:"))
    reference = next(sid for sid, _, what in demo.SUBMISSIONS if what == "reference")
    with_style = [r for r in rows if {r["submission_a"], r["submission_b"]} == {reference, style}]
    assert not with_style or float(with_style[0]["similarity"]) < 1.0  # written unlike the reference
    earlier = [r for r in rows if r["submission_b"].startswith("earlier: solutions/")]
    assert any(r["submission_a"] == reference and float(r["similarity"]) == 1.0 for r in earlier)
    summary = (out / "summary.txt").read_text(encoding="utf-8")
    assert "similarity (similarity.html, similarity.csv; never part of a grade)" in summary
    grades = (out / "grades.csv").read_text(encoding="utf-8")
    assert "similar" not in grades  # never part of a grade


# ----------------------------------------------------------------- the staff-only record of a part
def case(index, **kw):
    return CaseResult(index=index, hidden=kw.pop("hidden", False), passed=kw.pop("passed", False), label="", **kw)


def test_the_record_reads_the_located_lines_the_checkers_write(tmp_path):
    """crash_of parses evidence.located_error's own lines: a change of their wording fails here."""
    part = TABLE.part("conv_backward")
    source = tmp_path / "conv.py"
    source.write_text("def conv2d_forward(x):\n    pass\n\n\ndef _pad(x):\n    return x[99]\n")
    err = CallError("IndexError: index 99 is out of bounds", kind="error", where="conv.py, line 6, in _pad")
    line = located_error(err, "conv2d_backward", {"conv": source})
    assert line == "conv2d_backward raised IndexError at conv.py, line 6, in _pad"
    crash = crash_of(part, case(1, kind="error", located=[line], used={"conv2d_forward": [], "conv2d_backward": []}))
    assert crash == {"kind": "raised", "exception": "IndexError", "file": "conv.py", "function": "_pad", "line": 6}
    stub = located_error(CallError("NotImplementedError: todo", kind="error"), "conv2d_forward", {})
    assert crash_of(part, case(2, kind="error", located=[stub])) is None  # unfinished, not a crash
    hung = crash_of(part, case(3, kind="timeout", used={"conv2d_forward": [], "conv2d_backward": []}))
    assert hung == {"kind": "timed out", "exception": "", "file": "conv.py", "function": "conv2d_backward",
                    "line": None}


def test_the_record_counts_every_failing_case_with_its_points_hidden_ones_too():
    part = TABLE.part("conv_backward")
    n = len(part.cases)
    cases = [case(i, passed=True) for i in range(1, n + 1)]
    cases[0] = case(1, mistakes=["grad_mean_not_sum"])
    cases[1] = case(2, credit=0.5, stages=[("forward", True), ("backward", False)], candidates=["a", "b"])
    cases[-1] = case(n, hidden=True, mistakes=["grad_mean_not_sum"])
    cases[2] = case(3, kind="wrong")
    record = staff_record(PartResult(part, cases, 1.0))
    assert record["part"] == part.id
    assert [(f["case"], f["hidden"], f["why"]) for f in record["failed"]] == [
        (1, False, "mistake"), (2, False, "mistake"), (3, False, "unexplained"), (n, True, "mistake")]
    share = part.weight / n
    assert [f["lost"] for f in record["failed"]] == [round(share, 4), round(share / 2, 4), round(share, 4),
                                                     round(share, 4)]
    assert record["mistakes"] == [{"id": "grad_mean_not_sum", "cases": [1, n], "possible": False},
                                  {"id": "a", "cases": [2], "possible": True},
                                  {"id": "b", "cases": [2], "possible": True}]
    json.dumps(record, allow_nan=False)
