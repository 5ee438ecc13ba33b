"""A TA adds a graded part with its files alone: docs/EXTENDING.md's worked example, run.

In a temporary copy of the project, the example's four files go in exactly as docs/EXTENDING.md shows them:
solutions/example_grouped.py, its entry appended to autograder/cases.yaml (through the table's API: the
table is data, never text), a topic module of known mistakes and a mutant. Then `make stubs docs`, and the
reference (full marks on the new total), the stubs (zero, every part listed), the coverage of its
difficulties, the mutant (killed, its mistake named by a visible case), the READMEs, the API index and
the handout all pick it up, with no other file touched. The example's names (example_..., number 99) are
kept for it: no real part, module, mistake or mutant may take them, so the example can be added to any
project, one with a real grouped convolution included. A TA's edit of weights and cases needs no other edit
either, and a table rewritten by a YAML library is the same table.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from autograder.checking.table import add_parts, entries, load, read, write

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / ".venv-worker" / "bin" / "python"
DOC = ROOT / "docs" / "EXTENDING.md"
PREFIX, MAJOR = "example_", "99"  # kept for the worked example: no real part takes them
TABLE_BLOCK = "autograder/cases.yaml (parts)"


def example_files():
    """{path: text} of the worked example's files, as docs/EXTENDING.md shows them (its table entry under
    TABLE_BLOCK)."""
    text = DOC.read_text(encoding="utf-8")
    found = re.findall(r"^<!-- example-file: (.+?) -->\n```\w*\n(.*?)^```$", text, re.S | re.M)
    assert found, "docs/EXTENDING.md lost its worked example (<!-- example-file: PATH --> before each file)"
    return dict(found)


EXAMPLE = example_files()
SOLUTION = next(p for p in EXAMPLE if p.startswith("solutions/"))
MODULE = Path(SOLUTION).stem
MUTANT = next(p for p in EXAMPLE if p.startswith("tests/mutants/"))
MISTAKES_FILE = next(p for p in EXAMPLE if p.startswith("autograder/checking/mistakes/"))
ENTRY = entries(EXAMPLE[TABLE_BLOCK])[0]


def copy_project(dest):
    ignore = shutil.ignore_patterns(".venv*", ".git", "dist", "__pycache__", "*.pyc", "grades", "bench.json")
    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


def make(project, *targets):
    """Run make targets in the copy with this interpreter (its venv stamp counts as made)."""
    proc = subprocess.run(["make", "-o", ".venv/.installed", f"PY={sys.executable}", *targets], cwd=project,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def env():
    out = dict(os.environ)
    if WORKER.exists():
        out["CONVGRADE_WORKER_PYTHON"] = str(WORKER)
    return out


def grade(project, folder, results):
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", folder, "--results", str(results)],
                          cwd=project, capture_output=True, text=True, timeout=600, env=env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(Path(results).read_text())


def add_example(project):
    """The worked example's four files, as a TA writes them (the table entry through the table's API)."""
    for path, text in EXAMPLE.items():
        if path != TABLE_BLOCK:
            (project / path).write_text(text, encoding="utf-8")
    add_parts(project / "autograder" / "cases.yaml", EXAMPLE[TABLE_BLOCK])


@pytest.fixture(scope="module")
def extended(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("extend") / "convgrade")
    add_example(project)
    make(project, "stubs", "docs")
    return project


def test_the_example_names_are_kept_for_it():
    """No real part, module, mistake, mutant or solution takes the example's names or number, and the example
    uses only those: adding it never collides with the project (a real grouped convolution included)."""
    from autograder.checking.mistakes import MISTAKES

    table = load()
    taken = [f"part {p.id} ({p.number})" for p in table.parts
             if p.id.startswith(PREFIX) or p.number.split(".")[0] == MAJOR or p.module.startswith(PREFIX)]
    taken += [f"mistake {m}" for m in MISTAKES if m.startswith(PREFIX)]
    taken += [f"{p.relative_to(ROOT)}" for folder in ("solutions", "tests/mutants", "autograder/checking/mistakes")
              for p in (ROOT / folder).glob(f"{PREFIX}*.py")]
    assert not taken, (f"{', '.join(taken)}: the prefix {PREFIX!r} and the part number {MAJOR}.x are kept for "
                       "docs/EXTENDING.md's worked example (tests/test_extending.py adds it): rename")
    assert ENTRY["id"].startswith(PREFIX) and str(ENTRY["number"]).split(".")[0] == MAJOR
    assert all(name.startswith(PREFIX) for name in (MODULE, Path(MUTANT).stem, Path(MISTAKES_FILE).stem))
    assert all(m.startswith(PREFIX) for m in re.findall(r'@mistake\("(\w+)"', EXAMPLE[MISTAKES_FILE]))
    assert sorted(EXAMPLE) == sorted([SOLUTION, TABLE_BLOCK, MISTAKES_FILE, MUTANT]), \
        "the worked example is four files: the solution, the table entry, the mistakes, the mutant"


def test_the_new_part_is_in_the_table_and_the_module_list(extended):
    # loaded in the copy's own interpreter: its mistakes module is not this process's
    code = ("import json; from autograder.checking.table import load; t = load(); "
            "print(json.dumps([t.total, t.modules, [[p.id, p.weight, p.mistakes] for p in t.parts]]))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=extended, capture_output=True, text=True, env=env())
    assert proc.returncode == 0, proc.stderr
    total, modules, parts = json.loads(proc.stdout)
    assert modules[-1] == MODULE
    assert total == load().total + ENTRY["weight"]
    pid, weight, mistakes = parts[-1]
    assert (pid, weight) == (ENTRY["id"], ENTRY["weight"])
    assert mistakes[0].startswith(PREFIX) and "kernel_flipped" in mistakes, \
        f"part {pid}: its mistakes extend the template's list (docs/EXTENDING.md), got {mistakes}"


def test_make_stubs_writes_the_new_stub(extended):
    stub = (extended / "assignment" / f"{MODULE}.py").read_text()
    assert "def grouped_conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1, groups=1)" in stub
    assert "BEGIN SOLUTION" not in stub and "NotImplementedError" in stub


def test_reference_scores_the_new_total(extended, tmp_path):
    data = grade(extended, "solutions", tmp_path / "ref.json")
    assert data["score"] == pytest.approx(load().total + ENTRY["weight"])
    new = next(t for t in data["tests"] if t["number"] == ENTRY["number"])
    assert new["score"] == ENTRY["weight"], f"part {ENTRY['id']} of docs/EXTENDING.md:\n{new['output']}"


def test_stubs_score_zero_on_every_part(extended, tmp_path):
    data = grade(extended, "assignment", tmp_path / "stubs.json")
    assert data["score"] == 0
    assert [t["number"] for t in data["tests"]] == [p.number for p in load().parts] + [ENTRY["number"]]
    new = next(t for t in data["tests"] if t["number"] == ENTRY["number"])
    assert "not implemented yet" in new["output"]


def test_the_first_make_test_passes_for_the_new_part(extended):
    """What `make test` runs that concerns the new part, in the copy: the tests of the table (every difficulty
    isolated, its mistakes' words, the stubs, the documentation current), and its mutant killed with its mistake
    named, every mistake proven by a mutant (the other mutants: tests/test_mutants.py here)."""
    fast = ["tests/test_coverage.py", "tests/test_readme.py", "tests/test_stubs.py", "tests/test_mistakes.py",
            "tests/test_architecture.py", "tests/test_submission_zip.py"]
    mutant = ["-rA", "tests/test_mutants.py", "-k", f"{Path(MUTANT).stem} or catalogue or catalogued or every"]
    for args in (fast, mutant):
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", *args], cwd=extended, capture_output=True,
                              text=True, timeout=900, env=env())
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert f"PASSED tests/test_mutants.py::test_mutant_loses_points_exactly_where_expected[{Path(MUTANT).stem}]" \
        in proc.stdout, "the example's mutant was not graded"


def test_docs_and_handout_pick_it_up(extended):
    assert f"{MODULE}.py" in (extended / "README.md").read_text()
    visible = sum(1 for c in ENTRY["cases"] if not c.get("hidden"))
    hidden = len(ENTRY["cases"]) - visible
    row = f"| {ENTRY['number']} | {ENTRY['title']} | {MODULE}.py | {ENTRY['weight']:g} | {visible} | {hidden} |"
    assert row in (extended / "assignment" / "README.md").read_text()
    index = (extended / "docs" / "API.md").read_text().split("## Index of graded functions")[1]
    assert f"`{MODULE}.py`: `grouped_conv2d_forward(" in index and "(not in the contract)" in index
    make(extended, "handout")
    with zipfile.ZipFile(extended / "dist" / "handout.zip") as zf:
        names = zf.namelist()
        shipped = yaml.safe_load(zf.read(next(n for n in names if n.endswith("_grader/autograder/cases.yaml"))))
        readme = zf.read(next(n for n in names if n.endswith("conv-assignment/README.md"))).decode()
    assert any(n.endswith(f"/{MODULE}.py") and "_grader" not in n for n in names)
    part = next(p for p in shipped["parts"] if p["id"] == ENTRY["id"])
    assert [c["seed"] for c in part["cases"]] == [c["seed"] for c in ENTRY["cases"] if not c.get("hidden")]
    assert f"{MODULE}.py" in readme


def test_an_unknown_solution_module_stops_make_stubs(tmp_path):
    project = copy_project(tmp_path / "convgrade")
    (project / SOLUTION).write_text(EXAMPLE[SOLUTION])  # no table entry
    proc = subprocess.run([sys.executable, "tools/make_stubs.py", "--check"], cwd=project, capture_output=True,
                          text=True)
    assert proc.returncode != 0
    assert f"{SOLUTION} has solution markers but no part" in proc.stdout + proc.stderr


def test_a_table_rewritten_by_a_yaml_library_is_the_same_table(tmp_path):
    """yaml.safe_dump of yaml.safe_load (comments and anchors gone, lists re-indented): the same parts."""
    path = tmp_path / "cases.yaml"
    path.write_text(yaml.safe_dump(yaml.safe_load((ROOT / "autograder" / "cases.yaml").read_text()),
                                   sort_keys=False), encoding="utf-8")
    ours, theirs = load(), load(path)
    assert [p.__dict__ for p in theirs.parts] == [p.__dict__ for p in ours.parts]
    assert theirs.difficulties.keys() == ours.difficulties.keys() and theirs.limits == ours.limits
    assert entries(EXAMPLE[TABLE_BLOCK], path) == entries(EXAMPLE[TABLE_BLOCK])  # templates by name, not anchor


def test_weights_and_cases_change_with_one_edit(tmp_path):
    """A TA raises one weight and adds a hidden case elsewhere, in the table's data: the reference scores the
    new total and the generated documentation follows after `make docs`."""
    project = copy_project(tmp_path / "convgrade")
    path = project / "autograder" / "cases.yaml"
    table = load(path)
    data = read(path)
    parts = {p["id"]: p for p in data["parts"]}
    first, other = table.parts[0], table.part("bed_of_nails")
    parts[first.id]["weight"] = first.weight + 10
    parts[other.id]["cases"] = list(parts[other.id]["cases"]) + [dict(other.cases[0], seed=4242, hidden=True)]
    write(data, path)
    edited = load(path)
    assert edited.total == table.total + 10, f"part {first.id}: its weight did not change"
    assert len(edited.part(other.id).cases) == len(other.cases) + 1, f"part {other.id}: the case was not added"
    make(project, "docs")
    assert subprocess.run([sys.executable, "tools/docs.py", "--check"], cwd=project).returncode == 0
    data = grade(project, "solutions", tmp_path / "r.json")
    assert data["score"] == pytest.approx(edited.total)
