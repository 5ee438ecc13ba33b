"""What keeps a grading run small and fast (tools/bench.py measures the figures):
no torch where it is not needed, no sympy at all, bounded time-outs, CPU-time
efficiency measurement."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.checking import oracle
from autograder.checking.table import MODULES, load
from autograder.run import grade
from autograder.sandbox.cpu import cpu_spent, worker_cpu
from autograder.sandbox.limits import Limits
from autograder.sandbox.session import Sandbox

ROOT = Path(__file__).resolve().parent.parent


def python(code):
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_case_table_and_list_do_not_import_torch():
    proc = python("import sys; from autograder.checking.table import load; import autograder.staff.batch; load(); "
                  "print('torch' in sys.modules)")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_grading_never_imports_sympy():
    """torch's backward(out, dout) and F.max_unpool2d import sympy (~1 s, ~35 MB); the oracle avoids both."""
    parts = ["conv_backward", "max_pool", "max_unpool", "fcn"]
    proc = python(f"import sys; from autograder.run import grade; o = grade('solutions', parts={parts}); "
                  "print(o.data['score'], 'sympy' in sys.modules)")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(float(sum(load().part(p).weight for p in parts))), "False"]


@pytest.mark.parametrize("shape, k, s, p, size", [
    ((2, 2, 4, 4), 2, 2, 0, None), ((1, 2, 5, 5), 2, 2, 0, (5, 5)), ((2, 2, 7, 6), 3, 2, 1, (7, 6)),
    ((2, 1, 7, 5), (2, 3), (2, 1), (1, 1), (7, 5)), ((1, 2, 6, 6), 3, 1, 0, None), ((1, 1, 8, 8), 2, None, 0, (9, 9)),
    ((1, 1, 8, 8), 2, 2, 0, (1, 1, 8, 9)),
])
def test_max_unpool_oracle_is_torchs(shape, k, s, p, size):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    pooled, idx = oracle.pool_indices(x, k, s, p)
    t = torch.from_numpy(pooled).requires_grad_()
    expected = F.max_unpool2d(t, torch.from_numpy(idx), k, stride=s, padding=p, output_size=size)
    dout = rng.standard_normal(tuple(expected.shape))
    expected.backward(torch.from_numpy(dout))
    (out,), grads = oracle.max_unpool2d(pooled, idx, dout=dout, kernel_size=k, stride=s, padding=p, output_size=size)
    assert np.array_equal(out, expected.detach().numpy())
    assert np.array_equal(grads["x"], t.grad.numpy())


@pytest.mark.parametrize("size", [(2, 2), (11, 8), (8,)])
def test_max_unpool_oracle_refuses_what_torch_refuses(size):
    pooled, idx = oracle.pool_indices(np.ones((1, 1, 4, 4)), 2, 2, 0)
    with pytest.raises(ValueError):
        F.max_unpool2d(torch.from_numpy(pooled), torch.from_numpy(idx), 2, 2, 0, size)
    with pytest.raises(ValueError):
        oracle.max_unpool2d(pooled, idx, kernel_size=2, stride=2, output_size=size)


def test_backward_hands_dout_over_exactly():
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    dout = rng.standard_normal((2, 4, 3, 3))
    _, grads = oracle.conv2d(x, w, b, dout=dout, stride=2, padding=1)
    ts = [torch.from_numpy(a.copy()).requires_grad_() for a in (x, w, b)]
    F.conv2d(*ts, stride=2, padding=1).backward(torch.from_numpy(dout))
    for name, t in zip("xwb", ts):
        assert np.array_equal(grads[name], t.grad.numpy()), name


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="no /proc")
def test_worker_cpu_counts_the_workers_cpu_time(tmp_path):
    mod = tmp_path / "busy.py"
    mod.write_text("import time\n\ndef spin(s):\n    end = time.process_time() + s\n"
                   "    while time.process_time() < end:\n        pass\n\ndef nap(s):\n    time.sleep(s)\n")
    with Sandbox(files={"busy": str(mod)}) as sb:
        sb.ping()
        a = worker_cpu(sb.proc)
        sb.call("busy", "spin", [0.3])
        b = worker_cpu(sb.proc)
        sb.call("busy", "nap", [0.3])
        c = worker_cpu(sb.proc)
    assert 0.25 < cpu_spent(a, b) < 1.0
    assert cpu_spent(b, c) < 0.1  # waiting is not CPU time
    assert cpu_spent(None, c) is None


def test_timeouts_cannot_use_up_the_gradescope_limit(tmp_path):
    """A part stops after two timed-out cases; all cases together stop at the grading budget."""
    folder = tmp_path / "hangs"
    folder.mkdir()
    for m in MODULES:
        shutil.copy(ROOT / "solutions" / f"{m}.py", folder / f"{m}.py")
    with open(folder / "conv.py", "a") as f:
        f.write("\n\ndef conv2d_forward(*args, **kwargs):\n    while True:\n        pass\n")
    limits = Limits(call_timeout=1, import_timeout=5)
    out = grade(folder, parts=["conv_forward", "dilate_kernel"], limits=limits)
    kinds = [c.kind for c in out.parts["conv_forward"].cases]
    assert kinds == ["timeout", "timeout"] + ["skipped"] * (len(kinds) - 2)
    assert "2 earlier cases of this part timed out" in out.parts["conv_forward"].cases[2].lines[0]
    assert out.parts["dilate_kernel"].passed == len(out.parts["dilate_kernel"].cases)

    # the grading's deadline cuts the call that is running (20 s allowed per call), the rest is not run
    limits = Limits(call_timeout=20, import_timeout=20, grading_seconds=6)
    out = grade(folder, parts=["conv_forward", "dilate_kernel"], limits=limits)
    assert out.parts["conv_forward"].cases[0].kind == "deadline", out.parts["conv_forward"].cases[0]
    assert "time for the whole grading (6 s) ran out" in out.parts["conv_forward"].cases[0].lines[0]
    assert {c.kind for c in out.parts["dilate_kernel"].cases} == {"skipped"}
    assert "whole grading (6 s) was used up" in out.parts["dilate_kernel"].cases[0].lines[0]


def test_the_stage_meter_counts_a_grading_by_stage(tmp_path):
    """CONVGRADE_STAGES=FILE (make bench's stages, tools/bench_stages.py): one JSON line per grading with every
    stage's CPU and wall, the workers' CPU (their start-up and their calls), the case count; nested stages count
    exclusively, so the stages never add up to more than the grading's own total."""
    import json
    import os

    from autograder.sandbox.stages import STAGES

    record_file = tmp_path / "stages.jsonl"
    env = dict(os.environ, CONVGRADE_STAGES=str(record_file))
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", "solutions", "--parts", "conv_forward",
                           "gemm_efficiency"], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    (line,) = record_file.read_text().splitlines()
    record = json.loads(line)
    table = load()
    assert record["cases"] == len(table.part("conv_forward").cases) + len(table.part("gemm_efficiency").cases)
    assert set(record["cpu"]) == set(STAGES) == set(record["wall"])
    for stage in ("start-up", "intake", "worker start", "student calls", "oracle", "checks", "feedback", "writing"):
        assert record["wall"][stage] > 0, stage
    assert record["workers_cpu"]["worker start"] > 0 and record["workers_cpu"]["student calls"] > 0
    assert sum(record["cpu"].values()) <= record["total_cpu"] + 1e-6
    assert sum(record["wall"].values()) <= record["total_wall"] + 1e-6
