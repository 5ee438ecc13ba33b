"""make bench's batch figures: `grade-all` of a synthetic export, in core-seconds per submission.

Core-seconds are the user + system CPU time of the whole process tree: the grade-all parent, its grading
processes and every sandboxed worker they start (which run in PID namespaces and are reaped by others, so
getrusage(RUSAGE_CHILDREN) misses them). They are read from a cgroup made for the run (cgroup v1 cpuacct,
else cgroup v2's cpu.stat), which every descendant joins at its birth; where no cgroup can be made, from
RUSAGE_CHILDREN, an undercount that the notes name.

The yardstick is the start-up of ``python -c "import torch, numpy"`` (the grader's interpreter), measured
the same way, the median of a few runs taken right before the batch.
"""

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def own_cgroup(controller):
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, ctrls, path = line.split(":", 2)
            if (controller and controller in ctrls.split(",")) or (not controller and ctrls == ""):
                return path
    except OSError:
        pass
    return "/"


class CpuMeter:
    """CPU seconds of a process tree started with ``preexec`` (a cgroup of its own), or RUSAGE_CHILDREN."""

    def __init__(self, tag):
        self.path, self.kind, self.note = None, "", ""
        candidates = [(Path("/sys/fs/cgroup/cpuacct"), own_cgroup("cpuacct"), "cpuacct.usage", "cgroup v1 cpuacct"),
                      (Path("/sys/fs/cgroup/unified"), own_cgroup(""), "cpu.stat", "cgroup v2 cpu.stat"),
                      (Path("/sys/fs/cgroup"), own_cgroup(""), "cpu.stat", "cgroup v2 cpu.stat")]
        for base, own, stat_file, kind in candidates:
            if not (base / "cgroup.procs").exists():
                continue
            path = base / own.lstrip("/") / f"convgrade-{tag}-{os.getpid()}"
            try:
                path.mkdir()
            except OSError:
                continue
            if (path / stat_file).exists():
                self.path, self.stat_file, self.kind = path, stat_file, kind
                break
            path.rmdir()
        if self.path is None:
            self.kind = "getrusage(RUSAGE_CHILDREN)"
            self.note = ("no cgroup could be made: RUSAGE_CHILDREN misses the sandboxed workers, which "
                         "others reap, so the figure is too low")

    def preexec(self):
        if self.path is not None:
            (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def read(self):
        if self.path is None:
            r = resource.getrusage(resource.RUSAGE_CHILDREN)
            return r.ru_utime + r.ru_stime
        text = (self.path / self.stat_file).read_text()
        if self.stat_file == "cpuacct.usage":
            return int(text) / 1e9
        return int(dict(line.split() for line in text.splitlines())["usage_usec"]) / 1e6

    def close(self):
        if self.path is None:
            return
        for _ in range(100):
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.1)


def run_measured(cmd, env, log, timeout, tag):
    """(core-seconds, wall seconds, return code or None on timeout, meter kind, note) of ``cmd``."""
    meter = CpuMeter(tag)
    try:
        before = meter.read()
        start = time.perf_counter()
        with open(log, "ab") as out:
            proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    preexec_fn=meter.preexec)
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                rc = None
        wall = time.perf_counter() - start
        time.sleep(0.3)  # the last workers' exit accounted
        return meter.read() - before, wall, rc, meter.kind, meter.note
    finally:
        meter.close()


def torch_startup(env, log, runs=5):
    """Median core-seconds of `python -c "import torch, numpy"`, and every run's."""
    cpu = [run_measured([sys.executable, "-c", "import torch, numpy"], env, log, 300, "torch")[0]
           for _ in range(runs)]
    return statistics.median(cpu), cpu


def batch(kinds_of, export_dir, out, jobs, env, log):
    """Grade the export with grade-all; {core, wall, rc, scores, kinds, meter, note}."""
    cmd = [sys.executable, "-m", "autograder", "grade-all", str(export_dir), "--out", str(out)]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    shutil.rmtree(out, ignore_errors=True)
    core, wall, rc, kind, note = run_measured(cmd, env, log, 3 * 3600, "batch")
    scores = {}
    for sid in kinds_of:
        try:
            scores[sid] = json.loads((out / "submissions" / sid / "results.json").read_text())["score"]
        except (OSError, ValueError, KeyError):
            scores[sid] = None
    return {"core": core, "wall": wall, "rc": rc, "scores": scores, "kinds": kinds_of, "meter": kind,
            "note": note}


def graded_right(result, total=100):
    """(all right, text): reference copies at full marks, stubs at 0."""
    by_kind = {}
    for sid, kind in result["kinds"].items():
        by_kind.setdefault(kind, []).append(result["scores"][sid])
    ref = by_kind.get("reference", [])
    stubs = by_kind.get("stub", [])
    ok = all(s == total for s in ref) and all(s == 0 for s in stubs) and result["rc"] == 0
    return ok, (f"{len(ref)} reference copies at {total}: {sum(s == total for s in ref)}; "
                f"{len(stubs)} stubs at 0: {sum(s == 0 for s in stubs)}")
