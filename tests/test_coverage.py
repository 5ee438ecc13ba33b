"""Every difficulty a part lists is met alone by a visible case: the part x difficulty matrix, from the table.

The case table defines the difficulties once (`difficulties:`: a text, a predicate over the quantities of a
case, the knobs it turns), each part lists those that apply to it and marks its plain case (`plain: true`).
A visible case isolates a difficulty when the predicate holds for it and not for the plain case, and it
differs from the plain case only in the knobs that difficulty turns (autograder/checking/difficulties.py,
coverage.py). Then a bug that lives in one difficulty costs points on its own, whatever else the code
cannot do; `python -m autograder coverage` shows the same matrix to staff.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from autograder.checking import difficulties as dif
from autograder.checking.coverage import advice, matrix
from autograder.checking.table import load, read

ROOT = Path(__file__).resolve().parent.parent
TABLE = load()


def not_isolated(table):
    """One message per part x difficulty that no visible case meets alone, and per layer part that lists no
    difficulties at all: what the coverage test reports."""
    messages = [f"part {p.id}: lists no difficulties (add `difficulties:` and mark a visible case plain: true)"
                for p in table.parts if p.check == "layer" and not p.difficulties]
    messages += [advice(table, cell) for cells in matrix(table).values() for cell in cells if not cell.covered]
    return messages


def copy_of_table(tmp_path, edit):
    """The shipped table read by the YAML loader, changed by ``edit(data)``, written as a copy and loaded."""
    data = read()
    edit(data)
    path = tmp_path / "cases.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load(path)


def part_of(data, pid):
    return next(p for p in data["parts"] if p["id"] == pid)


def test_every_applicable_difficulty_is_isolated_in_a_visible_case():
    missing = not_isolated(TABLE)
    assert not missing, "\n".join(missing)


def test_the_matrix_covers_the_difficulties_the_issue_names():
    """What students were seen to get wrong: the difficulties that must apply to these kinds of parts."""
    expected = {
        "conv_backward": {"nonsquare_input", "past_height", "past_width", "nonsquare_kernel", "no_padding",
                          "padding", "stride_not_dividing", "stride_gt_kernel", "overlap", "stride_pair",
                          "padding_pair", "no_bias", "one_sample", "one_channel"},
        "max_pool": {"nonsquare_kernel", "partial_window", "ties", "overlap", "stride_none"},
        "avg_pool": {"nonsquare_kernel", "partial_window"},
        "dilated_conv": {"no_padding", "dilation_pair"},
        "transposed_forward": {"nonsquare_input", "output_padding", "output_padding_pair", "dilation"},
        "transposed_backward": {"nonsquare_input", "output_padding"},
        "max_unpool": {"ties", "output_size", "overlap"},
    }
    for pid, names in expected.items():
        assert names <= set(TABLE.part(pid).difficulties), (pid, sorted(names - set(TABLE.part(pid).difficulties)))


def test_the_test_fails_naming_part_difficulty_and_case_to_add(tmp_path):
    """A copy of the table without the visible case that isolates max_pool's partial window (the 7x7 input in
    2x2 windows): the check names the part, the difficulty, where it still appears, and what to add."""
    cell = next(c for c in matrix(TABLE)["max_pool"] if c.difficulty == "partial_window")
    assert cell.status == "isolated"

    def drop(data):
        part = part_of(data, "max_pool")
        part["cases"] = [c for i, c in enumerate(part["cases"], 1) if i not in cell.cases]

    messages = not_isolated(copy_of_table(tmp_path, drop))
    assert len(messages) == 1, messages
    text = messages[0]
    assert text.startswith("part max_pool: no visible case isolates the difficulty partial_window")
    assert "it only appears combined" in text and "(hidden)" in text  # the hidden 7x6 case with padding
    assert "Add a visible case (with a seed) equal to the plain case" in text and "except in input" in text


def test_a_layer_part_without_difficulties_fails_the_test(tmp_path):
    def strip(data):
        part = part_of(data, "im2col")
        del part["difficulties"]
        for case in part["cases"]:
            case.pop("plain", None)

    assert not_isolated(copy_of_table(tmp_path, strip)) == [
        "part im2col: lists no difficulties (add `difficulties:` and mark a visible case plain: true)"]


def test_a_hidden_case_or_a_second_knob_does_not_isolate(tmp_path):
    """The isolating case made hidden: "hidden only", named as hidden (never "combined only"); given one more
    departure (a batch of one): combined only. Neither counts as covered."""
    cell = next(c for c in matrix(TABLE)["avg_pool"] if c.difficulty == "nonsquare_kernel")
    (index,) = cell.cases
    for change, status in (({"hidden": True}, "hidden"), ({"x": [1, 2, 6, 6]}, "combined"),
                           ({"hidden": True, "x": [1, 2, 6, 6]}, "combined")):
        def edit(data, change=change):
            part_of(data, "avg_pool")["cases"][index - 1].update(change)

        table = copy_of_table(tmp_path, edit)
        after = next(c for c in matrix(table)["avg_pool"] if c.difficulty == "nonsquare_kernel")
        assert after.status == status and index in after.cases and not after.covered, (change, after)
        assert (index in after.hidden) == ("hidden" in change), (change, after)
        if status == "hidden":
            assert after.label() == f"hidden only (case {index}h)"
            (message,) = not_isolated(table)
            assert f"hidden case {index} isolates it" in message and "Add a visible case" in message, message


def test_a_difficulty_the_plain_case_already_has_is_covered_by_it():
    cell = next(c for c in matrix(TABLE)["conv_backward"] if c.difficulty == "no_padding")
    plain = dif.plain_case(TABLE.part("conv_backward"))
    assert cell.status == "plain" and cell.cases == (plain[0],)
    assert not plain[1].get("hidden") and plain[1].get("padding", 0) == 0


def test_plain_cases_are_the_simplest_geometry():
    """Square input and kernel, options as scalars, a bias: what every isolating case departs from."""
    for part in TABLE.parts:
        if not part.difficulties:
            continue
        index, case = dif.plain_case(part)
        q, knobs = dif.measure(part, case)
        where = f"{part.id} case {index}"
        assert q.get("H") == q.get("W") and q.get("KH") == q.get("KW"), where
        assert not any("pair" in f for f in knobs["form"]), where
        assert q.get("bias", True) and not q.get("ties") and not q.get("constant"), where
        assert q.get("N", 2) > 1 and q.get("C", 2) > 1, where


# ----------------------------------------------------------------- the table's validation
@pytest.mark.parametrize("edit, message", [
    (lambda d: part_of(d, "fcn")["difficulties"].append("no_such_thing"), "unknown difficulty 'no_such_thing'"),
    (lambda d: part_of(d, "nearest")["difficulties"].append("nonsquare_kernel"),
     "difficulty nonsquare_kernel does not apply: case 1 has no quantity KH"),
    (lambda d: d["difficulties"]["ties"].update(when="ties and __import__('os')"), "Call is not allowed"),
    (lambda d: d["difficulties"]["ties"].update(when="tie"), "unknown quantity 'tie'"),
    (lambda d: d["difficulties"]["ties"].update(turns=["colour"]), "unknown knobs ['colour']"),
    (lambda d: d["difficulties"]["ties"].pop("text"), "difficulty ties: give exactly text, when and turns"),
])
def test_a_wrong_entry_stops_the_table_with_its_name(tmp_path, edit, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
                       .replace("]", r"\]")):
        copy_of_table(tmp_path, edit)


def test_without_one_visible_plain_case_the_table_grades_but_the_coverage_test_fails(tmp_path):
    """The plain case is coverage's business, never the grader's: a table cut down to a few cases (as
    tests/test_batch.py does) still loads; the matrix says what to mark."""
    def unmark(data):
        for case in part_of(data, "fcn")["cases"]:
            case.pop("plain", None)

    table = copy_of_table(tmp_path, unmark)
    cells = matrix(table)["fcn"]
    assert {c.status for c in cells} == {"no plain"} and len(cells) == len(table.part("fcn").difficulties)
    assert any("part fcn: no plain case: mark one visible case plain: true" in m for m in not_isolated(table))

    def twice(data):
        part_of(data, "fcn")["cases"][1]["plain"] = True

    cells = matrix(copy_of_table(tmp_path, twice))["fcn"]
    assert cells[0].label() == "several plain cases (1, 2): keep one", cells[0]


def test_a_hidden_copy_of_the_plain_case_is_no_second_plain_case(tmp_path):
    """A TA copies the plain case into a hidden one (tests/test_extending.py does): nothing else to edit."""
    def copy_hidden(data):
        part = part_of(data, "bed_of_nails")
        part["cases"].append(dict(next(c for c in part["cases"] if c.get("plain")), seed=4242, hidden=True))

    table = copy_of_table(tmp_path, copy_hidden)
    assert dif.plain_case(table.part("bed_of_nails")) == dif.plain_case(TABLE.part("bed_of_nails"))
    assert not not_isolated(table)


# ----------------------------------------------------------------- the predicate language
@pytest.mark.parametrize("text, values, expected", [
    ("H != W", {"H": 5, "W": 5}, False),
    ("(W_out - 1) * sw >= H", {"W_out": 4, "sw": 2, "H": 6}, True),
    ("rest_h > 0 or rest_w > 0", {"rest_h": 0, "rest_w": 1}, True),
    ("not bias", {"bias": True}, False),
    ("1 < sh <= 3", {"sh": 3}, True),
    ("H % 2 == 1 and -W < 0", {"H": 7, "W": 2}, True),
    ("N // 2 == 0", {"N": 1}, True),
])
def test_predicates_evaluate_as_python_would(text, values, expected):
    tree = dif.parse(text)
    assert dif.evaluate(tree, values) is expected
    assert eval(compile(text, "<predicate>", "eval"), {"__builtins__": {}}, dict(values)) == expected  # noqa: S307


@pytest.mark.parametrize("text", ["H.real > 0", "max(H, W) > 3", "[H][0]", "'a' < 'b'", "lambda: 1",
                                  "H if W else N", "H ** 9999", "(H := 3)", "H; W"])
def test_anything_but_names_numbers_and_operators_is_refused(text):
    with pytest.raises(ValueError):
        dif.parse(text)


def test_a_predicate_names_a_quantity_the_case_lacks():
    with pytest.raises(dif.Unknown):
        dif.evaluate(dif.parse("KH != KW"), {"H": 3, "W": 3})


def test_every_quantity_knob_and_key_is_documented():
    """docs/EXTENDING.md (the table's reference, which survives any rewrite of cases.yaml) names every key of a
    part and lists every quantity and knob (its generated block, kept current by tools/docs.py)."""
    from dataclasses import fields

    from autograder.checking.table import Part

    doc = (ROOT / "docs" / "EXTENDING.md").read_text(encoding="utf-8")
    keys = doc.split("## The case table's keys")[1].split("\n## ")[0]
    for f in fields(Part):
        assert f"`{f.name}`" in keys, f"the part key {f.name} is not described in docs/EXTENDING.md"
    block = doc.split("<!-- quantities -->")[1].split("<!-- /quantities -->")[0]
    for name in [*dif.QUANTITIES, *dif.KNOBS]:
        assert f"| `{name}` |" in block, f"{name} is not in docs/EXTENDING.md's quantities: run `make docs`"


# ----------------------------------------------------------------- the command
def run_coverage(*args):
    code = ("import sys; from autograder.cli import main; rc = main(sys.argv[1:]); "
            "assert 'torch' not in sys.modules, 'coverage imported torch'; sys.exit(rc)")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def test_the_coverage_command_prints_every_part_and_difficulty_without_torch():
    proc = run_coverage("coverage", "--check", "--width", "100")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    for part in TABLE.parts:
        assert any(line.startswith(f"│ {part.id} ") for line in lines), part.id  # never cut
    cells = [c for cs in matrix(TABLE).values() for c in cs]
    assert f"{len(cells)} of {len(cells)} part x difficulty cells isolated in a visible case" in proc.stdout
    assert "gemm_efficiency" in proc.stdout and "(no difficulties listed)" in proc.stdout
    assert "  partial_window: rest_h > 0 or rest_w > 0  (turns input)" in proc.stdout  # the legend
    def cells_of(line):
        return [c.strip() for c in line.strip().strip("│").split("│")]

    quoted = [cells_of(line) for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
              if line.startswith("    │ ")]
    printed = [cells_of(line) for line in lines if line.startswith("│ ")]
    assert quoted and all(row in printed for row in quoted), "the README's excerpt of the matrix is stale: make docs"


def test_the_coverage_command_shows_what_is_missing(tmp_path):
    def drop(data):
        part = part_of(data, "fc_to_conv")
        part["cases"] = [c for c in part["cases"] if c.get("bias", True) or c.get("hidden")]

    table = copy_of_table(tmp_path, drop)
    hidden = [i for i, c in enumerate(table.part("fc_to_conv").cases, 1) if c.get("bias") is False]
    assert len(hidden) == 1 and table.part("fc_to_conv").cases[hidden[0] - 1].get("hidden")
    proc = run_coverage("--table", str(tmp_path / "cases.yaml"), "coverage", "--check", "--no-legend",
                        "--width", "100")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"combined only (cases {hidden[0]}h)" in proc.stdout
    assert "not isolated: fc_to_conv/no_bias" in proc.stdout
    assert run_coverage("--table", str(tmp_path / "cases.yaml"), "coverage").returncode == 0  # --check only


def test_list_never_cuts_a_part_id():
    """`python -m autograder list` on an 80-column terminal: every id, what one types, whole on its line."""
    proc = subprocess.run([sys.executable, "-m", "autograder", "list"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    for part in TABLE.parts:
        assert any(re.search(rf"\s{re.escape(part.id)}\s", line) for line in lines), \
            f"part {part.id} of cases.yaml: its id is cut in `list`:\n{proc.stdout}"
