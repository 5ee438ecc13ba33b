"""The GEMM speed part's Gradescope leaderboard entry: its time as a multiple of torch's, lower is better.

The table switches it (a part's ``leaderboard:`` names the column); the checker records the ratio as data
on the case (CaseResult.metrics), only for a measurement it trusts (the case's results were right). Every
results.json is checked against Gradescope's results schema.
"""

import json
from pathlib import Path

import jsonschema
import mutants
import pytest

from autograder.checking.table import load
from autograder.run import grade

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "tests" / "gradescope_results.schema.json").read_text())
PART = "gemm_efficiency"


def graded(submission, table, tmp_path):
    out = tmp_path / "results.json"
    outcome = grade(submission, results_path=out, table=table, parts=[PART])
    data = json.loads(out.read_text())
    jsonschema.validate(data, SCHEMA)
    return outcome, data


def table_from(tmp_path, edit):
    """The real table with one edit, written as YAML and loaded back (as course staff would change it)."""
    table = load()
    edit(table)
    path = tmp_path / "cases.yaml"
    path.write_text(table.to_yaml())
    return load(path)


def test_reference_reports_its_ratio(tmp_path):
    table = load()
    part = table.part(PART)
    assert part.leaderboard  # on in the shipped table
    outcome, data = graded(ROOT / "solutions", table, tmp_path)
    assert data["score"] == part.weight
    (entry,) = data["leaderboard"]
    assert entry["name"] == part.leaderboard and entry["order"] == "asc"
    ratio = outcome.parts[PART].cases[0].metrics["time_vs_torch"]
    assert entry["value"] == ratio and 0 < ratio <= part.cases[0]["max_ratio"]
    assert "x torch" in data["tests"][0]["output"] or "x (limit" in data["tests"][0]["output"]


def test_slow_but_correct_is_ranked_wrong_is_not(tmp_path):
    table = load()
    part = table.part(PART)
    slow = mutants.build("gemm_with_loops", tmp_path / "slow")
    _, data = graded(slow, table, tmp_path)
    assert data["score"] == 0  # over the limit: no points, but an honest measurement
    (entry,) = data["leaderboard"]
    assert entry["value"] > part.cases[0]["max_ratio"]
    wrong = mutants.build("gemm_ignores_bias", tmp_path / "wrong")
    _, data = graded(wrong, table, tmp_path)
    assert data["score"] == 0 and "leaderboard" not in data  # not measured: no entry, never a made-up value


def test_switched_off_in_the_table(tmp_path):
    def off(table):
        table.part(PART).leaderboard = ""

    table = table_from(tmp_path, off)
    assert table.part(PART).leaderboard == ""
    _, data = graded(ROOT / "solutions", table, tmp_path)
    assert data["score"] == table.part(PART).weight and "leaderboard" not in data


def test_renamed_in_the_table(tmp_path):
    def rename(table):
        table.part(PART).leaderboard = "im2col speed"

    _, data = graded(ROOT / "solutions", table_from(tmp_path, rename), tmp_path)
    assert [e["name"] for e in data["leaderboard"]] == ["im2col speed"]


def test_only_a_measuring_checker_can_feed_a_leaderboard(tmp_path):
    def on_a_layer(table):
        table.part("conv_forward").leaderboard = "conv speed"

    with pytest.raises(ValueError, match="leaderboard"):
        table_from(tmp_path, on_a_layer)
