"""Rate limiting (the table's ``rate_limit``), from synthetic /autograder/submission_metadata.json files.

Times come from the metadata only: every date here is years in the past, so a limit computed from the
clock would never apply. Results are checked against Gradescope's results schema.
"""

import json
from datetime import datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from test_gradescope import autograder_zip, run_autograder  # noqa: F401  (a fixture, and its helper)

from autograder.checking.table import load, read, write
from autograder.grading.results import validate
from autograder.intake.ratelimit import MARK, decide, parse_time
from autograder.run import grade

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "tests" / "gradescope_results.schema.json").read_text())
LIMIT = {"submissions": 2, "hours": 24.0}
NOW = "2019-03-04T10:00:00.123456-08:00"


def earlier_results(table, fraction, note="earlier feedback"):
    """A results.json of an earlier grading of this table: every part at ``fraction`` of its points."""
    tests = [{"name": f"{p.number} {p.title}", "number": p.number, "score": round(p.weight * fraction, 4),
              "max_score": p.weight, "status": "passed" if fraction == 1 else "failed", "output": note,
              "visibility": p.visibility} for p in table.parts]
    return {"score": round(sum(t["score"] for t in tests), 4), "output": note, "output_format": "md",
            "visibility": "visible", "stdout_visibility": "hidden", "tests": tests,
            "extra_data": {"hidden_seed": 1}}


def at(hours_before):
    return (parse_time(NOW) - timedelta(hours=hours_before)).isoformat()


def metadata(table, previous, created_at=NOW):
    """Gradescope's metadata: ``previous`` is [(hours before now, fraction of the points or a results dict)]."""
    subs = [{"submission_time": at(h), "score": r["score"] if isinstance(r, dict) else 0,
             "results": r if isinstance(r, dict) else earlier_results(table, r)} for h, r in previous]
    return {"id": 7, "created_at": created_at, "assignment": {"title": "convolutions"},
            "users": [{"email": "s@example.edu", "id": 1, "name": "A Student"}], "previous_submissions": subs}


def decision(table, previous, **kw):
    return decide(LIMIT, metadata(table, previous, **kw), lambda r: validate(r, table))


def test_times_as_gradescope_writes_them():
    t = parse_time("2018-07-01T14:22:32.365935-07:00")
    assert t == datetime.fromisoformat("2018-07-01T14:22:32.365935-07:00")
    assert parse_time("2018-07-01 14:22:32.365935123 -0700") == t  # nanoseconds, a space, no colon
    assert parse_time("2018-07-01T21:22:32.365935Z") == t
    assert parse_time("yesterday") is None and parse_time(None) is None


def test_under_the_limit_grades():
    table = load()
    # one graded in the window, one 25 h before (outside), one held back by the limit (does not count)
    held = earlier_results(table, 0.5)
    held["extra_data"][MARK] = {"kept_from": at(30)}
    d = decision(table, [(25, 0.2), (3, 0.5), (1, held)])
    assert not d.limited and d.note == ""


def test_over_the_limit_keeps_the_latest_result():
    table = load()
    d = decision(table, [(30, 1.0), (20, 0.25), (2, 0.5)])  # 2 graded in the 24 h before NOW
    assert d.limited
    data = d.results
    validate(data, table)
    jsonschema.validate(data, SCHEMA)
    assert data["score"] == earlier_results(table, 0.5)["score"]  # the latest earlier one, not the best
    assert [t["score"] for t in data["tests"]] == [t["score"] for t in earlier_results(table, 0.5)["tests"]]
    # next full grading: when the older of the two leaves the window, 20 h ago + 24 h = in 4 h
    assert "2019-03-04 14:00 (UTC-08:00)" in data["output"]
    assert "not graded" in data["output"] and "2 fully graded submissions in any 24 hours" in data["output"]
    assert data["output"].endswith("earlier feedback")  # the kept result's own feedback follows
    record = data["extra_data"][MARK]
    assert record["graded_in_window"] == 2 and record["next_full_grading"] == "2019-03-04T14:00:00.123456-08:00"
    assert data["extra_data"]["hidden_seed"] == 1


def test_a_held_back_result_is_kept_as_it_was():
    """Submitting again while limited: the result kept is the original one, its time and its feedback,
    without the earlier message stacked on top."""
    table = load()
    first = decision(table, [(20, 0.25), (2, 0.5)]).results
    again = decision(table, [(20, 0.25), (2, 0.5), (1, first)])
    assert again.limited
    out = again.results["output"]
    assert out.count("not graded") == 1 and out.endswith("earlier feedback")
    assert again.results["extra_data"][MARK]["kept_from"] == at(2)


def test_unreadable_metadata_grades_in_full_with_a_note():
    table = load()
    assert "created_at" in decision(table, [(2, 0.5), (1, 0.5)], created_at="soon").note
    assert not decide(LIMIT, None, lambda r: r).limited
    broken = metadata(table, [(2, 0.5), (1, 0.5)])
    for sub in broken["previous_submissions"]:
        sub["results"] = {"score": 3}  # not a results.json of this table
    d = decide(LIMIT, broken, lambda r: validate(r, table))
    assert not d.limited and "no earlier result" in d.note


def test_the_table_setting(tmp_path):
    table = load()
    assert table.rate_limit == {}  # off by default
    data = read()
    path = tmp_path / "cases.yaml"
    write({"rate_limit": {"submissions": 3, "hours": 12}, **data}, path)
    assert load(path).rate_limit == {"submissions": 3, "hours": 12.0}
    assert load(path).select(["conv_forward"]).rate_limit == {"submissions": 3, "hours": 12.0}
    for bad in ({"submissions": 0, "hours": 24}, {"submissions": 2}, {"submissions": 2, "hours": -1}, 3):
        write({"rate_limit": bad, **data}, path)
        with pytest.raises(ValueError, match="rate_limit"):
            load(path)


def test_run_grade_under_the_limit_grades_and_notes(tmp_path):
    path = tmp_path / "cases.yaml"
    write({"rate_limit": {"submissions": 2, "hours": 24}, **read()}, path)
    table = load(path).select(["receptive_field"])
    meta = tmp_path / "submission_metadata.json"
    meta.write_text(json.dumps(metadata(table, [(30, 0.5), (2, 0.5)])))  # one in the window
    out = tmp_path / "results.json"
    outcome = grade(ROOT / "solutions", results_path=out, table=table, metadata=meta)
    data = json.loads(out.read_text())
    jsonschema.validate(data, SCHEMA)
    assert outcome.status == "ok" and data["score"] == table.total and MARK not in data["extra_data"]
    meta.write_text("{not json")
    outcome = grade(ROOT / "solutions", results_path=out, table=table, metadata=meta)
    data = json.loads(out.read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["score"] == table.total and "rate limit not applied" in data["output"]


def test_run_autograder_over_the_limit(tmp_path, autograder_zip):  # noqa: F811
    """Gradescope's path end to end: the staff's table turns the limit on, the metadata says the student
    used it up; nothing is graded and results.json is the kept result with the message."""
    table = load()
    meta = metadata(table, [(23, 0.75), (5, 0.5)])
    data, proc = run_autograder(tmp_path, autograder_zip, ROOT / "solutions",
                                table_changes={"rate_limit": {"submissions": 2, "hours": 24}}, metadata=meta)
    assert data["score"] == earlier_results(table, 0.5)["score"] < table.total  # the reference was not graded
    assert "not graded" in data["output"] and "2019-03-04 11:00 (UTC-08:00)" in data["output"]  # 23 h ago + 24 h
    assert data["extra_data"][MARK]["graded_in_window"] == 2
