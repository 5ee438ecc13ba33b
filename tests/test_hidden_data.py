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


def test_a_transport_the_student_replaced_buys_no_speed(tmp_path):
    """The worker's transport lives in the student's process: GEMM_TRANSPORT replaces its code. The speed figure
    is the worker's whole CPU time for the call, nothing subtracted, so a cheaper transport can only shave off
    the transport's own small share (never, as when a clean worker's transport was subtracted, most of the
    figure); a transport far cheaper than a clean worker's trips the wire and fails the case."""
    honest = grade(ROOT / "solutions", parts=["gemm_efficiency"]).parts["gemm_efficiency"]
    folder = submission(tmp_path / "transport", "toeplitz", hidden_data.GEMM_TRANSPORT)
    patched = grade(folder, parts=["gemm_efficiency"]).parts["gemm_efficiency"]
    text = "\n".join(patched.cases[0].lines + patched.cases[0].info)
    assert "moved this call's arrays" in text or patched.passed, text  # the wire, or it graded as usual
    if "moved this call's arrays" not in text:
        ratio = patched.cases[0].metrics["time_vs_torch"]
        assert ratio >= 0.4 * honest.cases[0].metrics["time_vs_torch"], (ratio, honest.cases[0].metrics)


def test_a_transport_that_answers_round_trips_differently_trips_the_wire(tmp_path):
    folder = submission(tmp_path / "short", "toeplitz", hidden_data.GEMM_SHORT_PINGS)
    outcome = grade(folder, parts=["gemm", "gemm_efficiency"])
    assert outcome.parts["gemm"].passed == len(outcome.parts["gemm"].cases)  # its answers are right
    result = outcome.parts["gemm_efficiency"]
    assert result.passed == 0 and "time_vs_torch" not in result.cases[0].metrics  # nothing for the leaderboard
    assert "changed how the worker talks to the grader" in "\n".join(result.cases[0].lines), result.cases[0].lines


def test_a_hidden_case_never_names_the_students_own_exception(tmp_path):
    folder = submission(tmp_path / "own", "dilated", hidden_data.OWN_EXCEPTION)
    result = grade(folder, parts=["dilate_kernel"]).parts["dilate_kernel"]
    hidden = [c for c in result.cases if c.hidden]
    assert hidden and all(not c.passed for c in hidden)
    for c in hidden:
        shown = "\n".join([*c.located, *c.causes])
        assert "an exception of your own" in shown and "Bits_1f2e3d" not in shown, shown
    for fmt in ("md", "text"):  # visible cases show their message in full; the hidden ones never the name
        assert all("Bits_1f2e3d" not in line for line in hidden_lines(result, fmt)), fmt


def hidden_lines(result, fmt):
    """The lines a student reads about the hidden cases of ``result`` alone (each rendered on its own)."""
    from dataclasses import replace

    only_hidden = replace(result, cases=[c for c in result.cases if c.hidden])
    return only_hidden.feedback(fmt=fmt).splitlines()


def test_a_hidden_case_never_decides_where_its_part_shows_nothing():
    """Two candidate mistakes on a visible case, which a hidden case of the part tells apart: that hidden case
    decides (and is named) where its part shows hidden cases, never where ``hidden_feedback: none``."""
    from copy import copy

    from autograder.grading import diagnosis
    from autograder.grading.grader import CaseResult, PartResult

    part = copy(load().part("conv_forward"))
    value = part.outputs[0]
    hidden = CaseResult(index=2, hidden=True, passed=False, label="",
                        evidence={"value": value, "held": {"a": True, "b": False}})
    for level, decided in (("where", True), ("config", True), ("none", False)):
        part.hidden_feedback = level
        visible = CaseResult(index=1, hidden=False, passed=False, label="", candidates=["a", "b"],
                             evidence={"value": value, "held": {"a": True, "b": True}})
        diagnosis.decide_candidates({part.id: PartResult(part, [visible, hidden], 0.0)})
        assert (visible.mistakes == ["a"]) == decided, level
        assert any("case 2 (hidden)" in str(n) for n in visible.notes) == decided, (level, visible.notes)
