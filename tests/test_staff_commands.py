"""Small things that each cost a TA time: the `mutant` command, one rounding in the score table, and
results.json's execution_time counted from the grading's real start."""

import io
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from autograder.checking.table import load
from autograder.grading.scoretable import print_table
from autograder.run import Outcome, grade

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import mutants  # noqa: E402


def mutant_command(*args):
    return subprocess.run([sys.executable, "-m", "autograder", "mutant", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_mutant_builds_the_submission_a_test_grades(tmp_path):
    """`python -m autograder mutant NAME --out DIR` writes what tests/mutants' build writes, and says how to
    grade it; an unknown name, a folder in use and a missing --out are refused with a clear message."""
    name = sorted(p.stem for p in mutants.HERE.glob("*.py") if p.name != "__init__.py")[0]
    proc = mutant_command(name, "--out", str(tmp_path / "cli"))
    assert proc.returncode == 0, proc.stderr
    mutant = mutants.load(mutants.HERE / f"{name}.py")
    assert mutant.summary in proc.stdout and f"-m autograder grade {tmp_path / 'cli'} -v" in proc.stdout
    built = mutants.build(mutant, tmp_path / "test")
    for f in sorted(built.glob("*.py")):
        assert (tmp_path / "cli" / f.name).read_bytes() == f.read_bytes(), f.name
    listed = mutant_command("--list").stdout.split()
    assert listed == sorted(m.name for m in mutants.catalogue())
    again = mutant_command(name, "--out", str(tmp_path / "cli"))
    assert again.returncode == 2 and "not empty" in again.stderr
    unknown = mutant_command(name[:-1] + "_nope", "--out", str(tmp_path / "x"))
    assert unknown.returncode == 2 and "no mutant" in unknown.stderr and not (tmp_path / "x").exists()
    assert mutant_command(name).returncode == 2


def test_the_mutant_catalogue_names_paths_that_exist():
    """The paths the catalogue's docstring names (a stale one cost a TA time)."""
    import re

    doc = (ROOT / "tests" / "mutants" / "__init__.py").read_text(encoding="utf-8")
    named = re.findall(r"\b((?:autograder|tests|solutions)/[\w/.]+?)(?=[)\s,])", doc)
    assert named and all((ROOT / p).exists() for p in named), [p for p in named if not (ROOT / p).exists()]


def test_part_and_total_rows_share_one_rounding():
    table = load().select(["receptive_field", "dilate_kernel"])
    a, b = table.parts
    scores = [a.weight * 5 / 11, b.weight]  # 0.9090... of one part, full marks on the other
    tests = [{"name": f"{p.number} {p.title}", "number": p.number, "score": round(s, 4), "max_score": p.weight,
              "status": "failed" if s < p.weight else "passed"} for p, s in zip(table.parts, scores)]
    data = {"score": round(sum(scores), 4), "tests": tests}
    out = io.StringIO()
    print_table(Outcome(data), Console(file=out, width=120, color_system=None), table=table)
    text = out.getvalue()
    part_cell = f"{round(scores[0], 2):g}/{a.weight:g}"
    total_cell = f"{round(sum(scores), 2):g}/{table.total:g}"
    assert part_cell in text and total_cell in text, text
    assert f"{round(scores[0], 4):g}" not in text and f"{sum(scores):.1f}/" not in text, text


def test_execution_time_counts_from_the_grading_start():
    """The parts are graded before the results writer runs: execution_time still counts the whole grading."""
    start = time.monotonic()
    outcome = grade(ROOT / "solutions", parts=["dilate_kernel"], user=None)
    wall = time.monotonic() - start
    assert 0.5 * wall <= outcome.data["execution_time"] <= wall + 0.01, (outcome.data["execution_time"], wall)
