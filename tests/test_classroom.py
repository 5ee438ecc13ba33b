"""GitHub Classroom: the workflow `python -m autograder classroom-workflow` prints lists every part of the
handout's table with its points, one command-grader step each, and the reporter reads every step; the steps'
own commands, run as GitHub's command grader runs them (sh, PATH and HOME only) in an unpacked handout, exit 0
exactly at full marks on their part, printing the feedback either way."""

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from autograder.checking.table import Table, load
from autograder.grading import classroom
from tests.mutants import build as build_mutant

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import build_handout  # noqa: E402

TABLE = load().visible_only()  # what the student's repository (the handout) grades with


@pytest.fixture(scope="module")
def workflow():
    proc = subprocess.run([sys.executable, "-m", "autograder", "classroom-workflow"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(classroom.HEADER)
    return yaml.safe_load(proc.stdout)


def graders(workflow):
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    return [s for s in steps if s.get("uses") == classroom.COMMAND_GRADER], steps


def test_one_step_per_part_with_its_points(workflow):
    steps, every = graders(workflow)
    assert [s["id"] for s in steps] == [p.id for p in TABLE.parts]
    for step, part in zip(steps, TABLE.parts):
        assert step["name"] == step["with"]["test-name"] == f"{part.number} {part.title}"
        assert step["with"]["max-score"] == part.weight and isinstance(step["with"]["max-score"], int)
        assert step["with"]["command"] == (f"PYTHONPATH=_grader python -m autograder grade . --parts {part.id} "
                                           "--require-full")
        assert step["with"]["timeout"] == classroom.timeout_minutes(TABLE) >= 9
    assert sum(s["with"]["max-score"] for s in steps) == TABLE.total == load().total
    reporter = every[-1]
    assert reporter["uses"] == classroom.REPORTER
    assert reporter["with"]["runners"] == ",".join(p.id for p in TABLE.parts)
    assert reporter["env"] == {f"{p.id.upper()}_RESULTS": f"${{{{steps.{p.id}.outputs.result}}}}" for p in TABLE.parts}
    assert workflow["on"] == ["push", "workflow_dispatch", "repository_dispatch"]
    setup = next(s for s in every if "run" in s)
    assert "bubblewrap" in setup["run"] and "python -m pip install -r requirements.txt" in setup["run"]
    assert every.index(setup) < every.index(steps[0])
    python = next(s for s in every if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "3.10"


def test_a_fractional_weight_is_refused():
    part = dataclasses.replace(TABLE.parts[0], weight=2.5)
    table = Table([part, *TABLE.parts[1:]], TABLE.limits, TABLE.path, TABLE.rate_limit, TABLE.difficulties)
    with pytest.raises(ValueError, match="whole points"):
        classroom.workflow(table)


# ----------------------------------------------------------------- the steps' commands in a student repository
@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    return build_handout.build(tmp_path_factory.mktemp("dist") / "handout.zip", check_stubs=False)


def repository(handout, dest, submission=None):
    """The student's repository: the unpacked handout, the graded files of ``submission`` over its stubs."""
    with zipfile.ZipFile(handout) as zf:
        zf.extractall(dest)
    folder = Path(dest) / build_handout.TOP
    for f in Path(submission).glob("*.py") if submission else []:
        if f.name != "common.py":
            shutil.copyfile(f, folder / f.name)
    return folder


# this test run's own sandbox users (tests/conftest.py): the only CONVGRADE_ setting a step keeps
RUN_NAMES = {k: os.environ[k] for k in ("CONVGRADE_SANDBOX_USER",) if k in os.environ}


def run_step(folder, command):
    """As the command grader runs a step: through sh, with PATH (this venv's python first) and HOME only."""
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"),
           "FORCE_COLOR": "true", **RUN_NAMES}
    return subprocess.run(command, shell=True, cwd=folder, env=env, capture_output=True, text=True, timeout=600)


def command_of(workflow, part_id):
    steps, _ = graders(workflow)
    return next(s["with"]["command"] for s in steps if s["id"] == part_id)


def test_reference_passes_and_stubs_fail_each_step(workflow, handout, tmp_path):
    solved = repository(handout, tmp_path / "solved", ROOT / "solutions")
    stubs = repository(handout, tmp_path / "stubs")
    for pid in ("conv_forward", "receptive_field"):
        ok = run_step(solved, command_of(workflow, pid))
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert re.search(rf"{re.escape(TABLE.part(pid).number)} .*pass", ok.stdout)
        bad = run_step(stubs, command_of(workflow, pid))
        assert bad.returncode == 1, bad.stdout + bad.stderr  # not 2 (arguments) nor 3 (sandbox refused)
        assert "not implemented yet" in bad.stdout and "not at full marks: 0 /" in bad.stdout


def test_partial_credit_is_not_full_marks(workflow, handout, tmp_path):
    folder = repository(handout, tmp_path / "mutant", build_mutant("conv_bias_added_twice", tmp_path / "m"))
    partial = run_step(folder, command_of(workflow, "conv_forward"))
    assert partial.returncode == 1, partial.stdout + partial.stderr
    weight = TABLE.part("conv_forward").weight
    got = re.search(rf"not at full marks: ([\d.]+) / {weight:g}", partial.stdout)
    assert got and 0 < float(got.group(1)) < weight  # the cases without a bias pass: points there, none here
    assert "likely mistake: bias added twice [bias_twice]" in partial.stdout
    assert run_step(folder, command_of(workflow, "conv_backward")).returncode == 0


def test_require_full_over_every_part(tmp_path):
    ids = [p.id for p in load().parts]
    base = [sys.executable, "-m", "autograder", "grade"]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CONVGRADE_")}, **RUN_NAMES}
    ok = subprocess.run(base + [str(ROOT / "solutions"), "--require-full", "--parts", *ids], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=600)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = subprocess.run(base + [str(ROOT / "assignment"), "--require-full"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode == 1 and "not implemented yet" in bad.stdout
    plain = subprocess.run(base + [str(ROOT / "assignment"), "--parts", "dilate_kernel"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=600)
    assert plain.returncode == 0  # without --require-full the exit status says nothing about the score
    unknown = subprocess.run(base + [str(ROOT / "solutions"), "--require-full", "--parts", "nope"], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=600)
    assert unknown.returncode == 2
