"""A long-lived grading process of grade-all: torch loaded once, one submission after another.

The grade-all parent (pool.py) starts ``--jobs`` of these and talks to each over two private pipes, one JSON
object per line (never pickle):

    parent -> here   {"table": path or null, "parts": [...], "seed": N, "trusted": bool, "cache": dir}
    here -> parent   {"ready": true}                       (torch, the oracle and the table are loaded)
    parent -> here   {"id": ..., "path": submission, "outdir": folder}        one per submission
    here -> parent   {"id": ..., "status": "ok" | "error", "message": ..., "notes": [...], "seed": N}

Each submission is graded by run.grade exactly as ``python -m autograder grade`` grades it: its own sandbox
user slot (isolation.acquire / release), its own fresh sandboxed workers (every student process is dead and
the slot released before the reply), its own time budget from its own start; results.json and grade.log
are written here, into the submission's own folder. What carries over from one submission to the next is
the grader's own state only: the imported modules and the oracle's values (oracle_cache.py), computed from
the table and the batch's secret, never from anything a submission produced. Each submission's hidden
inputs come from a seed of its own (derived from the batch's secret and its id), in every mode: nothing one
grading learns of another's hidden inputs, or leaves behind, is worth anything to it. The parent kills this
process when a submission overruns its time and starts another for the rest.
"""

import json
import os
import sys
import tempfile
import traceback
from pathlib import Path

MAX_REQUEST = 1 << 20


def reply(out, message):
    out.write((json.dumps(message) + "\n").encode())
    out.flush()


def grade_one(request, table, config):
    """Grade one submission; the reply (never raises)."""
    from rich.console import Console

    from ..grading.scoretable import print_table
    from ..run import grade
    from ..sandbox.isolation import SandboxUnavailable

    outdir = Path(request["outdir"])
    log = outdir / "grade.log"
    from ..grading.grader import derived_seed

    seed = derived_seed(config["seed"], "submission", request["id"])  # hidden inputs of its own
    base = {"id": request["id"], "notes": [], "seed": seed}
    with open(log, "w", encoding="utf-8") as f:
        console = Console(file=f, width=120, force_terminal=False)
        try:
            outcome = grade(request["path"], results_path=outdir / "results.json", table=table,
                            trusted=config.get("trusted", False), seed=seed)
        except SandboxUnavailable as exc:
            message = f"refusing to run student code: {exc}"
            f.write(f"grade: {message}\n")
            return {**base, "status": "error", "message": message}
        except Exception as exc:  # a bug in the grader: this submission's row says so, the batch goes on
            f.write(traceback.format_exc())
            return {**base, "status": "error", "message": f"grader error {type(exc).__name__}: {exc}"[:500]}
        try:
            print_table(outcome, console, verbose=True, table=table)
        except Exception as exc:  # the grade stands (results.json is written); the log says what failed
            f.write(f"the score table could not be printed: {type(exc).__name__}: {exc}\n")
    return {**base, "status": outcome.status, "message": "", "notes": outcome.notes, "seed": outcome.seed}


def measure_yardsticks(table):
    """torch's time for every speed case, measured (or, by the batch's other grading processes, loaded) before
    this process says it is ready: no submission is sent before every process is, so no student code of the
    batch runs while the yardstick every submission is held to is measured."""
    from ..checking.checks import yardstick
    from ..sandbox.cpu import counts_cpu

    for part in table.parts:
        if part.check == "gemm_efficiency":
            for case in part.cases:
                yardstick(part, case, counts_cpu())


def serve(req_fd, rep_fd):
    from ..checking.table import load

    requests = os.fdopen(req_fd, "rb")
    out = os.fdopen(rep_fd, "wb")
    config = json.loads(requests.readline(MAX_REQUEST) or b"{}")
    try:
        table = load(config.get("table")).select(config.get("parts") or [])
        from ..checking import oracle, oracle_cache, parts  # noqa: F401  (torch and every checker, before any grading)
        from ..sandbox import isolation  # noqa: F401  (its slot locks: see below)

        # hidden inputs differ per submission: only visible cases and the speed part's yardstick are the same
        # for the whole batch
        oracle_cache.install(config.get("cache"))
        measure_yardsticks(table)
        # (after isolation.py is imported: its slot locks stay where every grading process looks for them)
        tempfile.tempdir = os.environ.get("CONVGRADE_GRADING_TMP") or None  # the parent removes it (pool.py)
    except Exception as exc:
        reply(out, {"ready": False, "error": f"{type(exc).__name__}: {exc}"[:1000]})
        return 2
    reply(out, {"ready": True, "pid": os.getpid()})
    while True:
        line = requests.readline(MAX_REQUEST)
        if not line:
            return 0  # the parent closed the pipe: the batch is over
        request = json.loads(line)
        reply(out, grade_one(request, table, config))


if __name__ == "__main__":
    sys.exit(serve(int(sys.argv[1]), int(sys.argv[2])))
