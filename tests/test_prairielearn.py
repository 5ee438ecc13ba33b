"""PrairieLearn's external grader: results.json against a JSON schema of PrairieLearn's documented format
(tests/prairielearn_results.schema.json), the same points and feedback as Gradescope's from one grading,
``gradable: false`` for a submission of which nothing can be graded, the command, the container's entrypoint
(run on this machine with the paths pointed at a folder laid out like /grade), and the image's Dockerfile and
build folder (no Docker engine here: what can be checked without building it)."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from autograder.checking.table import load
from autograder.grading import environment as env
from autograder.grading import prairielearn
from autograder.run import grade
from tests.mutants import build as build_mutant
from tests.test_feedback import markdown_lines, text_lines

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import build_prairielearn  # noqa: E402

SCHEMA = json.loads((ROOT / "tests" / "prairielearn_results.schema.json").read_text())
PLATFORM = ROOT / "autograder" / "prairielearn"
TABLE = load()
WORKER = ROOT / ".venv-worker" / "bin" / "python"
MUTANT = "conv_backward_interior_only"  # loses points in conv_backward, dilated_conv, fcn; names dx_border_zero


def pl_results(outcome, table=TABLE):
    data = prairielearn.validate(prairielearn.results(outcome.data, outcome.parts, outcome.summary,
                                                      outcome.ungradable, table))
    jsonschema.validate(data, SCHEMA)
    return data


@pytest.fixture(scope="module")
def mutant_grading(tmp_path_factory):
    folder = build_mutant(MUTANT, tmp_path_factory.mktemp("mutant"))
    outcome = grade(folder, parts=["conv_forward", "conv_backward", "dilated_conv", "fcn"])
    return outcome, pl_results(outcome, TABLE.select(["conv_forward", "conv_backward", "dilated_conv", "fcn"]))


def test_same_points_and_feedback_as_gradescope(mutant_grading):
    outcome, pl = mutant_grading
    gradescope = outcome.data
    assert pl["gradable"] is True
    possible = sum(t["max_score"] for t in gradescope["tests"])
    assert pl["score"] == pytest.approx(gradescope["score"] / possible) and 0 < pl["score"] < 1
    assert [t["name"] for t in pl["tests"]] == [t["name"] for t in gradescope["tests"]]
    for ours, theirs in zip(pl["tests"], gradescope["tests"]):
        part = next(p for p in TABLE.parts if p.number == theirs["number"])
        assert (ours["points"], ours["max_points"]) == (theirs["score"], theirs["max_score"]), part.id
        # the same feedback, Markdown there and text here: line for line the same words (hidden cases included)
        assert ours["output"] == outcome.parts[part.id].feedback(fmt="text")
        assert markdown_lines(theirs["output"]) == text_lines(ours["output"]), part.id
        assert ours["description"] == f"{part.module}.py"
    by_name = {t["name"].split(" ", 1)[1]: t for t in pl["tests"]}
    assert by_name["conv2d_forward"]["message"].startswith("passed: ")
    assert re.match(r"^cases? [\d, -]+: the border of dx left at zero$", by_name["conv2d_backward"]["message"])
    assert any("(hidden)" in t["output"] for t in pl["tests"])
    # the summary: the same lines as Gradescope's (bullets aside), the mistakes recognised listed
    assert markdown_lines(gradescope["output"]) == [line.removeprefix("- ") for line in text_lines(pl["output"])]
    assert "[dx_border_zero]" in pl["output"] and pl["message"] == f"Total: {gradescope['score']:g} / {possible:g}"


def test_nothing_graded_when_no_graded_file_can_be_used(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("my answers are in the other upload\n")
    broken = tmp_path / "broken"
    broken.mkdir()
    for m in TABLE.modules:
        (broken / f"{m}.py").write_text("def oops(:\n")
    for folder, why in ((empty, "conv.py was not found in the submission"),
                        (broken, "conv.py has a syntax error on line 1")):
        outcome = grade(folder)
        pl = pl_results(outcome)
        assert pl["gradable"] is False and "score" not in pl and "tests" not in pl
        assert pl["message"].startswith("Nothing was graded and no attempt was used: no graded file could be used")
        assert why in pl["message"] and pl["format_errors"] == [pl["message"]]
    not_a_zip = tmp_path / "upload.zip"
    not_a_zip.write_bytes(b"PK\x03\x04 not really a zip")
    pl = pl_results(grade(not_a_zip))
    assert pl["gradable"] is False and "upload.zip is neither a folder nor a zip file" in pl["message"]


def test_one_usable_file_is_gradable(tmp_path):
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copyfile(ROOT / "solutions" / "dilated.py", folder / "dilated.py")
    pl = pl_results(grade(folder, parts=["conv_forward", "dilate_kernel"]))
    share = TABLE.part("dilate_kernel").weight / TABLE.select(["conv_forward", "dilate_kernel"]).total
    assert pl["gradable"] is True and pl["score"] == pytest.approx(share)
    # a question grading conv.py's parts only: nothing of them usable, so nothing is graded
    pl = pl_results(grade(folder, parts=["conv_forward"]))
    assert pl["gradable"] is False and "conv.py was not found" in pl["message"]


def test_schema_rejects_what_prairielearn_would_not_read():
    for bad in ({"score": 1.5}, {"gradable": True}, {"score": 0.5, "tests": [{"name": "x", "points": 1}]},
                {"gradable": False}, {"score": 1, "format_errors": 3}, {"score": "1"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, SCHEMA)
        with pytest.raises(ValueError):
            prairielearn.validate(bad)


def test_results_stay_under_a_megabyte():
    tests = [{"name": f"t{i}", "points": 0, "max_points": 1, "message": "x", "output": "y" * 400_000}
             for i in range(4)]
    data = prairielearn.fit({"gradable": True, "score": 0.0, "output": "", "tests": tests})
    assert len(json.dumps(data).encode()) < prairielearn.MAX_BYTES
    assert all(t["points"] == 0 and t["max_points"] == 1 for t in data["tests"])
    assert all("more characters cut" in t["output"] for t in data["tests"])


# ----------------------------------------------------------------- the command and the container's entrypoint
def environ():
    e = {k: v for k, v in os.environ.items() if not k.startswith("CONVGRADE_")}
    e["CONVGRADE_WORKER_PYTHON"] = str(WORKER if WORKER.exists() else sys.executable)
    return e


def job(tmp_path, submission):
    """A folder laid out like PrairieLearn's /grade: student/ holds ``submission``'s files."""
    root = tmp_path / "grade"
    shutil.copytree(submission, root / "student")
    (root / "data").mkdir()
    (root / "data" / "data.json").write_text(json.dumps({"params": {}, "submitted_answers": {}}))
    return root


def test_prairielearn_command_on_the_reference(tmp_path):
    root = job(tmp_path, ROOT / "solutions")
    proc = subprocess.run([sys.executable, "-m", "autograder", "prairielearn", "--root", str(root)], cwd=ROOT,
                          env=environ(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["gradable"] is True and data["score"] == 1.0
    assert [t["name"] for t in data["tests"]] == [f"{p.number} {p.title}" for p in TABLE.parts]
    assert all(t["points"] == t["max_points"] for t in data["tests"])
    staff = json.loads((root / "results" / "convgrade.json").read_text())  # Gradescope's format, staff-only data
    assert staff["score"] == pytest.approx(TABLE.total) and "hidden_seed" in staff["extra_data"]
    assert str(staff["extra_data"]["hidden_seed"]) not in proc.stdout + json.dumps(data)  # never in the student's
    assert f"{TABLE.total:g}/{TABLE.total:g}" in proc.stdout  # the job's log: the score table


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_prairielearn.build(tmp_path_factory.mktemp("dist") / "prairielearn")


def run_entrypoint(root, source, *args):
    e = dict(environ(), CONVGRADE_PL_ROOT=str(root), CONVGRADE_PL_SOURCE=str(source), CONVGRADE_PYTHON=sys.executable)
    proc = subprocess.run(["bash", str(PLATFORM / "run_grader"), *args], env=e, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr  # always: PrairieLearn discards the results of a failed container
    data = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(data, SCHEMA)
    return data, proc


def test_entrypoint_grades_the_stubs_with_the_course_grader(tmp_path, built):
    course = tmp_path / "grade" / "serverFilesCourse"
    root = job(tmp_path, ROOT / "assignment")
    shutil.copytree(built / "serverFilesCourse" / "convgrade", course / "convgrade")
    data, _ = run_entrypoint(root, course / "convgrade", "--parts", "conv_forward", "receptive_field")
    assert data["gradable"] is True and data["score"] == 0
    assert [t["name"].split(" ", 1)[1] for t in data["tests"]] == ["conv2d_forward", "receptive_field"]
    assert "not implemented yet" in data["tests"][0]["output"]
    cases = len(TABLE.part("conv_forward").cases)
    assert f"cases 1-{cases} (all {cases})" in data["tests"][0]["output"]  # the course's grader: hidden cases too
    if os.geteuid() == 0:  # nothing of the job is for other users while student code runs
        assert all(oct(p.stat().st_mode)[-2:] == "00" for p in root.iterdir())


def test_entrypoint_without_the_course_grader_grades_nothing(tmp_path):
    root = job(tmp_path, ROOT / "solutions")
    data, proc = run_entrypoint(root, root / "serverFilesCourse" / "convgrade")
    assert data["gradable"] is False and "serverFilesCourse" in data["message"]
    assert "no attempt" in data["message"].lower() and "no grader in" in proc.stderr


def test_dockerfile_builds_gradescopes_environment_with_setup_sh():
    """No Docker engine here: the Dockerfile is checked as text. It runs setup.sh (the two venvs and the pins
    of Gradescope, checked against environment.py by setup.sh itself and by tests/test_environment.py), installs
    nothing by itself (so no CUDA torch can slip in), and its entrypoint is run_grader."""
    text = (PLATFORM / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert lines[0] == "FROM ubuntu:22.04"  # Gradescope's base image: Python 3.10 from apt
    assert "RUN AUTOGRADER_ROOT=/convgrade bash /convgrade/source/setup.sh \\" in lines
    assert not re.search(r"\b(pip|torch|numpy|apt-get)\b", "\n".join(lines)), "installs belong to setup.sh"
    assert lines[-1] == 'ENTRYPOINT ["/usr/local/bin/convgrade-prairielearn"]'
    assert "install -m 755 /convgrade/source/run_grader /usr/local/bin/convgrade-prairielearn" in text
    runner = (PLATFORM / "run_grader").read_text()
    assert "ENVS=${CONVGRADE_PL_ENVS:-/convgrade}" in runner and "$ENVS/grader-venv/bin/python" in runner
    assert "$ENVS/worker-venv/bin/python" in runner and "-m autograder prairielearn --root" in runner
    setup = (ROOT / "autograder" / "gradescope" / "setup.sh").read_text()
    assert '"torch==' + env.TORCH + '+cpu"' in setup and 'ROOT=${AUTOGRADER_ROOT:-/autograder}' in setup


def test_image_folder_is_public_and_the_course_folder_has_the_hidden_cases(built):
    image, course = built / "image", built / "serverFilesCourse" / "convgrade"
    assert {p.name for p in image.iterdir()} == {"Dockerfile", "run_grader", "setup.sh", "requirements-grader.txt",
                                                 "requirements-worker.txt", "autograder"}
    assert os.access(image / "run_grader", os.X_OK) and os.access(image / "setup.sh", os.X_OK)
    assert (image / "setup.sh").read_bytes() == (ROOT / "autograder" / "gradescope" / "setup.sh").read_bytes()
    assert load(image / "autograder" / "cases.yaml").total == TABLE.visible_only().total
    shipped = (image / "autograder" / "cases.yaml").read_text()
    assert "hidden: true" not in shipped and not (image / "autograder" / "staff").exists()
    for p in image.rglob("*"):
        if p.is_file():
            assert "BEGIN SOLUTION" not in p.read_text(errors="replace"), p
    full = load(course / "autograder" / "cases.yaml")
    assert [p.id for p in full.parts] == [p.id for p in TABLE.parts]
    assert sum(len(p.cases) for p in full.parts) == sum(len(p.cases) for p in TABLE.parts)
    assert oct(built.stat().st_mode)[-3:] == "700"
