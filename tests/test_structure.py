"""Structural evidence (autograder/checking/structure.py): what a wrong value is, named on any part of the case
table without a catalogue entry, and nothing said where nothing fits.

Each test builds the wrong value a structural mistake makes from the oracle's own answer on the table's visible
cases (the expected value transposed, reshaped in another order, scaled, shifted, the value of a neighbouring
configuration or of a loop that stops early) and checks that exactly that is named, in the case's words; and
that a value that is merely wrong (noise) names nothing. The worker's side of the stack dump and of the
aliasing rule is checked here too (sandbox/stack.py, worker.views_of); the graded runs are in
tests/test_stopped.py.
"""

import numpy as np
import pytest

from autograder.checking import structure
from autograder.checking.compare import RTOL_GRAD, RTOL_OUT
from autograder.checking.fits import telling
from autograder.checking.layer import CaseRun, rng_for
from autograder.checking.mistakes import MISTAKES
from autograder.checking.neighbours import cuts, truncated
from autograder.checking.table import load
from autograder.sandbox import stack, worker
from autograder.sandbox.limits import Limits

TABLE = load()
LAYERS = [p for p in TABLE.parts if p.check == "layer"]


def runs(part):
    out = []
    for case in part.visible_cases:
        run = CaseRun(part, case, rng_for(case))
        run.solve()
        out.append(run)
    return out


def values(run):
    """[(name, expected, rtol)] of the graded values of a case that are arrays with enough to tell."""
    out = []
    for name, e in run.expected.items():
        graded = name in run.part.outputs and run.part.grade_forward or name not in run.part.outputs
        if graded and isinstance(e, np.ndarray) and telling(e):
            out.append((name, e, RTOL_OUT if name in run.part.outputs else RTOL_GRAD))
    return out


def named(run, name, got, rtol):
    found, held = structure.findings(run, name, got, rtol)
    assert all(held[f.name] for f in found) and all(f.name in MISTAKES for f in found)
    return found


ALL_RUNS = {p.id: runs(p) for p in LAYERS}


@pytest.mark.parametrize("pid", [p.id for p in LAYERS])
def test_a_value_that_is_merely_wrong_names_nothing(pid):
    rng = np.random.default_rng(0)
    for run in ALL_RUNS[pid]:
        for name, e, rtol in values(run):
            if e.dtype.kind == "f":
                noisy = e + 0.05 * np.abs(e).max() * rng.standard_normal(e.shape)
            else:
                noisy = e + rng.integers(0, 3, size=e.shape)
            assert named(run, name, noisy, rtol) == [], (pid, run.case, name)


@pytest.mark.parametrize("pid", [p.id for p in LAYERS])
def test_a_constant_factor_is_named_with_the_sizes_it_equals(pid):
    for run in ALL_RUNS[pid]:
        n = run.inputs["x"].shape[0] if getattr(run.inputs.get("x"), "ndim", 0) == 4 else None
        for name, e, rtol in values(run):
            if e.dtype.kind != "f":
                continue
            found = named(run, name, e * 3.0, rtol)
            assert [f.name for f in found] == ["scaled"] and "times 3" in found[0].text, (pid, name, found)
            assert "sign" in named(run, name, -e, rtol)[0].text
            if n and n > 1:
                assert "1/N" in named(run, name, e / n, rtol)[0].text, (pid, name)


@pytest.mark.parametrize("pid", [p.id for p in LAYERS])
def test_a_constant_offset_is_named(pid):
    for run in ALL_RUNS[pid]:
        for name, e, rtol in values(run):
            shift = 1 if e.dtype.kind in "iu" else 0.5
            found = named(run, name, e + shift, rtol)
            assert [f.name for f in found] == ["offset"] and f"plus {shift}" in found[0].text, (pid, name, found)


@pytest.mark.parametrize("pid", [p.id for p in LAYERS])
def test_axes_in_another_order_are_named(pid):
    tried = 0
    for run in ALL_RUNS[pid]:
        for name, e, rtol in values(run):
            if e.ndim != 4:
                continue
            swapped = np.ascontiguousarray(e.swapaxes(2, 3))
            if not np.array_equal(swapped.reshape(e.shape) if swapped.shape == e.shape else swapped, e):
                found = named(run, name, swapped, rtol)
                assert found and found[0].name == "axes_swapped" and "axes 2 and 3" in found[0].text, (name, found)
                tried += 1
            channels_last = e.transpose(0, 2, 3, 1).reshape(e.shape)
            if not np.array_equal(channels_last, e):
                found = named(run, name, channels_last, rtol)
                assert found and found[0].name == "reshape_order", (pid, name, found)
                tried += 1
    assert tried or all(v[1].ndim != 4 for r in ALL_RUNS[pid] for v in values(r))


@pytest.mark.parametrize("pid", [p.id for p in LAYERS])
def test_a_border_too_many_or_rows_missing_are_named(pid):
    for run in ALL_RUNS[pid]:
        for name, e, rtol in values(run):
            if e.ndim < 2 or min(e.shape[-2:]) < 3:
                continue
            pad = [(0, 0)] * (e.ndim - 2) + [(1, 1), (0, 2)]
            found = named(run, name, np.pad(e, pad), rtol)
            assert found and found[0].name == "extra_border", (pid, name, found)
            assert "1 row at the top, 1 row at the bottom, 2 columns at the right of zeros too many" in found[0].text
            found = named(run, name, np.ascontiguousarray(e[..., :-1, 1:]), rtol)
            assert found and found[0].name == "cropped" and "1 row at the bottom, 1 column at the left missing" \
                in found[0].text, (pid, name, found)


@pytest.mark.parametrize("pid", [p.id for p in LAYERS if p.backward])
def test_a_gradient_not_summed_over_an_axis_is_named(pid):
    rng = np.random.default_rng(1)
    for run in ALL_RUNS[pid]:
        for name, e, rtol in values(run):
            if e.dtype.kind != "f" or name in run.part.outputs:
                continue
            parts = rng.standard_normal((3,) + e.shape)
            parts[-1] = e - parts[:-1].sum(axis=0)  # three terms that add up to the expected gradient
            found = named(run, name, parts, rtol)
            assert found and found[0].name == "unsummed" and "a sum over axis 0 (of size 3" in found[0].text, found


def test_a_flattened_axis_is_split_into_the_sizes_it_is_made_of():
    """im2col's rows are (C, KH, KW): the same rows in (KH, KW, C) order are said in those symbols."""
    for run in ALL_RUNS["im2col"]:
        cols = run.expected["cols"]
        n, ckk, blocks = cols.shape
        kh, kw = (int(v) for v in np.broadcast_to(run.options["kernel_size"], (2,)))
        c = ckk // (kh * kw)
        if c < 2 or kh < 2 or kw < 2:
            continue
        got = cols.reshape(n, c, kh, kw, blocks).transpose(0, 2, 3, 1, 4).reshape(cols.shape)
        found = named(run, "cols", got, RTOL_OUT)
        order = "(samples, KH, KW, C, columns) where (samples, C, KH, KW, columns)"
        assert found and found[0].name == "reshape_order" and order in found[0].text, found
        return
    pytest.fail("no visible im2col case with C, KH, KW > 1")


@pytest.mark.parametrize("pid", [p.id for p in LAYERS])
def test_another_value_of_the_case_is_named(pid):
    for run in ALL_RUNS[pid]:
        for name, e, rtol in values(run):
            for k, v in run.inputs.items():
                if isinstance(v, np.ndarray) and v.shape == e.shape and telling(v) and not np.allclose(v, e):
                    found = named(run, name, v.copy(), rtol)
                    assert found and found[0].text == f"{name} is the input {k}, unchanged", found


def pair_cases():
    for part in LAYERS:
        for run in ALL_RUNS[part.id]:
            for k in part.options:
                v = run.options.get(k)
                if isinstance(v, tuple) and len(v) == 2 and v[0] != v[1]:
                    yield part.id, run, k, v


@pytest.mark.parametrize("pid,run,option,value", list(pair_cases()),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_a_pair_read_the_wrong_way_round_is_named(pid, run, option, value):
    for name, e, rtol in values(run):
        try:
            got = run.variant(options={option: value[::-1]}, backward=name not in run.part.outputs)[name]
        except Exception:  # noqa: BLE001 - torch refuses the swapped pair (or dout no longer fits)
            continue
        if got.shape == e.shape and np.allclose(got, e) or not telling(got):
            continue
        found = named(run, name, got, rtol)
        assert "option_swapped" in [f.name for f in found], (pid, run.case, name, found)
        text = next(f.text for f in found if f.name == "option_swapped")
        assert f"{option}={value[::-1]}" in text and f"the case has {option}={value}" in text
        return


def test_an_option_left_out_is_named_whole_or_on_its_first_windows():
    said = set()
    for part in LAYERS:
        for run in ALL_RUNS[part.id]:
            if not run.options.get("padding") or run.options["padding"] in (0, (0, 0)) or not part.grade_forward:
                continue
            name = part.outputs[0]
            try:
                got = run.variant(options={"padding": 0}, backward=False)[name]
            except Exception:  # noqa: BLE001
                continue
            if not telling(got):
                continue
            found = named(run, name, got, RTOL_OUT)
            assert found and found[0].name == "option_ignored" and "padding=0 gives (no padding)" in found[0].text
            said.add(part.id)
    assert {"conv_forward", "max_pool"} <= said


def test_another_layers_value_on_the_same_inputs_is_named():
    """max_pool2d's value where avg_pool2d's belongs, bed_of_nails's where nearest_upsample's: any two oracle
    functions that take the same arrays and options."""
    from autograder.checking.neighbours import other_layers

    tried = set()
    for run in (r for p in LAYERS for r in ALL_RUNS[p.id]):
        for other in other_layers(run):
            try:
                theirs = run.memo(("test", other), lambda: run._named(*getattr(oracle(), other)(
                    *[v for _, v in run.args], dout=None, **run.options)))
            except Exception:  # noqa: BLE001 - that layer refuses the case (a transposed weight of another shape)
                continue
            for name, e, rtol in values(run):
                got = theirs.get(name)
                if name in run.part.outputs and isinstance(got, np.ndarray) and telling(got) and got.shape == e.shape \
                        and not np.allclose(got, e):
                    found = named(run, name, got, rtol)
                    assert found and found[0].text.startswith(f"{name} is what {other} gives"), found
                    tried.add((run.part.id, other))
    assert {("avg_pool", "max_pool2d"), ("max_pool", "avg_pool2d"), ("nearest", "bed_of_nails")} <= tried, tried


def oracle():
    from autograder.checking import oracle as module

    return module


def test_an_optional_input_left_out_is_named():
    """On every case where leaving an optional input out (b=None) changes a graded value."""
    tried = set()
    for run in (r for p in LAYERS for r in ALL_RUNS[p.id]):
        for k, spec in run.part.inputs.items():
            if not (spec or {}).get("optional") or run.inputs.get(k) is None:
                continue
            for name, e, rtol in values(run):
                got = run.variant(inputs={k: None}, backward=name not in run.part.outputs).get(name)
                if isinstance(got, np.ndarray) and telling(got) and not np.allclose(got, e):
                    found = named(run, name, got, rtol)
                    assert found and found[0].text == f"{name} is what {k}=None gives: {k} is left out", found
                    tried.add(run.part.id)
                    break
    assert {"conv_forward", "transposed_forward", "gemm"} <= tried


@pytest.mark.parametrize("pid", [p.id for p in LAYERS if p.backward])
def test_a_backward_loop_that_stops_early_is_named(pid):
    """dout's columns from one of the bounds a loop may stop at (one short, or one of the case's sizes) left out."""
    tried = 0
    for run in ALL_RUNS[pid]:
        if run.dout is None or run.dout.ndim != 4:
            continue
        n = run.dout.shape[3]
        for k, why in cuts(n, 3, run):
            grads = run.with_upstream(truncated(run.dout, 3, k))
            name = next((g for g, _ in run.part.gradient_names(run.inputs) if isinstance(grads.get(g), np.ndarray)),
                        None)
            if name is None or not telling(grads[name]) or np.allclose(grads[name], run.expected[name]):
                continue
            found = named(run, name, grads[name], RTOL_GRAD)
            assert found and found[0].name == "stops_early", (pid, run.case, k, found)
            assert (f"its last column (column {why or k}" if k == n - 1 else f"its columns from {k} on") \
                in found[0].text, found[0].text
            tried += 1
            break
    assert tried


def test_float32_precision_is_named_on_a_float64_value_and_on_a_float32_one():
    run = ALL_RUNS["conv_forward"][0]
    e = run.expected["out"]
    rounded = e.astype(np.float32).astype(np.float64)
    found = named(run, "out", rounded, RTOL_OUT)
    assert [f.name for f in found] == ["low_precision"] and "significant digits" in found[0].text
    found = named(run, "out", e.astype(np.float32), RTOL_OUT)  # the dtype tells; the fact says so in words
    assert [f.name for f in found] == ["low_precision"] and "out is float32, where float64 is expected" in found[0].text
    assert named(run, "out", e.astype(np.int64), RTOL_OUT) == []  # integers: another mistake altogether


def test_a_hidden_case_gets_the_fact_without_a_number_taken_from_values():
    run = ALL_RUNS["conv_forward"][0]
    e = run.expected["out"]
    found = named(run, "out", e + 0.123, RTOL_OUT)
    assert "0.123" in found[0].text and "0.123" not in found[0].hidden
    found = named(run, "out", e * 0.777, RTOL_OUT)
    assert "0.777" in found[0].text and "0.777" not in found[0].hidden and "a constant" in found[0].hidden


# ----------------------------------------------------------------- where a stopped run was
DUMP = """Thread 0x00007f00aaaa (most recent call first):
  File "/usr/lib/python3.11/threading.py", line 320 in wait
  File "{run}/conv.py", line 7 in _spin

Current thread 0x00007f00bbbb (most recent call first):
  File "/usr/lib/python3/numpy/core/numeric.py", line 300 in full
  File "{run}/pooling.py", line 55 in _pad
  File "{run}/pooling.py", line 12 in max_pool2d_forward
  File "<string>", line 1200 in serve
  File "<string>", line 1300 in main
"""


def test_the_stack_dump_gives_the_innermost_frame_of_the_students_files_in_the_thread_that_ran(tmp_path):
    text = DUMP.format(run=tmp_path)
    assert stack.innermost(text, tmp_path, {"conv", "pooling"}) == "pooling.py, line 55, in _pad"
    assert stack.innermost(text, tmp_path / "other", {"conv", "pooling"}) == ""  # another folder: not the student's
    assert stack.innermost(text, tmp_path, {"dilated"}) == ""
    assert stack.innermost('  File "/x/conv.py", line 9 in f; rm -rf /', "/x", {"conv"}) == ""


def test_a_worker_that_died_is_never_said_to_have_called_sys_exit():
    limits = Limits()
    for code, oom in ((-9, True), (worker.EXIT_MEMORY, False), (-9, False), (-11, False), (worker.EXIT_FAILED, False)):
        err = stack.ended("conv.conv2d_forward()", code, oom, "conv.py, line 3, in f" if code < 0 else "", limits)
        assert "sys.exit" not in str(err) and "os._exit" not in str(err), str(err)
    assert stack.ended("f()", worker.EXIT_MEMORY, False, "", limits).kind == "memory"
    assert "ran out of memory" in str(stack.ended("f()", -9, True, "", limits))
    assert "killed by SIGSEGV at conv.py, line 3, in f" in str(stack.ended("f()", -11, False, "conv.py, line 3, in f",
                                                                           limits))
    assert "os._exit" in str(stack.ended("f()", 3, False, "", limits))


def test_the_alarm_comes_before_the_grader_gives_up():
    for allowed in (0.2, 1.0, 5.0, 20.0, 480.0):
        assert 0 < stack.alarm_for(allowed) < allowed


# ----------------------------------------------------------------- a new array, never a view of an input
def test_the_worker_records_which_returned_arrays_share_memory_with_an_input():
    weight, bias = np.arange(24.0).reshape(2, 12), np.arange(2.0)
    result = (weight.reshape(2, 3, 2, 2), bias, weight.copy(), {"g": bias[::2]}, None)
    arrays = []
    from autograder.sandbox.codec import encode_value

    desc = encode_value(result, arrays, 10**6)
    views = worker.views_of(result, desc, [weight, bias])
    assert views == [[0, 0], [1, 1], [3, 1]]
