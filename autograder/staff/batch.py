"""Grade a whole class at once (course staff): a Gradescope export, or a folder of submissions.

    python -m autograder grade-all SOURCE --out DIR [--jobs N] [--force] [--retry-failed]
                                   [--timeout SECONDS] [--parts ID ...] [--seed N]

SOURCE is one of
  - Gradescope's "Export Submissions" zip, or that zip unpacked: a
    ``submission_metadata.yml`` next to one ``submission_<id>/`` folder per
    submission (possibly inside one top folder such as ``assignment_<n>_export/``);
  - a plain folder whose sub-folders and ``.zip`` files are one submission each.

``--jobs`` long-lived grading processes (default: one per core; batch_worker.py, driven by pool.py) each
import torch once and grade one submission after another; the oracle's values of every case are computed
once for the batch (oracle_cache.py: they depend only on the table, the case and the batch's secret seed).
Each submission still gets its own sandbox user slot, its own fresh sandboxed workers and its own time
limit (``--timeout``, from the moment it is handed over): when it runs out, or the grading process dies,
that process and all its descendants are killed, the submission is recorded as a timeout or an error, and
a new process grades the rest. The processes run from the folder holding all the submissions, which the
worker's mount namespace then hides from student code.

DIR gets, per submission, ``submissions/<id>/results.json`` (Gradescope's format), ``grade.log`` (the score table
and notes) and ``batch.json`` (status, submitters, time); for the batch ``grades.csv``, ``summary.txt``
(with the regrade diff when the export holds the old scores, regrade.py, and the class's mistakes,
classreport.py), ``mistakes.csv``, ``crashes.csv``, ``score_histogram.png``, ``part_scores.png`` and
``mistakes.png``; with ``--similarity``, ``similarity.html`` and ``similarity.csv`` (similarity.py).
Re-running skips submissions that already have a valid results.json (``--force``: grade everything again,
``--retry-failed``: again those whose status is not ok).
"""

import json
import os
import queue
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..checking.table import load
from ..checking.text import markup, one_line
from ..grading.results import placeholder, validate, write_atomic
from .export import Submission, discover, export_root, unpack_export
from .pool import Failure, GradingProcess, kill_all
from . import classreport
from .classreport import Graded
from .report import STATUSES, isolation_notes, plot, summary_text, write_csv

UNREADABLE = "The submission could not be read"
SUBMISSIONS = "submissions"  # OUT/submissions/<id>/: a submission named like a file of OUT (grades.csv) stays apart
HANG_GRACE = 120.0  # seconds past a grading's own deadline after which its grading process counts as hung
__all__ = ["Submission", "main"]


@dataclass
class Row:
    sub: Submission
    status: str
    message: str
    seconds: float
    data: dict
    skipped: bool = False
    notes: list = field(default_factory=list)  # the grader's notes, as data (batch.json)


def zero_results(table, message):
    """A valid results.json with every part at 0 (timeouts, crashes of the grader)."""
    tests = [{"name": f"{p.number} {p.title}", "number": p.number, "score": 0.0, "max_score": p.weight,
              "status": "failed", "output": message, "visibility": p.visibility} for p in table.parts]
    return {**placeholder(message), "tests": tests}


def load_valid(path, table):
    try:
        return validate(json.loads(Path(path).read_text(encoding="utf-8")), table)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def default_jobs():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def submission_folder(out, sub):
    """Where one submission's results.json, grade.log and batch.json go."""
    return out / SUBMISSIONS / sub.id


# ----------------------------------------------------------------- one submission
def grade_one(sub, outdir, table, args, worker):
    """Grade one submission in the slot's grading process; returns a Row (never raises for the submission)."""
    outdir.mkdir(mode=0o700, parents=True, exist_ok=True)
    results = outdir / "results.json"
    results.unlink(missing_ok=True)
    start = time.perf_counter()
    reply, failure = {}, None
    try:
        reply = worker.grade({"id": sub.id, "path": str(sub.path), "outdir": str(outdir)}, args.timeout)
    except Failure as exc:
        failure = exc
    seconds = time.perf_counter() - start
    data = load_valid(results, table)
    notes = [one_line(n) for n in reply.get("notes", []) if isinstance(n, str)] if isinstance(
        reply.get("notes"), list) else []
    status, message = "ok", ""
    if failure is not None:
        status, message = failure.kind, str(failure)
        data = None  # whatever a killed grading left is not a grade
        with open(outdir / "grade.log", "a", encoding="utf-8") as log:
            log.write(f"\ngrade-all: {status}: {message}\n")
    elif data is None:
        status = "error"
        message = one_line(reply.get("message") or "the grader wrote no valid results.json", 300)
    elif str(data.get("output", "")).startswith(UNREADABLE):  # e.g. a PDF instead of .py files: graded 0
        status, message = "error", str(data["output"]).splitlines()[0][:300]
    if data is None:
        data = zero_results(table, f"Not graded: {message}. Please contact the course staff.")
        write_atomic(results, data)
    meta = {"id": sub.id, "key": sub.key, "source": str(sub.path), "submitters": sub.submitters,
            "status": status, "message": message, "seconds": round(seconds, 2), "score": data["score"],
            "graded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "notes": notes,
            "hidden_seed": reply.get("seed") if isinstance(reply.get("seed"), int) else None}
    write_atomic(outdir / "batch.json", meta)
    return Row(sub, status, message, seconds, data, notes=notes)


def previous(sub, outdir, table, args):
    """The Row of an earlier run, or None when this submission must be graded."""
    if args.force:
        return None
    data = load_valid(outdir / "results.json", table)
    try:
        meta = json.loads((outdir / "batch.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data is None or meta.get("status") not in STATUSES:
        return None
    if args.retry_failed and meta["status"] != "ok":
        return None
    notes = [one_line(n) for n in meta.get("notes", []) if isinstance(n, str)] if isinstance(
        meta.get("notes"), list) else []
    return Row(sub, meta["status"], meta.get("message", ""), float(meta.get("seconds", 0.0)), data, skipped=True,
               notes=notes)


# ----------------------------------------------------------------- the batch
def batch_seed(out, args):
    """One secret seed for the hidden cases of the whole batch, kept in OUT/hidden_seed (owner only) so
    that a rerun grades the rest of the export on the same inputs; --seed chooses it, --force draws anew."""
    from ..grading.grader import new_secret

    path = out / "hidden_seed"
    if getattr(args, "seed", None) is not None:
        seed = int(args.seed)
    elif path.is_file() and not args.force:
        seed = int(path.read_text().strip())
    else:
        seed = new_secret()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"{seed}\n")
    return seed


def run_pool(todo, table, args, out, root, jobs, on_row, stop):
    """Grade ``todo`` with ``jobs`` grading processes; on_row(row) in this thread as each one ends."""
    private = Path(tempfile.mkdtemp(prefix=".graders-", dir=out))  # mode 700: logs, slot files, oracle cache
    (private / "oracle").mkdir(mode=0o700)
    config = {"table": str(Path(args.table).resolve()) if args.table else None, "parts": args.parts or [],
              "seed": args.seed, "trusted": bool(getattr(args, "trusted", False)), "cache": str(private / "oracle")}
    pending, done = queue.Queue(), queue.Queue()
    for sub in todo:
        pending.put(sub)

    stopped = []  # why slots stopped (a bug of the batch itself, never a submission's doing)

    def slot(n):
        worker = None
        try:
            (private / f"slot-{n}").touch(mode=0o600)
            worker = GradingProcess(config, root, private / f"grader-{n}.log", private / f"slot-{n}")
            while not stop.is_set():
                try:
                    sub = pending.get_nowait()
                except queue.Empty:
                    return
                try:
                    row = grade_one(sub, submission_folder(out, sub), table, args, worker)
                except Exception as exc:  # a bug here must not stop the batch
                    worker.kill()
                    data = zero_results(table, f"Not graded: batch error {type(exc).__name__}: {exc}")
                    row = Row(sub, "error", f"batch error: {type(exc).__name__}: {exc}", 0.0, data)
                done.put(row)
        except Exception as exc:  # the slot itself failed: the other slots (or the end of the batch) go on
            stopped.append(f"{type(exc).__name__}: {exc}")
        finally:
            if worker is not None:
                worker.close()

    threads = [threading.Thread(target=slot, args=(n,), daemon=True) for n in range(1, jobs + 1)]
    for t in threads:
        t.start()
    finished = set()
    try:
        while len(finished) < len(todo):
            try:
                row = done.get(timeout=0.5)
            except queue.Empty:
                if any(t.is_alive() for t in threads) or not done.empty():
                    continue
                # every slot stopped (a bug of the batch itself): the rest is recorded, never lost
                for sub in todo:
                    if sub.id not in finished:
                        message = "batch error: every grading slot stopped (" + one_line(stopped[-1], 200) + ")" \
                            if stopped else "batch error: every grading slot stopped"
                        row = Row(sub, "error", message, 0.0, zero_results(table, f"Not graded: {message}"))
                        submission_folder(out, sub).mkdir(mode=0o700, parents=True, exist_ok=True)
                        write_atomic(submission_folder(out, sub) / "results.json", row.data)
                        finished.add(sub.id)
                        on_row(row)
                break
            finished.add(row.sub.id)
            on_row(row)
    except BaseException:  # Ctrl-C: no new submission is started, every grading process is killed
        stop.set()
        kill_all()
        raise
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
        shutil.rmtree(private, ignore_errors=True)


def similar(root, subs, table, out, args, console):
    """The optional similarity report (similarity.py): its summary lines; never part of a grade, and a failure
    of it loses no grade (the lines say why)."""
    from .similarity import report

    try:
        return report(subs, table, out, against=getattr(args, "similarity_against", None),
                      top=getattr(args, "similarity_top", 30))
    except Exception as exc:  # noqa: BLE001 - the grades are written; the report says what went wrong
        return [f"similarity: not written ({type(exc).__name__}: {one_line(str(exc), 300)})"]


def main(args):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console()
    source = Path(args.source)
    if not source.exists():
        console.print(f"grade-all: {source} does not exist", highlight=False)
        return 2
    try:
        table = load(args.table)  # loading the table does not import torch (the oracle loads it lazily)
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        console.print(f"grade-all: cannot read the case table: {exc}", highlight=False)
        return 2
    try:
        table = table.select(args.parts)
    except KeyError as exc:
        console.print(f"unknown part(s): {exc}. Known: {', '.join(p.id for p in table.parts)}", highlight=False)
        return 2
    if args.jobs is not None and args.jobs < 1:
        console.print("grade-all: --jobs must be at least 1", highlight=False)
        return 2
    jobs = args.jobs or default_jobs()
    # A grading stops its student calls at its own deadline (limits.grading_seconds): a grading process
    # still busy well after that hangs, and is killed then rather than at --timeout.
    from ..run import limits_from
    from ..sandbox.isolation import pid_namespaces

    args.timeout = min(float(args.timeout), limits_from(table).grading_seconds + HANG_GRACE)
    out = Path(args.out).resolve()  # the gradings run from another folder
    if not out.exists():
        out.mkdir(mode=0o700, parents=True)
    args.seed = batch_seed(out, args)
    tmp = None
    try:
        if source.is_file():
            tmp = Path(tempfile.mkdtemp(prefix="convgrade-export-"))  # mode 700
            root = export_root(unpack_export(source, tmp), descend=True)
        else:
            root = export_root(source.resolve())
        subs = discover(root)
        if not subs:
            console.print(f"grade-all: no submissions found in {source}", highlight=False)
            return 2
        rows, todo = {}, []
        for sub in subs:
            row = previous(sub, submission_folder(out, sub), table, args)
            if row is not None:
                rows[sub.id] = row
            else:
                todo.append(sub)
        skipped = len(rows)
        jobs = min(jobs, max(len(todo), 1))
        if jobs > 1 and not pid_namespaces(limits_from(table)):
            jobs = 1
            console.print("one grading at a time: workers get no PID namespace here (no bubblewrap), and two at "
                          "once could count each other's descriptors and pids in /proc (SECURITY.md)",
                          highlight=False, soft_wrap=True)
        console.print(f"{len(subs)} submissions in {source}: {len(todo)} to grade, {skipped} already graded"
                      + (" (--force regrades them)" if skipped else "") + f"; {jobs} grading processes",
                      highlight=False, soft_wrap=True)
        if todo:
            columns = [TextColumn("[bold]grading"), BarColumn(), MofNCompleteColumn(),
                       TextColumn("failed: {task.fields[failed]}"), TextColumn("ETA"), TimeRemainingColumn(),
                       TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("{task.description}")]
            stop = threading.Event()
            failed = 0
            try:
                with Progress(*columns, console=console) as progress:
                    bar = progress.add_task("", total=len(todo), failed=0)

                    def on_row(row):
                        nonlocal failed
                        rows[row.sub.id] = row
                        failed += row.status != "ok"
                        progress.update(bar, advance=1, failed=failed,
                                        description=f"last: {row.sub.id} {row.data['score']:g}/{table.total:g}"
                                                    f" {row.status}")
                    run_pool(todo, table, args, out, root, jobs, on_row, stop)
            except KeyboardInterrupt:
                stop.set()
                kill_all()
                console.print(f"interrupted: {len(rows) - skipped} graded this time are kept in {out}; run the "
                              "same command again to go on", highlight=False)
                return 130
        ordered = [rows[s.id] for s in subs]
        write_csv(out / "grades.csv", ordered, table)
        mistakes, no_mistakes_plot = classreport.write(out, [Graded(r.sub.id, r.data, r.status) for r in ordered])
        extra = list(mistakes)
        if getattr(args, "similarity", False):
            extra += similar(root, subs, table, out, args, console)
        text = summary_text(ordered, table, skipped, extra=extra)
        (out / "summary.txt").write_text(text, encoding="utf-8")
        no_plots = plot(out, ordered, table)
        console.print(text, highlight=False, markup=False, end="", soft_wrap=True)
        for note in (no_plots, no_mistakes_plot):
            if note:
                console.print(f"note: {note}", highlight=False, markup=False)
        for n in isolation_notes(ordered):
            console.print(f"[yellow]note:[/yellow] {markup(n, 1000)}", highlight=False)
        plots = "" if no_plots else f", {out / 'score_histogram.png'}, {out / 'part_scores.png'}"
        plots += "" if no_mistakes_plot else f", {out / 'mistakes.png'}"
        console.print(f"wrote {out / 'grades.csv'}, {out / 'summary.txt'}, {out / 'mistakes.csv'}, "
                      f"{out / 'crashes.csv'}{plots} and {SUBMISSIONS}/<id>/results.json", highlight=False,
                      soft_wrap=True)
        return 0
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
