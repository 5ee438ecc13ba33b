"""Performance figures of the grader against Gradescope's smallest container.

    python tools/bench.py            # everything: the table, docs/performance.json, bench.json
    python tools/bench.py --quick    # skip the 200-submission batch, the endless loop and the hogs, fewer runs
    make bench [QUICK=1]

The figures go into docs/performance.json (committed; each figure with the date and machine of the run that
measured it, a figure this run skipped keeps its last value), which `make docs` renders as the README's
Performance table; every raw measurement goes into bench.json (not committed).

Figures (targets in FIGURES below):
  grading runs     `python -m autograder grade` as Gradescope would run it, as a
                   subprocess: wall time (median of --runs) and the peak of the summed
                   RSS of its whole process tree (grader + sandbox worker), sampled
                   from /proc every 20 ms;
  sandbox          Sandbox.ping round trip with case-size arrays (median of 300);
  layers vs torch  reference conv2d / conv_transpose2d / max pool forward+backward
                   against torch autograd (float64) in one process, both
                   single-threaded (torch.set_num_threads(1), OPENBLAS_NUM_THREADS=1:
                   what the sandbox and the oracle use);
  gemm_efficiency  the real checker on the reference, on a loop over output pixels
                   (tests/mutants/gemm_with_loops.py) and on a loop over output
                   positions vectorised over the batch; idle and with every core busy;
  budget           a grading run pinned to one core with half a CPU (cgroup cpu quota)
                   and 768 MB for the whole run (cgroup v1 memory limit), where this
                   machine lets us create cgroups; else pinned, and its peak RSS
                   compared with 768 MB;
  hogs             the reference graded 20 times beside two CPU hogs (processes spinning in sessions of
                   their own): how many score full marks ("under two CPU hogs the reference scores full
                   marks in N of 20 gradings"; every one must);
  batch            `python -m autograder grade-all` of a synthetic export of 200
                   submissions (3/4 reference copies, 1/4 stubs), then of 200 reference copies,
                   with its default --jobs (one per core): core-seconds of the whole process
                   tree per submission, as a multiple of `python -c "import torch, numpy"`'s
                   start-up (tools/bench_batch.py); and the wall time.

Sandboxes run as sandbox users of this bench run's own (cgb<pid>, batch: cgb<pid>-N), never as
the users a concurrent `make grade`, test run or bench uses: the grader kills every
process of its sandbox user. As root they are removed at the end (`autograder cleanup`).
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tools")]

import mutants  # noqa: E402  (tests/mutants: the catalogue and its builder)
from bench_stages import BUDGETS  # noqa: E402

from autograder.checking.table import MODULES  # noqa: E402

LOOPS_STYLE = ROOT / "tests" / "styles" / "loops"
GEMM_LOOPS = ROOT / "tests" / "mutants" / "gemm_with_loops.py"
PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 2**20
BUDGET_MEMORY = 768 * MB
FIGURES_FILE = ROOT / "docs" / "performance.json"
BENCH_USER = f"cgb{os.getpid():x}"  # this run's sandbox users (removed at its end)
HOG_RUNS = 20  # gradings of the reference beside two CPU hogs (issue 28: every one at full marks)
BUDGET_CPU = 0.5  # Gradescope's smallest container: half a CPU
GLOBAL_TIMEOUT = 600.0  # Gradescope's default: a run that hits it scores 0

# key: (label, unit, target, sense) -- sense "max": measured <= target passes; "min": measured > target passes;
# "all": measured == target passes (a count of runs).
FIGURES = {
    "grade_ref_wall": ("grading run, reference solutions: wall", "s", 20.0, "max"),
    "grade_ref_rss": ("grading run, reference: peak RSS of all processes", "MB", 500.0, "max"),
    "grade_ref_cpu_ratio": ("one grading of the reference / python -c 'import torch, numpy': CPU of each whole "
                            "process tree", "x", 1.5, "max"),
    "grade_ref_wall_ratio": ("one grading of the reference / python -c 'import torch, numpy': wall", "x", 1.5,
                             "max"),
    "grade_case_ms": ("one grading of the reference: CPU per case beyond start-up (grader and workers)", "ms", 5.0,
                      "max"),
    **{f"stage_{k.replace(' ', '_').replace('-', '_')}": (f"  stage: {k}, CPU per case (share of the grading)", "ms",
                                                          budget, "max")
       for k, budget in BUDGETS.items() if budget is not None},
    "grade_loops_wall": ("grading run, loop-based submission: wall", "s", 60.0, "max"),
    "ping_typical": ("Sandbox.ping, typical case arrays (median)", "ms", 5.0, "max"),
    "ratio_conv": ("conv2d fwd+bwd, reference / torch", "x", 2.0, "max"),
    "ratio_tconv": ("conv_transpose2d fwd+bwd, reference / torch", "x", 2.0, "max"),
    "ratio_maxpool": ("max pool 2x2/2 fwd+bwd, reference / torch", "x", 2.0, "max"),
    "ratio_maxpool_overlap": ("max pool 3x3/2 pad 1 fwd+bwd, reference / torch", "x", 2.0, "max"),
    "gemm_ref": ("gemm_efficiency, im2col + matmul (worst run)", "x torch", None, "max"),
    "gemm_loops": ("gemm_efficiency, loop over output pixels (best run)", "x torch", None, "min"),
    "gemm_positions": ("gemm_efficiency, loop over positions, batch vectorised (best)", "x torch", None, "min"),
    "budget_ref_wall": ("budget run, reference: wall (score 100, no OOM)", "s", GLOBAL_TIMEOUT, "max"),
    "budget_ref_memory": ("budget run, reference: peak memory", "MB", BUDGET_MEMORY / MB, "max"),
    "budget_loops_wall": ("budget run, loop-based submission: wall", "s", GLOBAL_TIMEOUT, "max"),
    "batch_ratio": ("grade-all, 3/4 reference + 1/4 stubs: core-s per submission / torch+numpy start-up", "x",
                    0.25, "max"),
    "batch_ratio_ref": ("grade-all, reference copies only: core-s per submission / torch+numpy start-up", "x",
                        0.25, "max"),
    "batch_wall": ("grade-all, 3/4 reference + 1/4 stubs: wall", "s", 600.0, "max"),
    "hang_wall": ("every function loops forever, time limits / 10: wall", "s", GLOBAL_TIMEOUT / 10, "max"),
    "hogs_full": ("under two CPU hogs: gradings of the reference at full marks", "of 20", HOG_RUNS, "all"),
    "container_ratio": ("Gradescope's container (0.5 CPU, 768 MB): run_autograder on the reference / "
                        "python -c 'import torch, numpy' there", "x", 1.5, "max"),
    "container_memory": ("Gradescope's container: peak memory of that run (its cgroup)", "MB", BUDGET_MEMORY / MB,
                         "max"),
}
HANG_SCALE = 10  # the hanging submission runs with call/import time-outs and the grading budget / 10

# A loop over output positions, vectorised over the batch: 1/N of the iterations of
# tests/mutants/gemm_with_loops.py, still a Python loop per output pixel.
POSITIONS_LOOP = '''
import numpy as np
from common import conv_output_size, pair


def conv2d_gemm(x, w, b=None, stride=1, padding=0, dilation=1):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    w2 = w.reshape(F, -1).T
    out = np.zeros((N, F, Ho, Wo), dtype=x.dtype)
    for i in range(Ho):
        for j in range(Wo):
            patch = xp[:, :, i * sh:i * sh + dh * (KH - 1) + 1:dh, j * sw:j * sw + dw * (KW - 1) + 1:dw]
            out[:, :, i, j] = patch.reshape(N, -1) @ w2
    if b is not None:
        out += b.reshape(1, F, 1, 1)
    return out
'''

# Mutants mixed into the synthetic batch (each one is appended to its reference module).
BATCH_MUTANTS = ["conv_kernel_flipped", "maxpool_zero_padding", "gemm_with_loops", "tconv_output_padding_ignored",
                 "conv_db_mean", "col2im_fancy_index_add", "nearest_forward_tiles", "fc_to_conv_hwc_order"]


# ----------------------------------------------------------------- processes
def children(pid):
    """Direct children of ``pid`` over all its threads (batch.py starts gradings from threads)."""
    out = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return out


def children_by_scan(pid):
    kids = []
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                with open(f"/proc/{e}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(e))
            except (OSError, ValueError, IndexError):
                continue
    return kids


HAVE_CHILDREN_FILE = os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return None


def tree(root, skip_clones=False):
    """``root`` and its descendants. ``skip_clones``: leave out a child that still runs its parent's
    command line: forked or vforked but not yet exec'd, it shares the parent's pages, and its RSS would
    count them a second time."""
    find = children if HAVE_CHILDREN_FILE else children_by_scan
    out, todo = [], [(root, None)]
    while todo:
        p, parent_cmd = todo.pop()
        cmd = cmdline(p) if skip_clones else None
        if skip_clones and parent_cmd is not None and cmd == parent_cmd:
            continue
        out.append(p)
        todo += [(c, cmd) for c in find(p)]
    return out


def rss(pid):
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


class Sampler(threading.Thread):
    """Peak of the summed RSS of a process tree, sampled every ``interval`` seconds."""

    def __init__(self, pid, interval=0.02):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak, self.peak_procs, self.samples = 0, 0, 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            pids = tree(self.pid, skip_clones=True)
            total = sum(rss(p) for p in pids)
            self.samples += 1
            if total > self.peak:
                self.peak, self.peak_procs = total, len(pids)
            self.stop.wait(self.interval)

    def finish(self):
        self.stop.set()
        self.join()
        return self


def run_tree(cmd, timeout, env=None, preexec_fn=None, log=None):
    """Run ``cmd``; (wall seconds, peak summed RSS bytes, return code or None on timeout)."""
    out = open(log, "wb") if log else subprocess.DEVNULL
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, preexec_fn=preexec_fn)
        sampler = Sampler(proc.pid)
        sampler.start()
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            for p in reversed(tree(proc.pid)):
                try:
                    os.kill(p, 9)
                except OSError:
                    pass
            proc.wait()
            rc = None
        wall = time.perf_counter() - start
        sampler.finish()
    finally:
        if log:
            out.close()
    return wall, sampler.peak, rc


def bench_env(**extra):
    env = dict(os.environ)
    env.setdefault("CONVGRADE_SANDBOX_USER", BENCH_USER)
    env.update(extra)
    return env


def read_score(results):
    """The score of a results.json, or None when it is missing or unreadable."""
    try:
        return json.loads(Path(results).read_text())["score"]
    except (OSError, ValueError, KeyError):
        return None


def grade_once(submission, workdir, timeout=GLOBAL_TIMEOUT, preexec_fn=None, tag="grade", table=None, env=None):
    res = Path(workdir) / f"{tag}-results.json"
    res.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "autograder", *(["--table", str(table)] if table else []), "grade", str(submission),
           "--results", str(res), "--width", "120"]
    wall, peak, rc = run_tree(cmd, timeout, env=env or bench_env(), preexec_fn=preexec_fn,
                              log=Path(workdir) / f"{tag}.log")
    return {"wall": wall, "rss": peak, "rc": rc, "score": read_score(res)}


# ----------------------------------------------------------------- submissions
def hanging_submission(dest):
    """The reference with every public function replaced by an endless loop."""
    import ast

    dest.mkdir(parents=True)
    for m in MODULES:
        src = (ROOT / "solutions" / f"{m}.py").read_text()
        names = [n.name for n in ast.parse(src).body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")]
        loops = "".join(f"\n\ndef {n}(*args, **kwargs):\n    while True:\n        pass\n" for n in names)
        (dest / f"{m}.py").write_text(src + "\n" + loops)


def scaled_table(dest, scale):
    """cases.yaml with its call and import time-outs divided by ``scale``."""
    import yaml

    from autograder.sandbox.limits import Limits

    data = yaml.safe_load((ROOT / "autograder" / "cases.yaml").read_text())
    limits = data.setdefault("limits", {})
    for key in ("call_timeout", "import_timeout"):
        limits[key] = float(limits.get(key, getattr(Limits, key))) / scale
    dest.write_text(yaml.safe_dump(data, sort_keys=False))
    return limits


def synthetic_export(root, n=100, stubs=25, n_mutants=10):
    """A Gradescope-style export folder: submission_metadata.yml + submission_<id>/ folders."""
    root = Path(root)
    root.mkdir(parents=True)
    kinds, meta = {}, []
    placed = {"mutant": 0, "stub": 0}
    for i in range(n):
        sid = 100000 + i
        folder = root / f"submission_{sid}"
        if i % 10 == 9 and placed["mutant"] < n_mutants:
            name = BATCH_MUTANTS[placed["mutant"] % len(BATCH_MUTANTS)]
            placed["mutant"] += 1
            mutants.build(name, folder)
            kinds[str(sid)] = f"mutant:{name}"
        else:
            kind = "stub" if i % 4 == 1 and placed["stub"] < stubs else "reference"
            placed["stub"] += kind == "stub"
            folder.mkdir()
            for m in MODULES:
                shutil.copyfile(ROOT / ("assignment" if kind == "stub" else "solutions") / f"{m}.py",
                                folder / f"{m}.py")
            kinds[str(sid)] = kind
        meta.append(f"submission_{sid}:\n  :submitters:\n  - :name: Student {i}\n    :sid: '{sid}'\n"
                    f"    :email: s{sid}@example.edu\n  :created_at: 2026-01-01 12:00:00.000000000 -08:00\n")
    (root / "submission_metadata.yml").write_text("".join(meta))
    return kinds


# ----------------------------------------------------------------- children (own process, clean env)
def child_ratios(reps):
    """Reference layers vs torch autograd, float64, both single-threaded, one process."""
    sys.path.insert(0, str(ROOT / "solutions"))
    import conv
    import numpy as np
    import pooling
    import torch
    import torch.nn.functional as F
    import transposed

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)

    def torch_fb(op, arrays, dout, **kw):
        def run():
            ts = [torch.from_numpy(a).requires_grad_() for a in arrays]
            out = op(*ts, **kw)
            out = out[0] if isinstance(out, tuple) else out
            out.backward(torch.from_numpy(dout))
        return run

    out = {"torch_threads": torch.get_num_threads(), "torch": torch.__version__, "numpy": np.__version__}
    # conv2d: N=16, C=32, 32x32, F=64, 3x3, pad 1
    x, w, b = rng.standard_normal((16, 32, 32, 32)), rng.standard_normal((64, 32, 3, 3)), rng.standard_normal(64)
    d = rng.standard_normal((16, 64, 32, 32))

    def np_conv():
        _, c = conv.conv2d_forward(x, w, b, stride=1, padding=1)
        conv.conv2d_backward(d, c)

    pairs = {"ratio_conv": (np_conv, torch_fb(F.conv2d, [x, w, b], d, stride=1, padding=1))}
    # conv_transpose2d: N=16, C_in=64 -> C_out=32, 16x16 -> 32x32, 4x4, stride 2, pad 1
    xt, wt, bt = rng.standard_normal((16, 64, 16, 16)), rng.standard_normal((64, 32, 4, 4)), rng.standard_normal(32)
    dt = rng.standard_normal((16, 32, 32, 32))

    def np_tconv():
        _, c = transposed.conv_transpose2d_forward(xt, wt, bt, stride=2, padding=1)
        transposed.conv_transpose2d_backward(dt, c)

    pairs["ratio_tconv"] = (np_tconv, torch_fb(F.conv_transpose2d, [xt, wt, bt], dt, stride=2, padding=1))
    # max pool on N=16, C=32, 32x32: 2x2 stride 2, and overlapping 3x3 stride 2 pad 1
    xp = rng.standard_normal((16, 32, 32, 32))
    for key, (k, s, p) in (("ratio_maxpool", (2, 2, 0)), ("ratio_maxpool_overlap", (3, 2, 1))):
        o = pooling.max_pool2d_forward(xp, k, s, p)[0]
        dp = rng.standard_normal(o.shape)

        def np_pool(k=k, s=s, p=p, dp=dp):
            _, _, c = pooling.max_pool2d_forward(xp, k, s, p)
            pooling.max_pool2d_backward(dp, c)

        pairs[key] = (np_pool, torch_fb(lambda a, k=k, s=s, p=p: F.max_pool2d(a, k, s, p, return_indices=True),
                                        [xp], dp))
    for key, (a, t) in pairs.items():
        # alternating runs: a burst of load from elsewhere hits both sides alike
        a(), t(), a(), t()
        ra, rt = [], []
        for _ in range(3 * reps):
            for fn, times in ((a, ra), (t, rt)):
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
        na, nt = statistics.median(ra), statistics.median(rt)
        out[key] = {"value": na / nt, "numpy_ms": na * 1e3, "torch_ms": nt * 1e3}
    return out


def child_ping(n):
    import numpy as np

    from autograder.checking.table import load
    from autograder.sandbox.isolation import acquire, release
    from autograder.sandbox.session import Sandbox

    rng = np.random.default_rng(0)
    big = load().part("gemm_efficiency").cases[0]
    sets = {
        "none": [],
        "typical": [rng.standard_normal(s) for s in ((2, 3, 5, 5), (4, 3, 3, 3), (4,))],
        "largest": [rng.standard_normal(s) for s in (big["x"], big["w"], (big["w"][0],))],
    }
    out = {}
    user, _ = acquire()  # a slot of its own: the grader kills every process of its sandbox user
    try:
        start = time.perf_counter()
        with Sandbox(files={}, user=user) as sb:
            sb.ping([])
            out["worker_start_ms"] = (time.perf_counter() - start) * 1e3
            for key, arrays in sets.items():
                times = [sb.ping(arrays).seconds for _ in range(n)]
                out[key] = {"median_ms": statistics.median(times) * 1e3,
                            "p90_ms": sorted(times)[int(0.9 * n)] * 1e3,
                            "bytes": int(sum(a.nbytes for a in arrays))}
    finally:
        release(user)
    return out


def child_gemm(rounds):
    import re

    from autograder.checking import parts
    from autograder.checking.table import load
    from autograder.sandbox.isolation import acquire, release
    from autograder.sandbox.session import Sandbox

    part = load().part("gemm_efficiency")
    case = part.cases[0]
    tmp = Path(tempfile.mkdtemp(prefix="convgrade-bench-"))
    positions = tmp / "toeplitz_positions.py"
    positions.write_text(POSITIONS_LOOP)
    variants = {"gemm_ref": ROOT / "solutions" / "toeplitz.py", "gemm_loops": GEMM_LOOPS,
                "gemm_positions": positions}
    out = {"case": case, "max_ratio": float(case["max_ratio"])}
    user, _ = acquire()  # a slot of its own: the grader kills every process of its sandbox user
    try:
        for load_kind in ("idle", "loaded"):
            hogs = []
            if load_kind == "loaded":
                hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                        for _ in range(os.cpu_count() or 2)]
            try:
                for key, path in variants.items():
                    ratios, notes, passed = [], [], []
                    with Sandbox(files={"toeplitz": str(path)}, user=user) as sb:
                        for _ in range(rounds):
                            sb.notes.clear()
                            sb.metrics.clear()
                            found = parts.CHECKERS["gemm_efficiency"](sb, part, case)
                            lines = list(getattr(found, "lines", found) or [])  # a Report, or the problems
                            text = " ".join(lines or sb.notes)
                            m = re.search(r"took ([\d.]+) ms.*?, torch\.nn\.functional\.conv2d ([\d.]+) ms: ", text)
                            if "time_vs_torch" in sb.metrics:  # the checker's own figure (the leaderboard's)
                                ratios.append(float(sb.metrics["time_vs_torch"]))
                            elif m:
                                ratios.append(float(m.group(1)) / float(m.group(2)))
                            notes.append(text[:160])
                            passed.append(not lines)
                    out.setdefault(key, {})[load_kind] = {"ratios": ratios, "passed": passed, "notes": notes[:1]}
            finally:
                for h in hogs:
                    h.kill()
                    h.wait()
    finally:
        release(user)
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def run_child(name, arg, env=None):
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--child-arg", str(arg)]
    res = subprocess.run(cmd, cwd=ROOT, env=env or bench_env(), capture_output=True, text=True, timeout=1800)
    if res.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------- budget (cgroups)
class Budget:
    """One core, half a CPU and 768 MB for a whole process tree, with cgroup v1 where possible."""

    def __init__(self, memory=BUDGET_MEMORY, cpu_share=BUDGET_CPU, core=0):
        self.memory, self.cpu_share, self.core = memory, cpu_share, core
        self.groups, self.notes = {}, []
        name = f"convgrade-bench-{os.getpid()}"
        for controller in ("memory", "cpu"):
            base = Path("/sys/fs/cgroup") / controller
            if not (base / "cgroup.procs").exists():
                self.notes.append(f"no cgroup v1 {controller} controller")
                continue
            # Below our own cgroup: the run stays inside whatever contains us.
            own = self._own(controller)
            path = base / own.lstrip("/") / name
            try:
                path.mkdir()
                if controller == "memory":
                    (path / "memory.limit_in_bytes").write_text(str(memory))
                    if (path / "memory.memsw.limit_in_bytes").exists():
                        try:
                            (path / "memory.memsw.limit_in_bytes").write_text(str(memory))
                        except OSError:
                            pass
                else:
                    (path / "cpu.cfs_period_us").write_text("100000")
                    (path / "cpu.cfs_quota_us").write_text(str(int(100000 * cpu_share)))
                self.groups[controller] = path
            except OSError as exc:
                self.notes.append(f"cannot create a {controller} cgroup ({exc.strerror or exc})")
                try:
                    path.rmdir()
                except OSError:
                    pass

    @staticmethod
    def _own(controller):
        try:
            for line in Path("/proc/self/cgroup").read_text().splitlines():
                _, ctrls, path = line.split(":", 2)
                if controller in ctrls.split(","):
                    return path
        except OSError:
            pass
        return "/"

    def describe(self):
        parts = [f"pinned to core {self.core}"]
        if "cpu" in self.groups:
            parts.append(f"{self.cpu_share:g} CPU (cgroup cpu quota)")
        if "memory" in self.groups:
            parts.append(f"{self.memory // MB} MB (cgroup memory limit)")
        else:
            parts.append(f"no memory limit: peak RSS compared with {self.memory // MB} MB")
        return ", ".join(parts)

    def preexec(self):
        for path in self.groups.values():
            (path / "cgroup.procs").write_text(str(os.getpid()))
        os.sched_setaffinity(0, {self.core})

    def reset(self):
        mem = self.groups.get("memory")
        if mem:
            (mem / "memory.max_usage_in_bytes").write_text("0")
            (mem / "memory.failcnt").write_text("0")

    def stats(self):
        out = {}
        mem = self.groups.get("memory")
        if mem:
            out["cgroup_peak"] = int((mem / "memory.max_usage_in_bytes").read_text())
            out["failcnt"] = int((mem / "memory.failcnt").read_text())
            for line in (mem / "memory.oom_control").read_text().splitlines():
                k, v = line.split()
                if k == "oom_kill":
                    out["oom_kills"] = int(v)
        cpu = self.groups.get("cpu")
        if cpu:
            for line in (cpu / "cpu.stat").read_text().splitlines():
                k, v = line.split()
                if k in ("nr_throttled", "throttled_time"):
                    out[k] = int(v)
        return out

    def close(self):
        for path in self.groups.values():
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


def budget_run(submission, workdir, tag):
    budget = Budget()
    try:
        budget.reset()
        before = budget.stats()
        r = grade_once(submission, workdir, timeout=GLOBAL_TIMEOUT, preexec_fn=budget.preexec, tag=tag)
        after = budget.stats()
    finally:
        budget.close()
    r["limits"] = budget.describe()
    r["notes"] = budget.notes
    r["oom_kills"] = after.get("oom_kills", 0) - before.get("oom_kills", 0)
    r["throttled"] = after.get("nr_throttled", 0) - before.get("nr_throttled", 0)
    r["memory"] = after.get("cgroup_peak", r["rss"])
    r["memory_kind"] = "cgroup max_usage (RSS + page cache)" if "cgroup_peak" in after else "peak summed RSS"
    return r


# ----------------------------------------------------------------- batch (tools/bench_batch.py)
def batch_group(args, work, results, raw, say):
    """grade-all of two synthetic exports, in core-seconds per submission against torch's start-up: a
    mixed one (3/4 reference copies, 1/4 stubs) and one of reference copies only, --batch-size each."""
    import bench_batch

    env = bench_env()
    log = work / "batch.log"
    say("batch: the yardstick, `python -c 'import torch, numpy'` (median of 5)")
    torch_core, torch_runs = bench_batch.torch_startup(env, log)
    raw["torch_startup"] = torch_runs
    jobs = f"--jobs {args.jobs}" if args.jobs else f"--jobs default ({os.cpu_count()} cores)"
    for key, n, stubs in (("batch_ratio", args.batch_size, args.batch_size // 4),
                          ("batch_ratio_ref", args.batch_size, 0)):
        say(f"batch: {n} submissions ({n - stubs} reference copies, {stubs} stubs), {jobs}")
        export = work / f"export-{key}"
        kinds = synthetic_export(export, n=n, stubs=stubs, n_mutants=0)
        r = bench_batch.batch(kinds, export, work / f"grades-{key}", args.jobs, env, log)
        shutil.rmtree(export, ignore_errors=True)
        raw[key] = {k: v for k, v in r.items() if k not in ("scores", "kinds")}
        right, what = bench_batch.graded_right(r)
        each = r["core"] / n
        results[key] = verdict(key, each / torch_core)
        results[key]["pass"] &= right
        results[key]["note"] = (f"{n} submissions, {jobs}: {each:.2f} core-s each ({r['core']:.0f} core-s in "
                                f"all: the parent, every grading process's start-up, the workers) / {torch_core:.2f} "
                                f"core-s "
                                f"(torch+numpy start-up, median of {len(torch_runs)}); {what}; {r['meter']}"
                                + (f"; {r['note']}" if r["note"] else ""))
        if key == "batch_ratio":
            results["batch_wall"] = verdict("batch_wall", r["wall"])
            results["batch_wall"]["pass"] &= right
            results["batch_wall"]["note"] = f"{jobs}; {r['wall'] / n:.2f} s per submission"


# ----------------------------------------------------------------- a busy machine
HOG = "while True:\n    pass\n"


def hogs_group(work, results, raw, say, runs=HOG_RUNS, hogs=2):
    """The reference graded ``runs`` times, one after another, beside ``hogs`` processes that spin on the CPU
    (each in a session of its own, as other people's work on the machine is): how many score full marks. A
    machine this busy must cost no honest case anything (sandbox/calltime.py, grading/retry.py)."""
    say(f"grading the reference {runs}x beside {hogs} CPU hogs")
    procs = [subprocess.Popen([sys.executable, "-c", HOG], start_new_session=True) for _ in range(hogs)]
    rs, faults = [], []
    try:
        for i in range(runs):
            r = grade_once(ROOT / "solutions", work, tag=f"hogs-{i}")
            log = (work / f"hogs-{i}.log").read_text(errors="replace")
            r["faults"] = [line for line in log.splitlines() if "grading machine failed" in line]
            faults += r["faults"]
            r["lost"] = lost_parts(work / f"hogs-{i}-results.json")
            if r["lost"]:  # what a busy machine cost, kept (the work folder goes at the end)
                say(f"grading {i + 1}: {r['score']}; lost: " + "; ".join(r["lost"]))
            rs.append(r)
    finally:
        for p in procs:
            p.kill()
            p.wait()
    raw["hogs"] = rs
    full = sum(1 for r in rs if r["score"] == 100)
    walls = [r["wall"] for r in rs]
    results["hogs_full"] = verdict("hogs_full", full, target=runs)
    results["hogs_full"]["note"] = (f"under two CPU hogs the reference scores full marks in {full} of {runs} "
                                    f"gradings; wall {min(walls):.1f}-{max(walls):.1f} s; scores "
                                    f"{sorted({r['score'] for r in rs}, key=lambda v: (v is None, v))}; cases the "
                                    f"machine failed and ran again: {len(faults)}")
    say(results["hogs_full"]["note"])


def lost_parts(results):
    """The parts of a results.json below full marks: "name (score/max): the start of its output"."""
    try:
        tests = json.loads(Path(results).read_text())["tests"]
    except (OSError, ValueError, KeyError):
        return ["no results.json"]
    return [f"{t.get('name')} ({t.get('score')}/{t.get('max_score')}): "
            + " ".join(str(t.get("output", "")).split())[:300] for t in tests if t.get("score") != t.get("max_score")]


def stage_group(runs, work, results, raw):
    """One grading of the reference against `python -c "import torch, numpy"` (CPU and wall, pairs taken in
    turn), its CPU per case beyond start-up and each stage's share (tools/bench_stages.py)."""
    import bench_stages

    s = bench_stages.summary(bench_stages.pairs(runs, bench_env(), work))
    raw["stages"] = s
    raw["where"] = {"cases": s["cases"], "grade_cpu": round(s["grade_cpu"], 3), "torch_cpu": round(s["torch_cpu"], 3),
                    "stages": {k: [round(s["share"][k], 4), round(s["stage_ms_per_case"].get(k, 0.0), 3)]
                               for k in s["share"]},
                    "functions": [[place, round(share, 4)] for place, share in bench_stages.top_items(env=bench_env())]}
    right = s["scores"] == [100.0]
    what = (f"median of {runs} pairs taken in turn; grading {s['grade_cpu']:.2f} CPU-s / {s['grade_wall']:.2f} s, "
            f"torch+numpy {s['torch_cpu']:.2f} CPU-s / {s['torch_wall']:.2f} s (medians); scores {s['scores']}")
    for key, value in (("grade_ref_cpu_ratio", s["cpu_ratio"]), ("grade_ref_wall_ratio", s["wall_ratio"])):
        results[key] = verdict(key, value)
        results[key]["note"] = what + ("; CPU: every process of the tree, workers included (a cgroup)"
                                       if "cpu" in key else "")
        results[key]["pass"] &= right
    results["grade_case_ms"] = verdict("grade_case_ms", s["case_ms"])
    results["grade_case_ms"]["note"] = (f"{s['cases']} cases; start-up (interpreter, torch, the grader's imports): "
                                        f"{s['stage_seconds']['start-up']:.2f} CPU-s, {s['share']['start-up']:.0%}")
    for stage, ms in s["stage_ms_per_case"].items():
        key = f"stage_{stage.replace(' ', '_').replace('-', '_')}"
        if key in FIGURES:
            results[key] = verdict(key, ms)
            results[key]["note"] = f"{s['share'][stage]:.0%} of the grading's CPU ({s['stage_seconds'][stage]:.3f} s)"


# ----------------------------------------------------------------- Gradescope's container
def container_group(runs, results, raw, say):
    """One grading of the reference by run_autograder in Gradescope's container (tools/gradescope_container.py),
    as a multiple of `python -c "import torch, numpy"` with the grader's Python in the same container."""
    import build_autograder
    import gradescope_container as gc

    why = gc.unavailable()
    if why:
        say(f"Gradescope's container skipped: {why}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        say("Gradescope's container: setup.sh")
        image = gc.Image(build_autograder.build(Path(tmp) / "autograder.zip"))
        try:
            grades, imports = [], []
            for i in range(runs):
                say(f"Gradescope's container: run_autograder on the reference, then the torch import ({i + 1}/{runs})")
                grades.append(image.run(ROOT / "solutions"))
                imports.append(image.run(ROOT / "solutions",
                                         command="/autograder/grader-venv/bin/python -c 'import torch, numpy'"))
        finally:
            image.close()
    g, m = statistics.median(r.seconds for r in grades), statistics.median(r.seconds for r in imports)
    scores = sorted({r.results.get("score") if r.results else None for r in grades})
    raw["container"] = {"grade_s": [r.seconds for r in grades], "import_s": [r.seconds for r in imports],
                        "peak_bytes": [r.peak_bytes for r in grades], "scores": scores, "image": image.description,
                        "setup_s": image.setup_seconds}
    results["container_ratio"] = verdict("container_ratio", g / m)
    results["container_ratio"]["pass"] &= scores == [100.0]
    results["container_ratio"]["note"] = (f"{image.description}; grading {g:.1f} s, import {m:.1f} s (medians of "
                                          f"{runs}); scores {scores}; setup.sh {image.setup_seconds:.0f} s")
    results["container_memory"] = verdict("container_memory", max(r.peak_bytes for r in grades) / MB)
    results["container_memory"]["note"] = "the container cgroup's max usage (page cache included)"


# ----------------------------------------------------------------- report
def machine():
    """One line naming this machine: CPUs, model, memory, Python."""
    model = ""
    try:
        model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                      if line.startswith("model name")), "")
    except OSError:
        pass
    memory = os.sysconf("SC_PHYS_PAGES") * PAGE / 2**30
    return (f"{os.cpu_count()} CPUs{f' ({model})' if model else ''}, {memory:.0f} GB, {platform.machine()}, "
            f"Python {platform.python_version()}")


def merge_figures(path, results, run, where=None):
    """Write the figures of this run into ``path`` over the earlier ones (a figure this run did not measure
    keeps its last value and run): what `make docs` renders into the README; ``where``: where one grading's time
    goes (stage_group), kept likewise."""
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = {}
    runs, figures = dict(old.get("runs") or {}), dict(old.get("figures") or {})
    key = f"{run['date']} {time.strftime('%H:%M')}"
    runs[key] = run
    for name in FIGURES:
        r = results.get(name)
        if r is None:
            continue
        op = OPS[r["sense"]]
        figures[name] = {"label": r["label"], "target": f"{op} {fmt(r['target'], r['unit'])}",
                         "measured": fmt(r["value"], r["unit"]), "pass": bool(r["pass"]), "note": r.get("note", ""),
                         "run": key}
    where = {**where, "run": key} if where else old.get("where")
    used = {f["run"] for f in figures.values()} | ({where["run"]} if where else set())
    data = {"figures": {k: figures[k] for k in FIGURES if k in figures},
            "runs": {k: v for k, v in sorted(runs.items()) if k in used}}
    if where:
        data["where"] = where
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


OPS = {"max": "<=", "min": ">", "all": "=="}


def verdict(key, value, target=None):
    label, unit, default, sense = FIGURES[key]
    target = default if target is None else target
    if value is None:
        return {"label": label, "unit": unit, "target": target, "sense": sense, "value": None, "pass": False}
    margin = (target / value if value else float("inf")) if sense == "max" else value / target
    passed = {"max": value <= target, "min": value > target, "all": value == target}[sense]
    return {"label": label, "unit": unit, "target": target, "sense": sense, "value": value,
            "margin": margin, "pass": passed}


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "MB":
        return f"{v:.0f} {unit}"
    if unit == "ms":
        return f"{v:.2f} {unit}"
    if unit.startswith("x"):
        return f"{v:.2f}x" if v < 1 else f"{v:.1f}x"
    if unit.startswith("of "):
        return f"{v:g} {unit}"
    return f"{v:.1f} {unit}"


def print_table(results, info):
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.width = max(console.width, 160)  # the notes column needs room, also in a pipe
    t = Table(title="convgrade performance (make bench)", show_lines=False)
    for col, kw in (("figure", {}), ("target", {"justify": "right"}), ("measured", {"justify": "right"}),
                    ("margin", {"justify": "right"}), ("", {"justify": "center"}), ("notes", {"overflow": "fold"})):
        t.add_column(col, **kw)
    for key in FIGURES:
        r = results.get(key)
        if r is None:
            continue
        op = OPS[r["sense"]]
        unit = r["unit"]
        margin = f"{r['margin']:.2f}" if r.get("margin") is not None and r["value"] is not None else "-"
        ok = "[green]pass[/green]" if r["pass"] else "[red]FAIL[/red]"
        t.add_row(r["label"], f"{op} {fmt(r['target'], unit)}", fmt(r["value"], unit), margin, ok, r.get("note", ""))
    console.print(t)
    for line in info:
        console.print(line, highlight=False, markup=False)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the batch figure, fewer runs")
    ap.add_argument("--runs", type=int, default=None, help="grading runs per figure (default 5, quick 3)")
    ap.add_argument("--skip", nargs="*", default=[],
                    help="groups to skip: grade loops ping ratios gemm budget hang hogs batch container")
    ap.add_argument("--only", nargs="*", default=[], help="only these groups")
    ap.add_argument("--batch-size", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=None, help="grade-all --jobs (default: its own, one per core)")
    ap.add_argument("--out", default=str(ROOT / "bench.json"), help="every raw measurement (JSON)")
    ap.add_argument("--figures", default=str(FIGURES_FILE),
                    help="the figures, merged into this file (the README's Performance table: make docs)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--child-arg", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        fn = {"ratios": child_ratios, "ping": child_ping, "gemm": child_gemm}[args.child]
        print(json.dumps(fn(args.child_arg)))
        return 0

    groups = ["grade", "loops", "ping", "ratios", "gemm", "budget", "hang", "hogs", "batch", "container"]
    if args.only:
        groups = [g for g in groups if g in args.only]
    skip = set(args.skip) | ({"batch", "hang", "hogs"} if args.quick else set())
    groups = [g for g in groups if g not in skip]
    runs = args.runs or (3 if args.quick else 5)

    results, info, raw = {}, [], {}
    work = Path(tempfile.mkdtemp(prefix="convgrade-bench-"))  # mode 700: sandboxes get copies
    load_start = os.getloadavg()
    started = time.perf_counter()

    def say(msg):
        print(f"[{time.perf_counter() - started:6.0f} s] {msg}", flush=True)

    try:
        if "grade" in groups:
            say(f"grading the reference solutions {runs}x")
            rs = [grade_once(ROOT / "solutions", work, tag="ref") for _ in range(runs)]
            raw["grade_ref"] = rs
            walls = [r["wall"] for r in rs]
            results["grade_ref_wall"] = verdict("grade_ref_wall", statistics.median(walls))
            results["grade_ref_wall"]["note"] = (f"median of {runs} ({min(walls):.1f}-{max(walls):.1f} s); "
                                                 f"scores {sorted({r['score'] for r in rs})}")
            results["grade_ref_rss"] = verdict("grade_ref_rss", max(r["rss"] for r in rs) / MB)
            results["grade_ref_rss"]["note"] = "max over the runs; 20 ms samples of /proc/<pid>/statm"
            if any(r["score"] != 100 for r in rs):
                results["grade_ref_wall"]["pass"] = False
            say(f"one grading of the reference against a torch start-up, {runs} pairs (the stages recorded)")
            stage_group(runs, work, results, raw)
        loops_path, loops_what = LOOPS_STYLE, "tests/styles/loops"
        if "loops" in groups:
            n = max(2, runs // 2)
            say(f"grading the loop-based submission {n}x ({loops_what})")
            rs = [grade_once(loops_path, work, tag="loops") for _ in range(n)]
            raw["grade_loops"] = rs
            walls = [r["wall"] for r in rs]
            results["grade_loops_wall"] = verdict("grade_loops_wall", statistics.median(walls))
            results["grade_loops_wall"]["note"] = (f"{loops_what}; median of {n}; scores "
                                                   f"{sorted({r['score'] for r in rs})}; peak RSS "
                                                   f"{max(r['rss'] for r in rs) / MB:.0f} MB")
        if "ping" in groups:
            say("sandbox round trips")
            p = run_child("ping", 300)
            raw["ping"] = p
            results["ping_typical"] = verdict("ping_typical", p["typical"]["median_ms"])
            results["ping_typical"]["note"] = (
                f"p90 {p['typical']['p90_ms']:.2f} ms; no arrays {p['none']['median_ms']:.2f} ms; largest case "
                f"({p['largest']['bytes'] / MB:.1f} MB) {p['largest']['median_ms']:.1f} ms; worker start "
                f"{p['worker_start_ms']:.0f} ms")
        if "ratios" in groups:
            say("reference layers vs torch (single-threaded)")
            r = run_child("ratios", 7 if args.quick else 11,
                          env=bench_env(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1"))
            raw["ratios"] = r
            for key in ("ratio_conv", "ratio_tconv", "ratio_maxpool", "ratio_maxpool_overlap"):
                results[key] = verdict(key, r[key]["value"])
                results[key]["note"] = (f"numpy {r[key]['numpy_ms']:.1f} ms, torch {r[key]['torch_ms']:.1f} ms; "
                                        f"torch threads {r['torch_threads']}, OPENBLAS_NUM_THREADS=1")
        if "gemm" in groups:
            say("gemm_efficiency: reference, loops, idle and loaded")
            g = run_child("gemm", 3 if args.quick else 5)
            raw["gemm"] = g
            limit = g["max_ratio"]
            for key, worst in (("gemm_ref", max), ("gemm_loops", min), ("gemm_positions", min)):
                all_r = [x for k in ("idle", "loaded") for x in g[key][k]["ratios"]]
                results[key] = verdict(key, worst(all_r) if all_r else None, target=limit)
                results[key]["note"] = "idle " + ", ".join(f"{x:.1f}" for x in g[key]["idle"]["ratios"]) + \
                    "; all cores busy " + ", ".join(f"{x:.1f}" for x in g[key]["loaded"]["ratios"])
        if "budget" in groups:
            say("Gradescope-like budget: reference")
            b = budget_run(ROOT / "solutions", work, "budget-ref")
            raw["budget_ref"] = b
            results["budget_ref_wall"] = verdict("budget_ref_wall", b["wall"])
            results["budget_ref_wall"]["pass"] &= b["score"] == 100 and b["oom_kills"] == 0 and b["rc"] == 0
            results["budget_ref_wall"]["note"] = (f"{b['limits']}; score {b['score']}; OOM kills {b['oom_kills']}; "
                                                  f"throttled {b['throttled']}x"
                                                  + "".join(f"; {n}" for n in b["notes"]))
            results["budget_ref_memory"] = verdict("budget_ref_memory", b["memory"] / MB)
            results["budget_ref_memory"]["note"] = f"{b['memory_kind']}; peak summed RSS {b['rss'] / MB:.0f} MB"
            say(f"Gradescope-like budget: loop-based submission ({loops_what})")
            b = budget_run(loops_path, work, "budget-loops")
            raw["budget_loops"] = b
            results["budget_loops_wall"] = verdict("budget_loops_wall", b["wall"])
            results["budget_loops_wall"]["pass"] &= b["oom_kills"] == 0 and b["rc"] == 0
            results["budget_loops_wall"]["note"] = (f"score {b['score']}; OOM kills {b['oom_kills']}; memory "
                                                    f"{b['memory'] / MB:.0f} MB ({b['memory_kind']})")
        if "hang" in groups:
            say(f"a submission whose every function loops forever, time limits / {HANG_SCALE}")
            hang = work / "hanging"
            hanging_submission(hang)
            table = work / "cases-scaled.yaml"
            limits = scaled_table(table, HANG_SCALE)
            budget = float(os.environ.get("CONVGRADE_GRADING_BUDGET", "450")) / HANG_SCALE
            h = grade_once(hang, work, tag="hang", table=table, env=bench_env(CONVGRADE_GRADING_BUDGET=str(budget)))
            wall, rc, score = h["wall"], h["rc"], h["score"]
            raw["hang"] = {**h, "limits": limits, "budget": budget}
            results["hang_wall"] = verdict("hang_wall", wall)
            results["hang_wall"]["pass"] &= rc == 0 and score is not None
            results["hang_wall"]["note"] = (f"call/import time-outs {limits['call_timeout']:g} s, grading budget "
                                            f"{budget:g} s (real: x{HANG_SCALE}); score {score}; results.json "
                                            f"written: {score is not None}")
        if "hogs" in groups:
            hogs_group(work, results, raw, say)
        if "batch" in groups:
            batch_group(args, work, results, raw, say)
        if "container" in groups:
            container_group(runs, results, raw, say)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if os.geteuid() == 0 and "CONVGRADE_SANDBOX_USER" not in os.environ:
            from autograder.staff.cleanup import cleanup

            cleanup(BENCH_USER)

    info = [
        f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}; load average "
        f"{load_start[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
        "(other work on this machine slows every figure)",
        f"loop-based submission: {loops_what}",
        f"bench took {time.perf_counter() - started:.0f} s; figures in {args.out}",
    ]
    print_table(results, info)
    data = {"figures": results, "raw": raw, "info": info, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "quick": args.quick, "groups": groups}
    Path(args.out).write_text(json.dumps(data, indent=2, default=str) + "\n")
    run = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "load": [round(load_start[0], 1),
           round(os.getloadavg()[0], 1)], "quick": args.quick, "seconds": round(time.perf_counter() - started),
           "groups": groups}
    merge_figures(Path(args.figures), results, run, raw.get("where"))
    return 0 if all(r["pass"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
