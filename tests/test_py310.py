"""Gradescope's Python, 3.10, in `make test`: the worker and the student-facing scripts.

The Makefile builds .venv-py310 from requirements-py310.txt (the worker's pinned numpy and
the torch-free rest) where the machine has a Python 3.10. Here, under the main Python:
the grader grades through a 3.10 worker, a submission whose result depends on the numpy
version scores the same on the local worker and on the 3.10 one, and the handout's
check.py and visualize.py run under 3.10. The torch-free tests also run under 3.10 itself
(PY310_TESTS), and tools/py310.py compiles and imports the grader there.
"""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.checking.table import MODULES, load
from autograder.grading import environment as env
from autograder.run import grade
from autograder.sandbox.confine import worker_python

ROOT = Path(__file__).resolve().parent.parent
PY310 = ROOT / ".venv-py310" / "bin" / "python"
pytestmark = pytest.mark.skipif(not PY310.exists(), reason=(
    "no Python 3.10 venv (.venv-py310): `make test` builds it where the machine has a Python 3.10 "
    "($(pyenv root)/versions/3.10*, or python3.10 on PATH)"))

# A real student's max-pool backward: int() of a one-element array. numpy 2.2 accepts it with a
# DeprecationWarning, numpy 2.4 raises TypeError: the same code scored 87 on one worker and 100 on another.
SENSITIVE = '''

def max_pool2d_backward(dout, cache):
    x_shape, indices = cache
    N, C, H, W = x_shape
    dx = np.zeros(N * C * H * W, dtype=dout.dtype)
    idx = indices.reshape(N * C, -1)
    g = dout.reshape(N * C, -1)
    for plane in range(N * C):
        for j in range(idx.shape[1]):
            k = int(idx[plane, j:j + 1])  # a one-element array, not a scalar
            dx[plane * H * W + k] += g[plane, j]
    return dx.reshape(x_shape)
'''
IDIOM = "import numpy as np; int(np.arange(5)[2:3])"


def sensitive_submission(folder):
    folder.mkdir(parents=True)
    for m in MODULES:
        shutil.copyfile(ROOT / "solutions" / f"{m}.py", folder / f"{m}.py")
    with open(folder / "pooling.py", "a") as f:
        f.write(SENSITIVE)
    return folder


def scores(outcome):
    return {t["number"]: t["score"] for t in outcome.data["tests"]}


def test_reference_scores_full_marks_on_a_python310_worker():
    outcome = grade(ROOT / "solutions", python=str(PY310))
    assert outcome.data["score"] == pytest.approx(load().total), outcome.data["output"]
    worker = outcome.data["extra_data"]["environment"]["worker"]
    assert worker["source"] == "worker" and worker["python"].startswith("3.10.") and worker["numpy"] == env.NUMPY


def test_the_idiom_depends_on_the_numpy_version():
    """The submission below really is version-sensitive: both workers only warn (numpy 2.2's
    deprecation), which turned into an error is what numpy 2.4 raises."""
    for python in (worker_python(), str(PY310)):
        ok = subprocess.run([python, "-I", "-c", IDIOM], capture_output=True, text=True)
        assert ok.returncode == 0, (python, ok.stderr)
        strict = subprocess.run([python, "-I", "-W", "error::DeprecationWarning", "-c", IDIOM],
                                capture_output=True, text=True)
        assert strict.returncode != 0 and "Conversion of an array with ndim > 0 to a scalar" in strict.stderr, python


def test_numpy_sensitive_submission_scores_the_same_on_both_workers(tmp_path):
    submission = sensitive_submission(tmp_path / "sub")
    local = grade(submission, python=worker_python())
    py310 = grade(submission, python=str(PY310))
    envs = [o.data["extra_data"]["environment"]["worker"] for o in (local, py310)]
    assert [e["numpy"] for e in envs] == [env.NUMPY, env.NUMPY], envs
    assert envs[1]["python"].startswith("3.10.")
    assert scores(local) == scores(py310), (local.data["output"], py310.data["output"])
    # and with the pinned numpy the idiom works: full marks on both
    assert local.data["score"] == py310.data["score"] == pytest.approx(load().total), local.data["output"]


# ----------------------------------------------------------------- the handout under 3.10
@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    sys.path.insert(0, str(ROOT / "tools"))
    import build_handout

    out = build_handout.build(tmp_path_factory.mktemp("dist") / "handout.zip", check_stubs=False)
    folder = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(out) as zf:
        zf.extractall(folder)
    return folder / build_handout.TOP


def run310(folder, *args):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CONVGRADE_")}
    environ["COLUMNS"] = "160"
    proc = subprocess.run([str(PY310), *args], cwd=folder, env=environ, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc


def test_visualize_under_python310(handout, tmp_path):
    solved = tmp_path / "solved"
    shutil.copytree(handout, solved)
    for m in MODULES:
        shutil.copyfile(ROOT / "solutions" / f"{m}.py", solved / f"{m}.py")
    proc = run310(solved, "visualize.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pngs = sorted(p.name for p in (solved / "figures").glob("*.png"))
    assert len(pngs) == 4 and all((solved / "figures" / p).read_bytes()[:4] == b"\x89PNG" for p in pngs), pngs


def test_check_under_python310(handout):
    """Without torch (no CPU build for 3.10 here) check.py says exactly what to install, before
    anything runs; with one, it grades the stubs (0 points) with no warning about Python."""
    has_torch = subprocess.run([str(PY310), "-c", "import torch"], capture_output=True).returncode == 0
    proc = run310(handout, "check.py")
    if not has_torch:
        assert proc.returncode == 1
        assert "torch is not installed" in proc.stderr and env.torch_install_command(sys.platform) in proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr
        assert "0 / 100 points" in proc.stdout and "this is Python" not in proc.stderr
