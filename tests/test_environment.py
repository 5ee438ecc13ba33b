"""One environment everywhere: one set of exact pins across every requirements file and
setup.sh, the installed versions are those pins, the fingerprint of a grading (results.json
extra_data, `grade -v`), and what check.py tells a student with another Python, numpy or torch.

Runs under the main Python and, torch-free parts, under Python 3.10 (Makefile: test-py310)."""

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from autograder.grading import environment as env

ROOT = Path(__file__).resolve().parent.parent
SETUP = ROOT / "autograder" / "gradescope" / "setup.sh"
REQUIREMENT_FILES = sorted(ROOT.glob("requirements*.txt")) + sorted((ROOT / "assignment").glob("requirements*.txt"))
PINNED_FILES = REQUIREMENT_FILES + [SETUP]
HAVE_TORCH = importlib.util.find_spec("torch") is not None
NEEDS_TORCH = pytest.mark.skipif(not HAVE_TORCH, reason="needs torch: this interpreter has none (the Python 3.10 "
                                                        "venv of `make test` when pip finds no CPU torch for 3.10)")


def requirement_lines(path):
    """The requirement lines of a requirements file (no comments, no options, no -r includes)."""
    out = []
    for line in path.read_text().splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith(("#", "-")):
            out.append(Requirement(line))
    return out


def test_the_files_exist():
    names = {p.relative_to(ROOT).as_posix() for p in PINNED_FILES}
    assert {"requirements.txt", "requirements-grader.txt", "requirements-worker.txt",
            "assignment/requirements-student.txt", "autograder/gradescope/setup.sh"} <= names


@pytest.mark.parametrize("path", REQUIREMENT_FILES, ids=lambda p: p.name)
def test_every_requirement_is_an_exact_pin(path):
    for req in requirement_lines(path):
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version, \
            f"{path.name}: {req} is not pinned exactly (name==version)"


def test_one_version_of_each_package_across_all_files():
    """A test that fails when two of the files disagree on a version (any package)."""
    seen = {}
    for path in PINNED_FILES:
        for name, versions in env.pinned_versions(path.read_text()).items():
            for v in versions:
                seen.setdefault(name, {}).setdefault(env.public(v), []).append(path.relative_to(ROOT).as_posix())
    disagree = {name: where for name, where in seen.items() if len(where) > 1}
    assert not disagree, f"files disagree on versions: {disagree}"
    assert set(seen["numpy"]) == {env.NUMPY} and set(seen["torch"]) == {env.TORCH}


def test_grep_finds_one_numpy_and_one_torch():
    """Every mention of a numpy or torch version (pins, ranges, prose) names the pinned one."""
    pattern = re.compile(r"\b(numpy|torch)\s*(?:[=<>!~]=?|\s)\s*v?(\d[\w.+]*)", re.IGNORECASE)
    found = {"numpy": set(), "torch": set()}
    for path in PINNED_FILES:
        for name, version in pattern.findall(path.read_text()):
            found[name.lower()].add(env.public(version.rstrip(".")))
    assert found == {"numpy": {env.NUMPY}, "torch": {env.TORCH}}, found
    for path in PINNED_FILES:
        text = path.read_text()
        assert not re.search(r"\b(numpy|torch)\s*(>=|<=|<|>|~=|!=)", text), f"{path.name} has a version range"


def test_numpy_pin_is_the_workers_and_the_students():
    for name in ("requirements-worker.txt", "requirements-grader.txt", "requirements.txt"):
        assert [str(r) for r in requirement_lines(ROOT / name) if r.name == "numpy"] == [f"numpy=={env.NUMPY}"]
    student = requirement_lines(ROOT / "assignment" / "requirements-student.txt")
    assert [str(r) for r in student if r.name == "numpy"] == [f"numpy=={env.NUMPY}"]
    for name in ("gradescope-utils", "PyYAML", "rich"):
        assert {str(r.specifier) for r in student if r.name == name}, f"{name} missing from the student requirements"


def test_torch_is_the_cpu_build_everywhere():
    """Linux gets 2.13.0+cpu (a version only PyTorch's CPU index has: pip cannot fall back to the
    multi-GB CUDA build of PyPI), macOS the default (CPU) wheel; setup.sh uses the CPU index."""
    for path in (ROOT / "requirements.txt", ROOT / "assignment" / "requirements-student.txt"):
        torch = [r for r in requirement_lines(path) if r.name == "torch"]
        assert {str(r.marker) for r in torch} == {'sys_platform == "linux"', 'sys_platform == "darwin"'}, path.name
        for r in torch:
            (spec,) = r.specifier
            linux = r.marker.evaluate({"sys_platform": "linux"})
            assert spec.version == (f"{env.TORCH}+cpu" if linux else env.TORCH), (path.name, str(r))
    assert f"--extra-index-url {env.CPU_INDEX}" in (ROOT / "assignment" / "requirements-student.txt").read_text()
    setup = SETUP.read_text()
    torch_lines = [line for line in setup.splitlines()
                   if "install" in line and "torch" in line and not line.lstrip().startswith("#")]
    # the CPU build only (+cpu exists on no index with a CUDA build), from PyTorch's CPU index unless the
    # machine names another source (the container test: a wheel folder)
    assert torch_lines == [line for line in torch_lines if "$TORCH_SOURCE" in line
                           and f'"torch=={env.TORCH}+cpu"' in line] and len(torch_lines) == 1, torch_lines
    assert f"TORCH_SOURCE=${{CONVGRADE_TORCH_SOURCE:---index-url {env.CPU_INDEX}}}" in setup


def test_this_interpreter_has_the_pinned_numpy():
    import numpy

    assert numpy.__version__ == env.NUMPY, f"numpy {numpy.__version__} here: run `make venv` again"


@NEEDS_TORCH
def test_this_interpreter_has_the_pinned_cpu_torch():
    version, build = env.torch_info()
    assert env.public(version) == env.TORCH and build == "cpu", (version, build)


def test_local_worker_has_the_pinned_numpy():
    worker = ROOT / ".venv-worker" / "bin" / "python"
    if not worker.exists():
        pytest.skip("no .venv-worker: `make test` builds it")
    probed = env.probe(worker)
    assert probed.get("numpy") == env.NUMPY, probed


# ----------------------------------------------------------------- the fingerprint
def test_differences_name_what_differs_from_gradescope():
    same = {"python": "3.10.12", "numpy": env.NUMPY}
    assert env.differences(dict(same, torch=f"{env.TORCH}+cpu", torch_build="cpu"), same) == []
    diffs = env.differences({"python": "3.11.7", "numpy": env.NUMPY, "torch": "2.5.1", "torch_build": "cuda"},
                            {"python": "3.10.12", "numpy": "2.4.6"})
    text = "\n".join(diffs)
    assert "worker: numpy 2.4.6" in text and "grader: Python 3.11.7" in text
    assert "grader: torch 2.5.1" in text and "cuda build" in text
    assert env.pin_problems({"differences": diffs}) == [d for d in diffs if "Python" not in d]


def test_environment_check_fails_on_a_worker_with_another_numpy(tmp_path):
    """`python -m autograder environment --check` (the end of setup.sh) fails when the worker's
    numpy is not the pinned one, and passes with the local, pinned worker."""
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho '{\"python\": \"3.10.12\", \"numpy\": \"2.4.6\", \"machine\": \"x86_64\"}'\n")
    fake.chmod(0o755)
    proc = subprocess.run([sys.executable, "-m", "autograder", "environment", "--check"], cwd=ROOT,
                          env=dict(os.environ, CONVGRADE_WORKER_PYTHON=str(fake)), capture_output=True, text=True)
    assert proc.returncode == 1 and "worker: numpy 2.4.6, Gradescope's is 2.2.6" in proc.stdout, proc.stdout
    assert "FAILED" in proc.stderr
    if HAVE_TORCH and (ROOT / ".venv-worker" / "bin" / "python").exists():
        ok = subprocess.run([sys.executable, "-m", "autograder", "environment", "--check"], cwd=ROOT,
                            env=dict(os.environ, CONVGRADE_WORKER_PYTHON=str(ROOT / ".venv-worker/bin/python")),
                            capture_output=True, text=True)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert f"numpy {env.NUMPY}" in ok.stdout.split("worker:")[1]


@NEEDS_TORCH
def test_fingerprint_in_results_json_and_grade_v(tmp_path):
    results = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", "solutions", "--parts", "conv_forward",
                           "--results", str(results), "-v"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, COLUMNS="200"))
    assert proc.returncode == 0, proc.stderr
    record = json.loads(results.read_text())["extra_data"]["environment"]
    worker_python = ROOT / ".venv-worker" / "bin" / "python"
    import numpy
    import torch

    assert record["grader"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert record["grader"]["numpy"] == numpy.__version__ and record["grader"]["torch"] == torch.__version__
    assert record["worker"]["source"] == "worker"  # from the worker's hello, not a probe
    if worker_python.exists():
        assert record["worker"]["numpy"] == env.probe(worker_python)["numpy"] == env.NUMPY
        assert record["worker"]["python"] == env.probe(worker_python)["python"]
    assert record["gradescope"] == {"python": env.PYTHON, "numpy": env.NUMPY, "torch": env.TORCH}
    out = proc.stdout
    assert "environment" in out
    for line in env.describe(record):
        assert line in out, line


@NEEDS_TORCH
def test_fingerprint_of_an_unreadable_submission(tmp_path):
    from autograder.run import grade

    bad = tmp_path / "sub.zip"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    outcome = grade(bad, parts=["receptive_field"], user=None)
    assert outcome.status == "error"
    record = outcome.data["extra_data"]["environment"]
    assert record["worker"]["source"] == "probe" and record["worker"].get("numpy")


# ----------------------------------------------------------------- a student's machine
def test_advice_when_everything_matches():
    assert env.advice(f"{env.PYTHON}.12", env.NUMPY, f"{env.TORCH}+cpu", "cpu", "linux") == []
    assert env.advice(f"{env.PYTHON}.12", env.NUMPY, env.TORCH, "cpu", "darwin") == []


def test_advice_for_missing_torch_says_the_cpu_command():
    (a,) = env.advice(f"{env.PYTHON}.12", env.NUMPY, None, "", "linux")
    assert a.fatal and env.torch_install_command("linux") in a.text
    assert f"--index-url {env.CPU_INDEX}" in env.torch_install_command("linux")
    (a,) = env.advice(f"{env.PYTHON}.12", env.NUMPY, None, "", "darwin")
    assert a.fatal and env.torch_install_command("darwin") in a.text and "index-url" not in a.text


def test_advice_for_a_cuda_build_or_another_torch():
    (a,) = env.advice(f"{env.PYTHON}.12", env.NUMPY, "2.13.0", "cuda", "linux")
    assert not a.fatal and "CUDA" in a.text and "pip uninstall -y torch" in a.text
    assert env.torch_install_command("linux") in a.text
    (a,) = env.advice(f"{env.PYTHON}.12", env.NUMPY, "2.6.0+cpu", "cpu", "linux")
    assert not a.fatal and "torch 2.6.0+cpu" in a.text and env.torch_install_command("linux") in a.text
    (a,) = env.advice(f"{env.PYTHON}.12", env.NUMPY, "1.13.1", "cpu", "linux")
    assert a.fatal and "too old" in a.text


def test_advice_for_another_numpy_or_python():
    advice = env.advice("3.12.1", "2.4.6", f"{env.TORCH}+cpu", "cpu", "linux")
    assert [a.fatal for a in advice] == [False, False]
    python, numpy = (a.text for a in advice)
    assert "Python 3.12.1" in python and f"python{env.PYTHON} -m venv" in python
    assert "numpy 2.4.6" in numpy and env.numpy_install_command() in numpy
    (missing,) = [a for a in env.advice(f"{env.PYTHON}.4", None, f"{env.TORCH}+cpu", "cpu", "linux")]
    assert missing.fatal and env.numpy_install_command() in missing.text
    assert "no wheels" in env.advice("3.14.0", env.NUMPY, f"{env.TORCH}+cpu", "cpu", "linux")[0].text


def test_torch_build_from_metadata():
    assert env.torch_build("2.13.0+cpu") == "cpu"
    assert env.torch_build("2.13.0+cu126") == "cuda"
    assert env.torch_build("2.13.0", ["nvidia-cublas-cu12==12.8 ; platform_system == 'Linux'"], "linux") == "cuda"
    assert env.torch_build("2.13.0", ["filelock"], "darwin") == "cpu"


def test_static_checks_use_gradescopes_python():
    """intake/static.py fails a file with syntax newer than Gradescope's Python, which is environment.PYTHON."""
    from autograder.intake.static import GRADESCOPE_PYTHON

    assert ".".join(map(str, GRADESCOPE_PYTHON)) == env.PYTHON


def test_student_readme_documents_one_command_per_platform():
    readme = (ROOT / "assignment" / "README.md").read_text()
    assert "python -m pip install -r requirements.txt" in readme
    assert env.torch_install_command("linux") in readme and env.torch_install_command("darwin") in readme
    assert f"numpy {env.NUMPY}" in readme and f"torch {env.TORCH}" in readme
