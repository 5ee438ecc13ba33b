"""The checkers of the parts that are not layers: a list of ints, and a speed measurement.

Every other part is checked by layer.check_layer from its table entry alone. These take the part
entry too, and call the function it names (``forward:``), never a literal module. A checker returns
its problems as a list of lines (or a feedback.Report); none: the case passed.
"""

import time
from types import SimpleNamespace

import numpy as np

from ..sandbox.codec import decode
from ..sandbox.cpu import best_time, cpu_spent, worker_cpu
from .calls import Call, Failed, expect, modified
from .compare import type_name
from .evidence import Report
from .layer import CaseRun, check_layer, oracle
from .mistakes import diagnose
from .oracle_cache import calibration


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


def check_gemm_efficiency(sb, part, case):
    """Correct on every timed run, and at most ``max_ratio`` times torch's time (best of ``repeats``).

    The sandbox's own overhead (arrays through the pipes, decoding, the echo of the inputs) is measured
    in a second, clean worker that never imports student code, with arrays of the same shapes but other
    values, so nothing the student's code does can lower it or see the timed inputs early. Each timed
    call's result is compared with torch on the same inputs; a time that is not above the overhead, or
    implausibly far below torch's, fails the case."""
    report = check_layer(sb, part, case)
    if report.lines:
        report.lines[:0] = [f"{part.forward.rpartition('.')[2]} must first be correct on this case:"]
        report.credit = 0.0
        return report
    repeats = int(case.get("repeats", 5))
    # Fresh inputs for every timed run, from the grading's secret: never known before the grading.
    seed = int(case.get("secret_seed", case.get("seed", 0)))
    runs = [CaseRun(part, {**case, "seed": seed + i}, np.random.default_rng(seed + i)) for i in range(repeats)]
    for run in runs:
        run.solve()
    shapes = [a.shape for _, a in runs[0].args if a is not None]
    by_cpu = worker_cpu(sb.proc) is not None
    torch_repeats = int(case.get("torch_repeats", 4 * repeats))

    def torch_time():
        sb.pause()
        try:
            tensors = [[oracle.tensor(a) for _, a in r.args] for r in runs]
            return best_time(lambda x, w, b: oracle.F.conv2d(x, w, b, **runs[0].options),
                             lambda i: tensors[i % len(tensors)], torch_repeats,
                             clock=time.process_time if by_cpu else time.perf_counter)
        finally:
            sb.resume()

    # grade-all: one yardstick for the whole batch (oracle_cache.calibration), else measured here
    yardstick = [part.id, shapes, sorted(runs[0].options.items()), by_cpu]
    reference = calibration(["torch", *yardstick, torch_repeats], torch_time)
    # A time at or below the overhead is noise or a trick: measured again, it fails only if it stays so.
    for attempt in range(ATTEMPTS):
        calls = timed_calls(sb, part, runs)
        pings = calibration(["overhead", *yardstick, attempt], lambda: overhead(sb, runs, shapes, 3 * repeats))
        by_cpu = by_cpu and None not in calls[1] + pings[1]
        # Best call minus best ping: each minimum is the least disturbed run of its kind.
        student = min(calls[1]) - min(pings[1]) if by_cpu else min(calls[0]) - min(pings[0])
        if student / reference >= IMPLAUSIBLE:
            break
    ratio = student / reference
    limit = float(case["max_ratio"])
    what = " of CPU time" if by_cpu else ""
    name = part.forward.rpartition(".")[2]
    msg = (f"{name} took {student * 1e3:.2f} ms{what} beyond the sandbox's overhead, "
           f"torch.nn.functional.conv2d {reference * 1e3:.2f} ms: {ratio:.1f}x (limit {limit:g}x)")
    if ratio < IMPLAUSIBLE:
        return Report(lines=[msg, f"this is implausibly fast (under {IMPLAUSIBLE:g}x torch): the measurement is not "
                                  "trusted, so the case fails; if your code is honest, tell the course staff"],
                      printed=report.printed)
    sb.metrics["time_vs_torch"] = round(ratio, 3)  # a trusted measurement (parts.METRICS: the leaderboard)
    if ratio > limit:
        return Report(lines=[msg, "hint: build the im2col matrix with slicing over kernel taps (or stride tricks), "
                                  "then one matrix product (np.matmul / tensordot); no Python loop over output pixels"],
                      printed=report.printed)
    sb.notes.append(msg)
    return Report(printed=report.printed)  # what the correctness call printed, shown as on every visible case


def timed_calls(sb, part, runs):
    """(wall seconds, CPU seconds) of the student's function on each run's inputs, every result checked, and
    every call's full echo of its inputs too: the clean twin's round trips (``overhead``) carry the same
    traffic, so a reply that left part of it out would make the student's time look shorter."""
    walls, cpus = [], []
    sb.ping()  # the worker is running and has imported the module
    func = part.forward.rsplit(".", 1)[1]
    for run in runs:
        inputs = [(n, a) for n, a in run.args if a is not None]
        before = worker_cpu(sb.proc)
        reply = sb.call(*part.forward.rsplit(".", 1), [a for _, a in run.args], run.options)
        cpus.append(cpu_spent(before, worker_cpu(sb.proc)))
        walls.append(reply.seconds)
        wrong = expect("out", decode(reply.result["result"], reply.arrays), run.expected["out"])
        wrong += modified([n for n, _ in inputs], [a for _, a in inputs],
                          [decode(d, reply.arrays) for d in reply.result.get("echo", [])], func, "in a timed call")
        if wrong:
            raise Failed(["a timed call went wrong:"] + wrong)
    return walls, cpus


def overhead(sb, runs, shapes, repeats):
    """(wall seconds, CPU seconds) of round trips that carry what a timed call carries, each way, in a
    clean worker of the same kind: other values, the same shapes, no student module imported."""
    rng = np.random.default_rng()
    out_shape = runs[0].expected["out"].shape
    walls, cpus = [], []
    sb.pause()  # nothing of the student's runs while the overhead is measured
    try:
        with sb.clean_twin() as twin:
            twin.ping([rng.standard_normal(s) for s in shapes], echo=True, extra_shapes=[out_shape])  # warm
            for _ in range(repeats):
                arrays = [rng.standard_normal(s) for s in shapes if s is not None]
                before = worker_cpu(twin.proc)
                walls.append(twin.ping(arrays, echo=True, extra_shapes=[out_shape]).seconds)
                cpus.append(cpu_spent(before, worker_cpu(twin.proc)))
    finally:
        sb.resume()
    return walls, cpus
