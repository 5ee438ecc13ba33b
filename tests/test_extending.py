"""A TA adds a graded part by writing one solution file and one table entry, and nothing else.

In a temporary copy of the project: grouped convolution (5 points, 2 visible and 3 hidden cases) goes
in as solutions/grouped.py plus its entry in autograder/cases.yaml. Then `make stubs`, `make docs`,
the reference (full marks on the new total), the stubs (zero, every part listed) and the handout (the
new file and its visible cases, no hidden one) all pick it up. A TA's edit of weights and cases needs
no other edit either.
"""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from autograder.checking.table import load

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / ".venv-worker" / "bin" / "python"

GROUPED = '''"""Grouped convolution: the channels split into groups, each convolved with its own filters."""

from conv import conv2d_backward, conv2d_forward


def grouped_conv2d_forward(x, w, b=None, stride=1, padding=0, groups=1):
    """Forward pass of a grouped 2-D convolution, as torch.nn.functional.conv2d(..., groups=groups).

    Inputs:
    - x: input data of shape (N, C, H, W), C divisible by groups
    - w: filter weights of shape (F, C // groups, KH, KW), F divisible by groups
    - b: biases of shape (F,), or None
    - stride, padding: int or (h, w) pair
    - groups: number of groups

    Returns a tuple of:
    - out: output data of shape (N, F, H_out, W_out)
    - cache: whatever the backward pass needs
    """
    # BEGIN SOLUTION
    # HINT: group g convolves channels g*C/groups:(g+1)*C/groups with filters g*F/groups:(g+1)*F/groups
    import numpy as np

    c, f = x.shape[1] // groups, w.shape[0] // groups
    outs, caches = [], []
    for g in range(groups):
        bg = None if b is None else b[g * f:(g + 1) * f]
        out, cache = conv2d_forward(x[:, g * c:(g + 1) * c], w[g * f:(g + 1) * f], bg, stride, padding)
        outs.append(out)
        caches.append(cache)
    return np.concatenate(outs, axis=1), (caches, f, b is not None)
    # END SOLUTION


def grouped_conv2d_backward(dout, cache):
    """Backward pass of grouped_conv2d_forward.

    Inputs:
    - dout: upstream gradient of shape (N, F, H_out, W_out)
    - cache: from grouped_conv2d_forward

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, C, H, W)
    - dw: gradient with respect to w, shape (F, C // groups, KH, KW)
    - db: gradient with respect to b, shape (F,), or None if b was None
    """
    # BEGIN SOLUTION
    # HINT: each group's backward is a plain conv backward; concatenate the pieces
    import numpy as np

    caches, f, has_bias = cache
    parts = [conv2d_backward(dout[:, g * f:(g + 1) * f], c) for g, c in enumerate(caches)]
    dx = np.concatenate([p[0] for p in parts], axis=1)
    dw = np.concatenate([p[1] for p in parts], axis=0)
    db = np.concatenate([p[2] for p in parts]) if has_bias else None
    return dx, dw, db
    # END SOLUTION
'''

ENTRY = '''
  - id: grouped_conv
    number: "8.1"
    title: "grouped_conv2d_forward / backward"
    weight: 5
    forward: grouped.grouped_conv2d_forward
    returns: [out, cache]
    backward: grouped.grouped_conv2d_backward
    grads: [x, w, b]
    oracle: conv2d
    inputs:
      x: {shape: x}
      w: {shape: w}
      b: {size: [w, 0], optional: bias}
    options: [stride, padding, groups]
    mistakes: [kernel_flipped, grad_mean_not_sum]
    cases:
      - {x: [2, 4, 5, 5], w: [6, 2, 3, 3], groups: 2, padding: 1, seed: 801}
      - {x: [1, 6, 6, 5], w: [3, 2, 3, 2], groups: 3, stride: 2, seed: 802}
      - {x: [2, 4, 7, 6], w: [4, 1, 3, 3], groups: 4, stride: [2, 1], padding: [1, 0], seed: 803, hidden: true}
      - {x: [3, 2, 5, 5], w: [2, 2, 2, 2], groups: 1, bias: false, seed: 804, hidden: true}
      - {x: [2, 6, 6, 6], w: [6, 3, 1, 1], groups: 2, seed: 805, hidden: true}
'''


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


def grade(project, folder, results):
    env = dict(os.environ)
    if WORKER.exists():
        env["CONVGRADE_WORKER_PYTHON"] = str(WORKER)
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", folder, "--results", str(results)],
                          cwd=project, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(Path(results).read_text())


@pytest.fixture(scope="module")
def extended(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("extend") / "convgrade")
    (project / "solutions" / "grouped.py").write_text(GROUPED)
    with open(project / "autograder" / "cases.yaml", "a") as f:
        f.write(ENTRY)
    make(project, "stubs", "docs")
    return project


def test_new_part_is_in_the_table_and_the_module_list(extended):
    table = load(extended / "autograder" / "cases.yaml")
    assert table.part("grouped_conv").weight == 5
    assert table.modules[-1] == "grouped"
    assert table.total == load().total + 5


def test_make_stubs_writes_the_new_stub(extended):
    stub = (extended / "assignment" / "grouped.py").read_text()
    assert "def grouped_conv2d_forward(x, w, b=None, stride=1, padding=0, groups=1)" in stub
    assert "BEGIN SOLUTION" not in stub and "NotImplementedError" in stub


def test_reference_scores_the_new_total(extended, tmp_path):
    data = grade(extended, "solutions", tmp_path / "ref.json")
    total = load(extended / "autograder" / "cases.yaml").total
    assert data["score"] == pytest.approx(total)
    assert any(t["number"] == "8.1" and t["score"] == 5 for t in data["tests"])


def test_stubs_score_zero_on_every_part(extended, tmp_path):
    data = grade(extended, "assignment", tmp_path / "stubs.json")
    assert data["score"] == 0
    table = load(extended / "autograder" / "cases.yaml")
    assert [t["number"] for t in data["tests"]] == [p.number for p in table.parts]
    new = next(t for t in data["tests"] if t["number"] == "8.1")
    assert "not implemented yet" in new["output"]


def test_docs_and_handout_pick_it_up(extended):
    assert "grouped.py" in (extended / "README.md").read_text()
    assert "| 8.1 | grouped_conv2d_forward / backward | grouped.py | 5 | 2 | 3 |" in \
        (extended / "assignment" / "README.md").read_text()
    make(extended, "handout")
    with zipfile.ZipFile(extended / "dist" / "handout.zip") as zf:
        names = zf.namelist()
        shipped = yaml.safe_load(zf.read(next(n for n in names if n.endswith("_grader/autograder/cases.yaml"))))
        readme = zf.read(next(n for n in names if n.endswith("conv-assignment/README.md"))).decode()
    assert any(n.endswith("/grouped.py") and "_grader" not in n for n in names)
    part = next(p for p in shipped["parts"] if p["id"] == "grouped_conv")
    assert [c["seed"] for c in part["cases"]] == [801, 802]
    assert "grouped.py" in readme


def test_an_unknown_solution_module_stops_make_stubs(tmp_path):
    project = copy_project(tmp_path / "convgrade")
    (project / "solutions" / "grouped.py").write_text(GROUPED)  # no table entry
    proc = subprocess.run([sys.executable, "tools/make_stubs.py", "--check"], cwd=project, capture_output=True,
                          text=True)
    assert proc.returncode != 0
    assert "solutions/grouped.py has solution markers but no part" in proc.stdout + proc.stderr


def test_weights_and_cases_change_with_one_edit(tmp_path):
    """A TA raises one weight and adds a hidden case elsewhere: the reference scores the new total and the
    generated documentation follows after `make docs`."""
    project = copy_project(tmp_path / "convgrade")
    path = project / "autograder" / "cases.yaml"
    text = path.read_text()
    table = load(path)
    first, other = table.parts[0], table.part("bed_of_nails")
    text = text.replace(f"    weight: {first.weight:g}\n", f"    weight: {first.weight + 10:g}\n", 1)
    new_case = dict(other.cases[0], seed=4242, hidden=True)
    marker = "  - id: max_unpool\n"
    text = text.replace(marker, "      - " + json.dumps(new_case).replace('"', "") + "\n\n" + marker, 1)
    path.write_text(text)
    edited = load(path)
    assert edited.total == table.total + 10
    assert len(edited.part("bed_of_nails").cases) == len(other.cases) + 1
    make(project, "docs")
    assert subprocess.run([sys.executable, "tools/docs.py", "--check"], cwd=project).returncode == 0
    data = grade(project, "solutions", tmp_path / "r.json")
    assert data["score"] == pytest.approx(edited.total)
