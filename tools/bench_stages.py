"""make bench's figures of one grading: against a torch start-up, per case, and where its time goes by stage.

Pairs, taken in turn so that both see the same machine: ``python -c "import torch, numpy"``, then
``python -m autograder grade solutions`` (as bench.py runs it: a sandbox user of its own where root). Each is
a whole process tree in a cgroup of its own (bench_batch.CpuMeter: the workers too), CPU = user + system.
The grading runs with CONVGRADE_STAGES (autograder/sandbox/stages.py), which records this process's CPU per
stage and its workers' CPU; what the meter does not see (the interpreter, the grader's own imports, reading
the case table, printing the score table) is the rest of the tree's CPU, counted with the start-up.

    python tools/bench_stages.py [--pairs N]     # print the figures (bench.py's "grade" group records them)
"""

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

import bench_batch  # noqa: E402

from autograder.sandbox.stages import STAGES  # noqa: E402

# The stages as the table reports them, each with its budget in ms of CPU per case (grader and workers): the
# figures measured after issue 30 with room for the noise of a shared machine. "start-up" is per grading.
BUDGETS = {"start-up": None, "intake": 0.15, "sandbox": 0.8, "worker start": 1.5, "student calls": 1.6,
           "oracle": 0.6, "checks": 0.8, "feedback": 0.1, "writing": 0.05}


def measured(cmd, env, log, tag):
    """(CPU seconds of the tree, wall seconds, return code) of ``cmd``."""
    core, wall, rc, _, _ = bench_batch.run_measured(cmd, env, log, 600, tag)
    return core, wall, rc


def pairs(n, env, work, submission=None):
    """[(torch CPU, torch wall, grading CPU, grading wall, its stage record, its score)] of ``n`` pairs."""
    submission = submission or ROOT / "solutions"
    log = Path(work) / "stages.log"
    out = []
    for i in range(n):
        t_cpu, t_wall, _ = measured([sys.executable, "-c", "import torch, numpy"], env, log, "torch")
        record_file = Path(work) / f"stages-{i}.jsonl"
        record_file.unlink(missing_ok=True)
        results = Path(work) / f"stages-{i}-results.json"
        g_cpu, g_wall, rc = measured([sys.executable, "-m", "autograder", "grade", str(submission), "--results",
                                      str(results)], dict(env, CONVGRADE_STAGES=str(record_file)), log, "grade")
        try:
            record = json.loads(record_file.read_text().splitlines()[-1])
            score = json.loads(results.read_text())["score"]
        except (OSError, ValueError, IndexError, KeyError):
            record, score = None, None
        out.append((t_cpu, t_wall, g_cpu, g_wall, record, score))
    return out


def shares(tree_cpu, record):
    """{stage: CPU seconds} of one grading, grader and workers together, summing to the tree's CPU: the
    worker's own start-up is "worker start", its calls "student calls", what the meter did not see is start-up."""
    cpu = dict(record["cpu"])
    for k, v in record["workers_cpu"].items():
        cpu[k] = cpu.get(k, 0.0) + v
    cpu["start-up"] = cpu.get("start-up", 0.0) + max(tree_cpu - sum(cpu.values()), 0.0)
    return {k: cpu.get(k, 0.0) for k in STAGES}


def summary(results):
    """The figures of ``pairs``' results: medians of the ratios (pair by pair) and of each stage per case."""
    ok = [r for r in results if r[4] is not None]
    cases = ok[0][4]["cases"] if ok else 0
    by_stage = {k: statistics.median(shares(r[2], r[4])[k] for r in ok) for k in STAGES} if ok else {}
    per_case = {k: v / cases * 1e3 for k, v in by_stage.items() if k != "start-up"} if cases else {}
    total = sum(by_stage.values()) or 1.0
    return {
        "cpu_ratio": statistics.median(r[2] / r[0] for r in results),
        "wall_ratio": statistics.median(r[3] / r[1] for r in results),
        "torch_cpu": statistics.median(r[0] for r in results), "torch_wall": statistics.median(r[1] for r in results),
        "grade_cpu": statistics.median(r[2] for r in results), "grade_wall": statistics.median(r[3] for r in results),
        "cases": cases, "stage_seconds": by_stage, "stage_ms_per_case": per_case,
        "share": {k: v / total for k, v in by_stage.items()},
        "case_ms": sum(per_case.values()), "scores": sorted({r[5] for r in results}, key=str),
    }


PROFILED = """
import cProfile, json, os, pstats, sys, time
sys.path.insert(0, {root!r})
sys.argv = ["autograder", "grade", {submission!r}]
from autograder.cli import main
import autograder.checking.oracle, autograder.checking.parts, autograder.grading.grader  # imports: start-up
profile = cProfile.Profile(time.process_time)
profile.enable()
try:
    main(sys.argv[1:])
finally:
    profile.disable()
stats = pstats.Stats(profile).stats
print(json.dumps([[f"{{f}}:{{n}}" if f != "~" else n, tt] for (f, l, n), (cc, nc, tt, ct, callers) in stats.items()]))
"""


def where(name, root=str(ROOT)):
    """A profiled function's place, readable: torch's and numpy's own code by package, the grader's by module,
    a built-in by its name."""
    place, _, func = name.rpartition(":")
    if not place:
        func = re.sub(r"^<(built-in method |method )?(.*)>$", r"\2", func)
        return f"{func} (built-in)"
    for package in ("torch", "numpy", "yaml", "rich", "gradescope_utils"):
        if f"/site-packages/{package}/" in place:
            return f"{package} (its own Python code)"
    if place.startswith(root):
        return place[len(root) + 1:]
    return "the standard library: " + Path(place).name


def top_items(submission=None, env=None, n=10):
    """[(where, share of the grading process's CPU)] of the ``n`` places it spends its own CPU in most, from
    cProfile (CPU time) over one `python -m autograder grade` once torch and the grader's modules are imported
    (the grader process only; start-up and the workers are in the stages)."""
    code = PROFILED.format(root=str(ROOT), submission=str(submission or ROOT / "solutions"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    rows = json.loads(out.stdout.strip().splitlines()[-1])
    total = sum(t for _, t in rows) or 1.0
    grouped = {}
    for name, t in rows:
        key = where(name)
        grouped[key] = grouped.get(key, 0.0) + t
    return [(k, v / total) for k, v in sorted(grouped.items(), key=lambda kv: -kv[1])[:n]]


def describe(s):
    """Lines for a terminal."""
    lines = [f"one grading of the reference: {s['grade_cpu']:.2f} CPU-s, {s['grade_wall']:.2f} s wall; "
             f"python -c 'import torch, numpy': {s['torch_cpu']:.2f} CPU-s, {s['torch_wall']:.2f} s "
             f"(medians); ratio CPU {s['cpu_ratio']:.2f}x, wall {s['wall_ratio']:.2f}x (medians of the pairs)",
             f"{s['cases']} cases: {s['case_ms']:.2f} ms of CPU per case beyond start-up (grader and workers)"]
    for k in STAGES:
        ms = f", {s['stage_ms_per_case'][k]:.2f} ms per case" if k in s["stage_ms_per_case"] else ""
        lines.append(f"  {k:14s} {s['share'][k]:6.1%}  {s['stage_seconds'][k]:.3f} CPU-s{ms}")
    return lines


def main(argv=None):
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=5)
    args = ap.parse_args(argv)
    import bench

    with tempfile.TemporaryDirectory(prefix="convgrade-stages-") as work:
        start = time.perf_counter()
        s = summary(pairs(args.pairs, bench.bench_env(), work))
        print("\n".join(describe(s)))
        print(f"({args.pairs} pairs in {time.perf_counter() - start:.0f} s)")
        print("where the grading process's own CPU goes (cProfile, CPU time):")
        for place, share in top_items(env=bench.bench_env()):
            print(f"  {share:6.1%}  {place}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
