"""The checkers of the parts that are not layers: a list of ints, and a speed measurement.

Every other part is checked by layer.check_layer from its table entry alone. These take the part
entry too, and call the function it names (``forward:``), never a literal module. A checker returns
its problems as a list of lines (or a feedback.Report); none: the case passed.
"""

import time
from types import SimpleNamespace

import numpy as np

from ..sandbox.channel import CallError
from ..sandbox.codec import decode
from ..sandbox.faults import faults_of
from ..sandbox.stages import stage
from ..sandbox.cpu import best_time, counts_cpu, cpu_spent, worker_cpu
from .calls import Call, Failed, expect
from .compare import type_name
from .evidence import Report
from . import layer
from .layer import CaseRun, check_layer, oracle
from .mistakes import diagnose
from .oracle_cache import batch_calibration, calibration


def check_receptive_field(sb, part, case):
    """receptive_field(kernel_sizes, strides=None, dilations=None) -> list of ints (one per layer)."""
    options = {k: list(case[k]) for k in part.options if k in case}  # lists, as the contract says
    call = Call(sb, part.forward, [("kernel_sizes", list(case["kernel_sizes"]))], options)
    said = Report()  # what the call printed: a visible case shows it, passed or not
    said.printed_by(call.func, call.output)
    expected = oracle.receptive_field(case["kernel_sizes"], case.get("strides"), case.get("dilations"))
    got = call.value
    if not isinstance(got, (list, tuple)) or not all(
            hasattr(v, "value") and isinstance(v.value, int) and not isinstance(v.value, bool) for v in got):
        return Report(lines=[f"{call.func} must return a list of ints, got {type_name(got)}"
                             + (f" {[getattr(v, 'value', v) for v in got]}" if isinstance(got, (list, tuple)) else "")],
                      located=[f"{call.func} must return a list of ints"], printed=said.printed)
    values = [v.value for v in got]
    if values != expected:
        shown = ", ".join(f"{k}={case.get(k)}" for k in part.options)
        lines = [f"{call.func}({case['kernel_sizes']}, {shown}) returned {values}, expected {expected}"]
        found = diagnose(part.mistakes, SimpleNamespace(part=part, case=case), "fields", values)
        if len(found.found) == 1:
            mistakes, candidates = [found.found[0].name], []
        else:
            mistakes, candidates = [], [m.name for m in found.found]
        if not found.found and case.get("strides") and any(s != 1 for s in case["strides"]):
            lines.append("hint: each layer's (k-1)*d is multiplied by the product of the strides BEFORE it")
        if len(values) != len(expected):
            where = f"{call.func} returned {len(values)} fields, expected one per layer ({len(expected)})"
        else:  # which layers, never the numbers
            wrong = [i + 1 for i, (a, b) in enumerate(zip(values, expected)) if a != b]
            where = f"{call.func}: wrong after layer{'s' if len(wrong) > 1 else ''} {', '.join(map(str, wrong))} " \
                    f"(of {len(expected)})"
        return Report(lines=lines, located=[where], mistakes=mistakes, candidates=candidates,
                      evidence={"value": "fields", "held": dict(found.held)}, printed=said.printed)
    return said


IMPLAUSIBLE = 0.05  # below this fraction of torch's time, a numpy convolution is not measuring what it did
ATTEMPTS = 3  # measurements before an implausible time counts
TRIPWIRE = 0.25  # the student's worker moves a call's arrays in under this share of a clean worker's time: altered
PINGS = 5  # round trips of a timed call's traffic in each worker, for the tripwire


def check_gemm_efficiency(sb, part, case):
    """Correct on every timed run, and at most ``max_ratio`` times torch's time (best of ``repeats``).

    The figure is the worker's CPU time over the whole call (the kernel's count, read from outside the
    worker: nothing in the worker can change it), arrays through the pipes included and nothing subtracted:
    the case is a convolution whose cost is far above what moving its arrays costs, so the transport is a
    small, fixed share of every honest figure and cannot be traded for a better one. Each timed call's result
    is compared with torch on fresh inputs from the grading's secret. A tripwire fails the case where the
    student's worker moves the same arrays in far less time than a clean worker does (its transport was
    replaced: SECURITY.md), and a time implausibly far below torch's is measured again and fails if it stays."""
    report = check_layer(sb, part, case)
    if report.lines:
        report.lines[:0] = [f"{part.forward.rpartition('.')[2]} must first be correct on this case:"]
        report.credit = 0.0
        return report
    # one grading: the tripwire's clean worker starts up now, on another core while the grader times torch and
    # the student's calls, where both are timed by CPU time (which another process does not change); grade-all
    # measures a clean worker once per batch: none here
    ahead = [sb.clean_twin()] if layer.MEMO is None and counts_cpu() else []
    for twin in ahead:
        twin.spawn()
    try:
        return timed_report(sb, part, case, report, ahead)
    finally:
        for twin in ahead:
            twin.close()


def timed_report(sb, part, case, report, ahead=()):
    """The speed part's measurement of a function right on its case (``report``: that case's); ``ahead``: a clean
    twin already started, for the tripwire."""
    repeats = int(case.get("repeats", 5))
    # Fresh inputs for every timed run, from the grading's secret: never known before the grading.
    seed = int(case.get("secret_seed", case.get("seed", 0)))
    runs = [CaseRun(part, {**case, "seed": seed + i, "fresh": True}, np.random.default_rng(seed + i))
            for i in range(repeats)]
    for run in runs:
        run.solve()
    by_cpu = counts_cpu()  # the machine's, never a reading of the student's worker (which can end itself)
    reference = yardstick(part, case, by_cpu, pause=sb)
    for _ in range(ATTEMPTS):  # a time below IMPLAUSIBLE x torch is noise or a trick: measured again
        calls = timed_calls(sb, part, runs, by_cpu)
        student = min(calls[1]) if by_cpu else min(calls[0])
        if student / reference >= IMPLAUSIBLE:
            break
    ratio = student / reference
    limit = float(case["max_ratio"])
    what = " of CPU time" if by_cpu else ""
    name = part.forward.rpartition(".")[2]
    msg = (f"{name} took {student * 1e3:.2f} ms{what}, torch.nn.functional.conv2d {reference * 1e3:.2f} ms: "
           f"{ratio:.1f}x (limit {limit:g}x)")
    if ratio < IMPLAUSIBLE:
        return Report(lines=[msg, f"this is implausibly fast (under {IMPLAUSIBLE:g}x torch): the measurement is not "
                                  "trusted, so the case fails; if your code is honest, tell the course staff"],
                      printed=report.printed)
    altered = transport_altered(sb, runs, by_cpu, ahead)
    if altered:
        return Report(lines=[msg, altered], printed=report.printed)
    sb.metrics["time_vs_torch"] = round(ratio, 3)  # a trusted measurement (parts.METRICS: the leaderboard)
    if ratio > limit:
        return Report(lines=[msg, "hint: build the im2col matrix with slicing over kernel taps (or stride tricks), "
                                  "then one matrix product (np.matmul / tensordot); no Python loop over output pixels"],
                      printed=report.printed)
    sb.notes.append(msg)
    return Report(printed=report.printed)  # what the correctness call printed, shown as on every visible case


def yardstick(part, case, by_cpu, pause=None):
    """torch's best time for the case's convolution (CPU seconds where the worker's are counted), on the
    grader's own random inputs of the case's shapes; ``pause``: a Sandbox whose processes are stopped
    meanwhile. grade-all measures it once per batch, before any submission is graded (batch_worker.py:
    ``oracle_cache.calibration``), so every submission is held to the same figure, taken while no student
    code ran; one grading measures it itself."""
    repeats = int(case.get("repeats", 5))
    torch_repeats = int(case.get("torch_repeats", 4 * repeats))
    run = CaseRun(part, {**case, "seed": 0}, np.random.default_rng(0))
    shapes = [a.shape for _, a in run.args if a is not None]

    def measure():
        with stage("oracle"):
            return timed()

    def timed():
        if pause is not None:
            pause.pause()
        try:
            rng = np.random.default_rng()
            tensors = [[oracle.tensor(rng.standard_normal(a.shape)) if a is not None else None for _, a in run.args]
                       for _ in range(repeats)]
            return best_time(lambda x, w, b: oracle.F.conv2d(x, w, b, **run.options),
                             lambda i: tensors[i % len(tensors)], torch_repeats,
                             clock=time.process_time if by_cpu else time.perf_counter)
        finally:
            if pause is not None:
                pause.resume()

    return calibration(["torch", part.id, shapes, sorted(run.options.items()), bool(by_cpu), torch_repeats], measure)


def timed_calls(sb, part, runs, by_cpu):
    """(wall seconds, CPU seconds) of the student's function on each run's inputs, every result checked.
    The inputs are not echoed back (the case's correctness call checked what the function does to them). A
    worker whose CPU time cannot be read around a call (it ended itself) fails the measurement."""
    walls, cpus = [], []
    sb.ping()  # the worker is running and has imported the module
    for run in runs:
        before = worker_cpu(sb.proc)
        reply = sb.call(*part.forward.rsplit(".", 1), [a for _, a in run.args], run.options, echo=False)
        cpus.append(cpu_spent(before, worker_cpu(sb.proc)))
        walls.append(reply.seconds)
        if by_cpu and cpus[-1] is None:
            raise Failed(["the worker's CPU time could not be read around a timed call (the worker ended), so the "
                          "speed measurement fails"])
        wrong = expect("out", decode(reply.result["result"], reply.arrays), run.expected["out"])
        if wrong:
            raise Failed(["a timed call went wrong:"] + wrong)
    return walls, cpus


def transport_altered(sb, runs, by_cpu, ahead=()):
    """The tripwire: round trips that carry exactly a timed call's arrays (its inputs in, zeros of its output's
    shape back, nothing run), in the student's worker and in a clean twin that never imports student code.
    The two run the same transport code on the same bytes: where the student's replies are not what was asked
    for, or take under TRIPWIRE of the twin's time twice in a row (a margin far beyond what a busy machine
    does to either), student code replaced the transport. The message, or ''."""
    arrays = [a for _, a in runs[0].args if a is not None]
    out_shape = tuple(runs[0].expected["out"].shape)

    def best(box):
        box.ping(arrays, extra_shapes=[out_shape])  # warm: buffers of these sizes exist
        got = []
        for _ in range(PINGS):
            before = worker_cpu(box.proc)
            reply = box.ping(arrays, extra_shapes=[out_shape])
            if reply.result.get("echo") != len(arrays) or len(reply.arrays) != 1 \
                    or reply.arrays[0].shape != out_shape or reply.arrays[0].any():
                return None
            spent = cpu_spent(before, worker_cpu(box.proc)) if by_cpu else None
            got.append(spent if spent is not None else reply.seconds)
        return min(got)

    def clean():
        sb.pause()  # nothing of the student's runs while the clean worker is measured
        try:
            with (ahead.pop() if ahead else sb.clean_twin()) as twin:  # one started ahead, else a new one
                return best(twin)
        except CallError as err:  # a clean worker runs no student code: its failure is the machine's (retry.py)
            why = f"the clean worker the speed part compares with failed: {err}"
            faults_of(sb).append(why)
            raise CallError(why, kind="machine") from None
        finally:
            sb.resume()

    # grade-all: a clean worker's figure for these arrays, measured once per batch; a student's figure far enough
    # above it passes at once, any other is measured against a live clean worker as in one grading
    shared = batch_calibration(["clean transport", [list(a.shape) for a in arrays], list(out_shape), bool(by_cpu)],
                               clean)
    for attempt in range(2):
        student = best(sb)
        if student is None:
            return ("your worker did not answer the grader's round trips as a clean worker does: your code changed "
                    "how the worker talks to the grader, so the speed measurement is not trusted and the case fails")
        if attempt == 0 and shared is not None and student >= TRIPWIRE * shared:
            return ""
        twin = clean()
        if twin is None or student >= TRIPWIRE * twin:
            return ""
    return (f"your worker moved this call's arrays through its pipes in {student * 1e3:.2f} ms, a clean worker in "
            f"{twin * 1e3:.2f} ms: your code changed how the worker talks to the grader, so the speed measurement "
            "is not trusted and the case fails")
