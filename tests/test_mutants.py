"""Prove the grader: every realistic student bug loses points exactly where it should,
and every correct style of solution gets full marks.

Mutants (tests/mutants/*.py) are small function-level overrides of the reference
solutions, each naming the parts it must break (EXPECTED_PARTS). Each one is
graded through the real path, ``autograder.run.grade(folder)``, and must lose
points on every expected part and keep full marks on every other part. A mutant's
NAMED says which known mistake (autograder/checking/mistakes/) the student must be told
about: a VISIBLE case of that part must recognise it, and the feedback the student
reads (results.json) must name it. Every mistake of the catalogue has such a mutant.
Each part a mutant breaks reads in one screen: its Gradescope output fits in ``mutants.BUDGET_LINES`` (40)
lines, and names the mutant's NAMED mistake within its first ``mutants.BUDGET_NAMED_BY`` (3).
Every mistake the feedback of a part names (candidates included, hidden cases too) must be the mutant's
NAMED or one its ALSO_NAMED declares: nothing points at a wrong cause.
A mutant's DIFFICULTY names the difficulty (cases.yaml `difficulties:`) its bug lives
in: the visible case that meets that difficulty alone (the coverage matrix,
autograder/checking/coverage.py) must fail, so the bug costs points on its own. A mutant's SAYS
lists text the student's feedback of a part must hold (a hidden crash located by file and line, a cause
traced to another part, where the wrong values are, the right gradients beside the wrong ones, ...).

Styles (tests/styles/*/) are complete, correct submissions written unlike the
reference: "loops" (explicit Python loops; it may lose only the GEMM speed part)
and "stride_tricks" (views, einsum, np.add.at; 100 points).

``mutants.grade_lost`` grades with ``user=None`` (parallel grades must not share
the sandbox uid: each grade's clean-up kills every process of that uid) and
re-measures a speed part lost unexpectedly (an overloaded machine slows the
student's code, not torch's short best-of-20); see tests/mutants/__init__.py.

`make mutation-report` prints the same results as a kill matrix.
"""

import re
from pathlib import Path

import mutants
import pytest

from autograder.checking.coverage import matrix
from autograder.checking.table import load

TABLE = load()
COVERAGE = {pid: {c.difficulty: c for c in cells} for pid, cells in matrix(TABLE).items()}
PART_IDS = {p.id for p in TABLE.parts}
CATALOGUE = mutants.catalogue()
STYLES = mutants.styles()
# Parts that a correct solution written with Python loops may lose: speed only.
SPEED_PARTS = mutants.TIMING_PARTS
# fcn.py builds its network from conv.py, pooling.py and transposed.py.
DEPENDENTS = {"conv": {"fcn"}, "pooling": {"fcn"}, "transposed": {"fcn"}}


def feedback(outcome, part_ids):
    """Staff view (hidden cases revealed) of the named parts, for assertion messages."""
    return "\n".join(f"--- {pid}\n{outcome.parts[pid].feedback(reveal=True)}"
                     for pid in sorted(part_ids) if pid in outcome.parts)


def test_catalogue_is_well_formed():
    assert len(CATALOGUE) >= 32
    assert len({m.name for m in CATALOGUE}) == len(CATALOGUE)
    for m in CATALOGUE:
        assert m.expected, f"{m.name}: EXPECTED_PARTS is empty"
        assert m.expected <= PART_IDS, f"{m.name}: unknown parts {sorted(m.expected - PART_IDS)}"
        reachable = {p.id for p in TABLE.parts if p.module in {m.module} | DEPENDENTS.get(m.module, set())}
        assert m.expected <= reachable, (f"{m.name} changes {m.module}.py, which cannot break "
                                         f"{sorted(m.expected - reachable)}")


def test_every_part_has_a_mutant_that_breaks_it():
    covered = set().union(*(m.expected for m in CATALOGUE))
    assert covered == PART_IDS, f"no mutant breaks {sorted(PART_IDS - covered)}"


def test_builder_appends_the_override(tmp_path):
    m = CATALOGUE[0]
    folder = mutants.build(m, tmp_path / "sub")
    for module in mutants.GRADED:
        text = (folder / f"{module}.py").read_text()
        reference = (mutants.SOLUTIONS / f"{module}.py").read_text()
        if module == m.module:
            assert text.startswith(reference) and text != reference
            assert "EXPECTED_PARTS" not in text[len(reference):]
        else:
            assert text == reference


@pytest.mark.parametrize("mutant", CATALOGUE, ids=lambda m: m.name)
def test_mutant_loses_points_exactly_where_expected(mutant, tmp_path):
    outcome, lost = mutants.grade_lost(mutants.build(mutant, tmp_path / "submission"), allowed=mutant.expected)
    survived = mutant.expected - set(lost)
    collateral = set(lost) - mutant.expected
    assert not survived, (f"{mutant.name} ({mutant.summary}) SURVIVED on {sorted(survived)}: no case of "
                          "these parts sees the bug; add a case to autograder/cases.yaml\n"
                          + feedback(outcome, survived))
    assert not collateral, (f"{mutant.name} also lost points on {sorted(collateral)} (lost: {lost}); "
                            "either EXPECTED_PARTS is incomplete or the grader is wrong\n"
                            + feedback(outcome, collateral))
    tests = {t["number"]: t for t in outcome.data["tests"]}
    for pid, name in mutant.named.items():
        result = outcome.parts[pid]
        on_visible = [c.index for c in result.cases if not c.hidden and not c.passed and name in c.mistakes]
        assert on_visible, (f"{mutant.name}: no visible case of {pid} names the mistake {name!r}; named: "
                            f"{[(c.index, c.mistakes) for c in result.cases if not c.passed]}\n"
                            + feedback(outcome, {pid}))
        student_view = plain(tests[TABLE.part(pid).number]["output"])
        assert f"[{name}]" in student_view and f"[{name}]" in plain(outcome.data["output"]), student_view
        assert f"case {on_visible[0]}: " in student_view
    for pid in sorted(mutant.expected):
        told = outcome.parts[pid].named(reveal=True)
        wrong = [m for m in told if m not in mutants.allowed_names(mutant, pid)]
        assert not wrong, (f"{mutant.name}: the feedback of {pid} names {wrong}, which NAMED and ALSO_NAMED do not "
                           "declare for this bug: a wrong cause, or a true one to declare in ALSO_NAMED\n"
                           + feedback(outcome, {pid}))
    for pid, texts in mutant.says.items():
        student_view = plain(tests[TABLE.part(pid).number]["output"])
        for text in texts:
            assert text in student_view, f"{mutant.name}: the feedback of {pid} does not say {text!r}:\n{student_view}"
    for pid, (lines, _, at) in mutants.feedback_budget(outcome, mutant).items():  # what a student reads first
        student_view = tests[TABLE.part(pid).number]["output"]
        assert lines <= mutants.BUDGET_LINES, (f"{mutant.name}: {pid}'s Gradescope output is {lines} lines, over "
                                               f"{mutants.BUDGET_LINES}:\n{student_view}")
        if pid in mutant.named:
            assert at is not None and at <= mutants.BUDGET_NAMED_BY, (
                f"{mutant.name}: {pid}'s output names {mutant.named[pid]} at line {at}, after line "
                f"{mutants.BUDGET_NAMED_BY}:\n{student_view}")
    for pid, name in mutant.difficulty.items():
        cell = COVERAGE[pid][name]
        by_index = {c.index: c for c in outcome.parts[pid].cases}
        assert any(not by_index[i].passed for i in cell.cases), (
            f"{mutant.name}: the visible case(s) {list(cell.cases)} of {pid} that meet {name} alone all passed: "
            "the bug does not cost points on its own\n" + feedback(outcome, {pid}))


def test_every_difficulty_a_mutant_names_is_isolated_by_a_visible_case():
    for m in CATALOGUE:
        for pid, name in m.difficulty.items():
            assert name in TABLE.part(pid).difficulties, f"{m.name}: {pid} does not list the difficulty {name!r}"
            assert COVERAGE[pid][name].covered, f"{m.name}: {pid}/{name} is {COVERAGE[pid][name].label()}"


def plain(markdown):
    """Markdown as it reads (the escapes of feedback.md_escape undone)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def test_every_catalogued_mistake_is_named_to_a_student_by_a_mutant():
    """Each mistake a part lists is proven by a mutant whose visible feedback names it."""
    from autograder.checking.mistakes import MISTAKES

    catalogued = {(p.id, m) for p in TABLE.parts for m in p.mistakes if not MISTAKES[m].general}
    proven = {(pid, name) for m in CATALOGUE for pid, name in m.named.items()}
    for pid, name in proven:
        assert name in TABLE.part(pid).mistakes or MISTAKES[name].structural, \
            f"{pid} does not list the mistake {name!r} a mutant names"
    for m in CATALOGUE:
        for pid, names in m.also.items():
            assert all(n in MISTAKES and not MISTAKES[n].general for n in names), (m.name, pid, names)
    missing = sorted({name for _, name in catalogued} - {name for _, name in proven})
    assert not missing, f"no mutant of tests/mutants/ proves that a student is told about {missing}"


def test_structural_evidence_names_realistic_bugs():
    """Structural entries need no part to list them; each is proven by a mutant here but an optional input left out
    (no realistic bug of this assignment's parts makes one that the catalogue's bias_missing does not name first),
    which tests/test_structure.py proves."""
    from autograder.checking.mistakes import MISTAKES

    structural = {n for n, m in MISTAKES.items() if m.structural}
    proven = {name for m in CATALOGUE for name in m.named.values()} & structural
    assert structural - proven <= {"input_ignored"}, sorted(structural - proven)


def test_there_are_two_styles():
    assert {"loops", "stride_tricks"} <= set(STYLES)


@pytest.mark.parametrize("name", sorted(STYLES))
def test_correct_style_gets_full_marks(name, tmp_path):
    allowed = SPEED_PARTS if name == "loops" else set()
    outcome, lost = mutants.grade_lost(mutants.build_style(STYLES[name], tmp_path / name), allowed=allowed)
    assert set(lost) <= allowed, f"the {name} style lost {lost}\n" + feedback(outcome, set(lost) - allowed)


def test_mutation_report_command_prints_matrix_and_summary():
    """The report tool itself (what `make mutation-report` runs), on a small subset: within 100 columns when
    piped (the README's summary line is generated by tools/docs.py from the catalogue, not quoted here)."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, str(root / "tools" / "mutation_report.py"), "conv_db_mean", "bed_of_nails_centre",
         "stride_tricks", "--jobs", "1"],
        capture_output=True, text=True, timeout=300, cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "mutants: 2 killed of 2; correct styles: 1 of 1 at 100" in proc.stdout
    too_wide = [line for line in proc.stdout.splitlines() if len(line) > 100]
    assert not too_wide, "the report is wider than 100 columns:\n" + "\n".join(too_wide)
    assert "conv_db_mean" in proc.stdout and "bed_of_nails_centre" in proc.stdout
    named = proc.stdout.split("mistakes named to the student")[1]
    assert "conv_backward: grad_mean_not_sum*" in named and "bed_of_nails: nails_not_top_left*" in named
    reads = " ".join(proc.stdout.split("what the student reads")[1].split())  # cells fold within 100 columns
    for pid in ("conv_backward", "bed_of_nails"):  # each broken part: its lines, and where the mistake is named
        m = re.search(rf"{pid}: (\d+) \(\d+\), line (\d+)\*", reads)
        assert m and int(m.group(1)) <= mutants.BUDGET_LINES and int(m.group(2)) <= mutants.BUDGET_NAMED_BY, reads
    assert "lines per broken part: median" in proc.stdout
