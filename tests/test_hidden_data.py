"""Hidden cases and the speed part against a student who has read the grader (tests/hostile/hidden_data.py).

Hidden inputs come from a per-grading secret seed (recorded in results.json's extra_data; `grade --seed`
reproduces a grading), hidden cases run in a worker of their own after every visible case, and the
speed part checks every timed result and measures the sandbox's overhead where student code cannot."""

import json
import re
import shutil
from pathlib import Path

import numpy as np
from hostile import hidden_data

from autograder.checking.layer import CaseRun, rng_for
from autograder.checking.table import MODULES, load
from autograder.grading.grader import case_for
from autograder.run import grade

ROOT = Path(__file__).resolve().parent.parent


def submission(folder, module, code):
    folder.mkdir()
    for m in MODULES:
        shutil.copy(ROOT / "solutions" / f"{m}.py", folder / f"{m}.py")
    with open(folder / f"{module}.py", "a") as f:
        f.write("\n\n" + code)
    return folder


def hidden_runs(part, secret):
    """[(case index, CaseRun with the oracle's answers)] of the hidden cases in a grading with ``secret``."""
    out = []
    for i, case in enumerate(part.cases, 1):
        if case.get("hidden"):
            c = case_for(secret, part, i, case)
            run = CaseRun(part, c, rng_for(c))
            run.solve()
            out.append((i, run))
    return out


def tolist(a):
    return None if a is None else a.tolist()


def test_each_grading_draws_new_hidden_inputs_and_records_its_seed():
    a = grade(ROOT / "solutions", parts=["dilate_kernel"])
    b = grade(ROOT / "solutions", parts=["dilate_kernel"])
    assert a.seed != b.seed
    assert a.data["extra_data"]["hidden_seed"] == a.seed
    part = load().part("dilate_kernel")
    first = [[float(r.inputs["w"].flat[0]) for _, r in hidden_runs(part, s)] for s in (a.seed, b.seed)]
    assert first[0] != first[1]


def test_replayed_hidden_answers_score_only_on_the_captured_grading(tmp_path):
    part = load().part("conv_backward")
    secret = 20261201
    table = {repr(round(float(r.dout.flat[0]), 12)): (tolist(r.expected["dx"]), tolist(r.expected["dw"]),
                                                      tolist(r.expected["db"]))
             for _, r in hidden_runs(part, secret)}
    folder = submission(tmp_path / "replay", "conv", hidden_data.REPLAY.replace("@TABLE@", repr(table)))
    hidden = [i for i, c in enumerate(part.cases, 1) if c.get("hidden")]

    replayed = grade(folder, parts=["conv_backward"], seed=secret).parts["conv_backward"]
    assert [c.passed for c in replayed.cases if c.hidden] == [True] * len(hidden)  # the captured grading
    fresh = grade(folder, parts=["conv_backward"]).parts["conv_backward"]
    assert [c.passed for c in fresh.cases if c.hidden] == [False] * len(hidden)


def test_what_saw_hidden_inputs_never_reaches_student_text(tmp_path):
    folder = submission(tmp_path / "capture", "conv", hidden_data.CAPTURE)
    secret = 7
    outcome = grade(folder, parts=["conv_forward", "conv_backward"], seed=secret)
    text = json.dumps(outcome.data)
    table = load()
    leaked = []
    for pid in ("conv_forward", "conv_backward"):
        for i, run in hidden_runs(table.part(pid), secret):
            values = [v for v in [*run.inputs.values(), run.dout] if isinstance(v, np.ndarray)]
            leaked += [(pid, i) for v in values if repr(float(v.flat[0])) in text]
    assert not leaked, leaked
    visible = CaseRun(table.part("conv_forward"), table.part("conv_forward").cases[0],
                      rng_for(table.part("conv_forward").cases[0]))
    assert repr(float(visible.inputs["x"].flat[0])) in text  # the attack does show what it saw in visible cases


def test_timed_gemm_results_are_checked(tmp_path):
    folder = submission(tmp_path / "zeros", "toeplitz", hidden_data.GEMM_ZEROS)
    outcome = grade(folder, parts=["gemm", "gemm_efficiency"])
    assert outcome.parts["gemm"].passed == len(outcome.parts["gemm"].cases)
    result = outcome.parts["gemm_efficiency"]
    assert result.passed == 0
    assert "a timed call went wrong" in "\n".join(result.cases[0].lines)


def test_work_done_during_a_ping_is_still_timed(tmp_path):
    folder = submission(tmp_path / "ping", "toeplitz", hidden_data.GEMM_PING)
    result = grade(folder, parts=["gemm_efficiency"]).parts["gemm_efficiency"]
    assert result.passed == 0, result.cases[0].info
    assert "limit" in "\n".join(result.cases[0].lines)


def test_cpu_time_of_a_thread_that_ended_is_counted(tmp_path):
    """The speed part reads the worker's CPU time: a thread that does the work and ends before the reply must
    not take its time with it (schedstat lists live threads only, and the process's ticks are 10 ms coarse:
    a loop 26x torch, done in such a thread, measured 2x and passed)."""
    folder = submission(tmp_path / "thread", "toeplitz", hidden_data.GEMM_THREAD)
    result = grade(folder, parts=["gemm_efficiency"]).parts["gemm_efficiency"]
    text = "\n".join(result.cases[0].lines + result.cases[0].info)
    measured = float(re.search(r"took ([\d.]+) ms of CPU time", text)[1]) / 1e3
    assert measured >= 0.8 * hidden_data.BURN, text
