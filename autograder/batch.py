"""Grade a whole class at once (course staff): a Gradescope export, or a folder of submissions.

    python -m autograder grade-all SOURCE --out DIR [--jobs N] [--force] [--retry-failed]
                                   [--timeout SECONDS] [--parts ID ...]

SOURCE is one of
  - Gradescope's "Export Submissions" zip, or that zip unpacked: a
    ``submission_metadata.yml`` next to one ``submission_<id>/`` folder per
    submission (possibly inside one top folder such as ``assignment_<n>_export/``);
  - a plain folder whose sub-folders and ``.zip`` files are one submission each.

Each submission is graded by its own ``autograder grade PATH --results FILE``
process with an overall time limit, so a crash, a hang or a hostile submission
costs only its own row (on a timeout the process and all its descendants are
killed). Where the grader is root, each of those processes takes a sandbox
user of its own (isolation.acquire), and runs from the folder holding all the
submissions, which the worker's mount namespace then hides from student code.

DIR gets, per submission, ``<id>/results.json`` (Gradescope's format),
``<id>/grade.log`` (the score table and notes) and ``<id>/batch.json`` (status,
submitters, time); for the batch ``grades.csv``, ``summary.txt``,
``score_histogram.png`` and ``part_scores.png``. Re-running skips submissions
that already have a valid results.json (``--force``: grade everything again,
``--retry-failed``: again those whose status is not ok).
"""

import csv
import json
import os
import re
import shutil
import signal
import stat
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .results import placeholder, validate, write_atomic
from .table import load
from .text import markup, one_line

PACKAGE_PARENT = Path(__file__).resolve().parent.parent
# `python -m autograder` would put the cwd (the submissions' folder) first on sys.path:
# a submission folder named autograder/ must never be imported as the grader.
LAUNCHER = "import sys; sys.path[0] = {!r}; from autograder.cli import main; sys.exit(main(sys.argv[1:]))"
METADATA = "submission_metadata.yml"
JUNK = {"__MACOSX", ".DS_Store", "__pycache__"}
# Unpacking an export: a whole class, PDFs included, so far larger caps than one submission's.
MAX_EXPORT_ENTRIES = 200_000
MAX_EXPORT_BYTES = 16 << 30
MAX_EXPORT_FILE = 1 << 30
STATUSES = ("ok", "timeout", "error")


@dataclass
class Submission:
    id: str  # folder name under DIR, a CSV key
    key: str  # name in the export (submission_<n>, or the folder / zip name)
    path: Path
    submitters: list = field(default_factory=list)  # [{"name", "sid", "email"}]


@dataclass
class Row:
    sub: Submission
    status: str
    message: str
    seconds: float
    data: dict
    skipped: bool = False
    notes: list = field(default_factory=list)  # the grader's notes, as data (<id>/notes.json, batch.json)


# ----------------------------------------------------------------- metadata
class _TolerantLoader(yaml.SafeLoader):
    """SafeLoader that reads unknown tags (Ruby objects in some exports) as plain data."""


def _plain(loader, suffix, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_TolerantLoader.add_multi_constructor("!", _plain)
_TolerantLoader.add_multi_constructor("tag:", _plain)


def _field(d, name):
    """A metadata field: Gradescope writes Ruby-symbol keys (``:name:``), accept plain ones too."""
    for k in (f":{name}", name):
        if isinstance(d, dict) and d.get(k) is not None:
            return str(d[k])
    return ""


def read_metadata(path):
    """{submission key: [{"name", "sid", "email"}, ...]} from submission_metadata.yml."""
    try:
        data = yaml.load(Path(path).read_text(encoding="utf-8", errors="replace"), Loader=_TolerantLoader)
    except yaml.YAMLError as exc:
        raise SystemExit(f"{path}: not readable as YAML: {exc}")
    out = {}
    for key, entry in (data or {}).items() if isinstance(data, dict) else []:
        people = entry.get(":submitters", entry.get("submitters", [])) if isinstance(entry, dict) else []
        out[str(key)] = [{"name": _field(p, "name"), "sid": _field(p, "sid"), "email": _field(p, "email")}
                         for p in (people or []) if isinstance(p, dict)]
    return out


# ----------------------------------------------------------------- discovery
def junk(name):
    return name in JUNK or name.startswith(".")


def unpack_export(zpath, dest):
    """Extract an export zip into ``dest`` (private): no ``..``, no absolute paths, no symlinks, size caps."""
    dest = Path(dest).resolve()
    try:
        zf = zipfile.ZipFile(zpath)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SystemExit(f"{zpath}: not a readable zip file ({exc})")
    total = 0
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_EXPORT_ENTRIES:
            raise SystemExit(f"{zpath}: {len(infos)} entries, more than {MAX_EXPORT_ENTRIES}")
        for info in infos:
            parts = Path(info.filename.replace("\\", "/")).parts
            if (not parts or info.filename.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]
                    or any(junk(p) for p in parts) or info.is_dir() or stat.S_ISLNK(info.external_attr >> 16)):
                continue
            total += info.file_size
            if info.file_size > MAX_EXPORT_FILE or total > MAX_EXPORT_BYTES:
                raise SystemExit(f"{zpath}: too large once unpacked")
            target = (dest / Path(*parts)).resolve()
            if dest not in target.parents:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
    return dest


def export_root(root, descend=False):
    """The folder holding the submissions: root, or the folder below it that holds the
    metadata; with ``descend`` (an unpacked zip) also a lone top folder of submissions."""
    if (root / METADATA).is_file():
        return root
    entries = [p for p in root.iterdir() if not junk(p.name)]
    dirs = [p for p in entries if p.is_dir() and not p.is_symlink()]
    for d in dirs:
        if (d / METADATA).is_file():
            return d
    if descend and len(dirs) == 1 and len(entries) == 1:
        inner = [p for p in dirs[0].iterdir() if not junk(p.name)]
        if any(p.is_dir() or p.suffix.lower() == ".zip" for p in inner):
            return dirs[0]
    return root


def safe_id(key, taken):
    base = key[len("submission_"):] if key.startswith("submission_") and len(key) > 11 else key
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "submission"
    sid, n = base, 2
    while sid in taken:
        sid, n = f"{base}-{n}", n + 1
    taken.add(sid)
    return sid


def discover(root):
    """Submissions under ``root`` (export root or plain folder), sorted by name."""
    metadata = read_metadata(root / METADATA) if (root / METADATA).is_file() else {}
    subs, taken = [], set()
    for p in sorted(root.iterdir(), key=lambda p: p.name):
        if junk(p.name) or p.is_symlink():
            continue
        if p.is_dir():
            key = p.name
        elif p.is_file() and p.suffix.lower() == ".zip":
            key = p.name[:-4]
        else:
            continue
        subs.append(Submission(safe_id(key, taken), key, p, metadata.get(key, [])))
    return subs


# ----------------------------------------------------------------- results
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


UNREADABLE = "The submission could not be read"


# ----------------------------------------------------------------- processes
def descendants(pid):
    """Every live descendant of ``pid`` (Linux /proc; empty elsewhere)."""
    children = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for e in entries:
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(e))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


RUNNING = set()  # grading processes in flight (killed on Ctrl-C)


def kill_tree(proc):
    """SIGKILL a grading process, its process group, and every descendant and its group
    (the sandboxed worker runs in a session of its own)."""
    pids = descendants(proc.pid)
    for target in [proc.pid, *pids]:
        for kill in (os.killpg, os.kill):
            try:
                kill(target, signal.SIGKILL)
            except OSError:
                pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def grade_one(sub, outdir, table, args, cwd):
    """Grade one submission in its own process; returns a Row (never raises for the submission)."""
    outdir.mkdir(mode=0o700, parents=True, exist_ok=True)
    results, log, notes_file = outdir / "results.json", outdir / "grade.log", outdir / "notes.json"
    notes_file.unlink(missing_ok=True)
    cmd = [sys.executable, "-c", LAUNCHER.format(str(PACKAGE_PARENT))]
    if args.table:
        cmd += ["--table", str(Path(args.table).resolve())]
    cmd += ["grade", str(sub.path), "--results", str(results), "--width", "120", "--notes", str(notes_file)]
    if args.parts:
        cmd += ["--parts", *args.parts]
    if getattr(args, "trusted", False):
        cmd.append("--trusted")
    start = time.perf_counter()
    status, message = "ok", ""
    with open(log, "wb") as out:
        # The batch's secret seed by the environment, not the command line (which other users can read).
        env = dict(os.environ, CONVGRADE_SEED=str(args.seed)) if getattr(args, "seed", None) is not None else None
        proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, env=env)
        RUNNING.add(proc)
        try:
            rc = proc.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            kill_tree(proc)
            rc = None
        finally:
            RUNNING.discard(proc)
    seconds = time.perf_counter() - start
    data = load_valid(results, table)
    tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:] if log.exists() else []
    tail = [one_line(t, 200) for t in tail]
    notes = read_notes(notes_file)
    if rc is None:
        status, message = "timeout", f"grading did not finish within {args.timeout:g} s"
    elif data is None:
        status = "error"
        message = (f"the grader exited with code {rc}" + (f": {tail[0][:200]}" if tail else "") if rc
                   else "the grader wrote no valid results.json")
    elif str(data.get("output", "")).startswith(UNREADABLE):  # e.g. a PDF instead of .py files: graded 0
        status, message = "error", str(data["output"]).splitlines()[0][:300]
    elif rc != 0:  # complete, valid results, then a failure (printing the table?): keep the grade
        message = f"the grader exited with code {rc} after writing results.json"
    if status == "timeout" or data is None:
        data = zero_results(table, f"Not graded: {message}. Please contact the course staff.")
        write_atomic(results, data)
    meta = {"id": sub.id, "key": sub.key, "source": str(sub.path), "submitters": sub.submitters,
            "status": status, "message": message, "seconds": round(seconds, 2), "score": data["score"],
            "graded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "notes": notes}
    write_atomic(outdir / "batch.json", meta)
    return Row(sub, status, message, seconds, data, notes=notes)


def read_notes(path):
    """The notes the grading process wrote as data (``grade --notes``); [] when it wrote none."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    notes = data.get("notes") if isinstance(data, dict) else None
    return [one_line(n) for n in notes if isinstance(n, str)] if isinstance(notes, list) else []


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


# ----------------------------------------------------------------- reports
def part_scores(row, table):
    by_number = {t.get("number"): t for t in row.data.get("tests", [])}
    return {p.id: float(by_number.get(p.number, {}).get("score", 0.0)) for p in table.parts}


def cell(text):
    """Text for a spreadsheet: never a formula (names and messages are not ours)."""
    text = str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_csv(path, rows, table):
    ids = [p.id for p in table.parts]
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["submission_id", "names", "sids", "emails", *ids, "total", "max", "status", "seconds",
                    "message"])
        for r in rows:
            people = r.sub.submitters
            scores = part_scores(r, table)
            w.writerow([cell(r.sub.id), cell("; ".join(p["name"] for p in people)),
                        cell("; ".join(p["sid"] for p in people)), cell("; ".join(p["email"] for p in people)),
                        *[f"{scores[i]:g}" for i in ids], f"{r.data['score']:g}", f"{table.total:g}", r.status,
                        f"{r.seconds:.1f}", cell(r.message)])
    tmp.replace(path)


def part_stats(rows, table):
    """[(part, mean score, pass rate, submissions without full points)] in table order."""
    by_row = [part_scores(r, table) for r in rows]
    out = []
    for p in table.parts:
        scores = [s[p.id] for s in by_row]
        full = sum(1 for s in scores if s >= p.weight - 1e-9)
        out.append((p, statistics.fmean(scores) if scores else 0.0, full / len(scores) if scores else 0.0,
                    len(scores) - full))
    return out


def summary_text(rows, table, skipped):
    totals = [r.data["score"] for r in rows]
    counts = {s: sum(1 for r in rows if r.status == s) for s in STATUSES}
    lines = [f"submissions: {len(rows)} (ok {counts['ok']}, timeout {counts['timeout']}, error {counts['error']})"
             + (f"; {skipped} taken from an earlier run" if skipped else "")]
    if totals:
        lines.append(f"total score (out of {table.total:g}): mean {statistics.fmean(totals):.2f}, "
                     f"median {statistics.median(totals):g}, min {min(totals):g}, max {max(totals):g}")
        lines.append(f"full marks: {sum(1 for t in totals if t >= table.total - 1e-9)} of {len(totals)}")
        lines.append("parts most often failed (submissions without full points on the part):")
        stats = sorted(part_stats(rows, table), key=lambda s: (-s[3], s[0].number))
        for p, mean, rate, failed in stats:
            if failed:
                lines.append(f"  {p.number:>4} {p.id:<22} {failed:>4} of {len(rows)} ({100 * (1 - rate):.0f}%), "
                             f"mean {mean:.2f} / {p.weight:g}")
        if all(s[3] == 0 for s in stats):
            lines.append("  none")
    bad = [r for r in rows if r.status != "ok"]
    if bad:
        lines.append("not graded normally (see DIR/<id>/grade.log):")
        lines += [f"  {r.sub.id}: {r.status}: {one_line(r.message, 300)}" for r in bad]
    return "\n".join(lines) + "\n"


def plot(out, rows, table):
    """score_histogram.png and part_scores.png (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    totals = [r.data["score"] for r in rows]
    fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    ax.hist(totals, bins=20, range=(0, max(table.total, 1e-9)), color="#4c72b0", edgecolor="white")
    if totals:
        ax.axvline(statistics.fmean(totals), color="#c44e52", label=f"mean {statistics.fmean(totals):.1f}")
        ax.axvline(statistics.median(totals), color="#55a868", linestyle="--",
                   label=f"median {statistics.median(totals):g}")
        ax.legend()
    ax.set_xlabel(f"total score (out of {table.total:g})")
    ax.set_ylabel("submissions")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"Total scores ({len(totals)} submissions)")
    fig.savefig(out / "score_histogram.png", dpi=110)
    plt.close(fig)

    stats = part_stats(rows, table)
    labels = [f"{p.number} {p.id}" for p, *_ in stats]
    y = list(range(len(stats)))
    fig, ax = plt.subplots(figsize=(9, 0.38 * len(stats) + 2.0), layout="constrained")
    ax.barh([v - 0.2 for v in y], [100 * m / p.weight if p.weight else 0 for p, m, _, _ in stats], height=0.4,
            color="#4c72b0", label="mean score (% of the part's points)")
    ax.barh([v + 0.2 for v in y], [100 * r for _, _, r, _ in stats], height=0.4, color="#55a868",
            label="pass rate (% of submissions with full points)")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("%")
    ax.set_title(f"Per part: mean score and pass rate ({len(rows)} submissions)")
    fig.legend(loc="outside lower center", ncols=2, fontsize=8)
    fig.savefig(out / "part_scores.png", dpi=110)
    plt.close(fig)


def isolation_notes(rows):
    """The distinct 'isolation reduced' notes the gradings reported (same machine, same notes): from the
    notes each grading wrote as data, never from text a submission could have printed."""
    seen = {}
    for r in rows:
        for note in r.notes:
            if note.startswith("isolation reduced"):
                seen.setdefault(note, None)
    return list(seen)


# ----------------------------------------------------------------- main
def batch_seed(out, args):
    """One secret seed for the hidden cases of the whole batch, kept in OUT/hidden_seed (owner only) so
    that a rerun grades the rest of the export on the same inputs; --seed chooses it, --force draws anew."""
    from .grader import new_secret

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


def main(args):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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
    jobs = args.jobs or max(1, (os.cpu_count() or 2) // 2)
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
            row = previous(sub, out / sub.id, table, args)
            if row is not None:
                rows[sub.id] = row
            else:
                todo.append(sub)
        skipped = len(rows)
        console.print(f"{len(subs)} submissions in {source}: {len(todo)} to grade, {skipped} already graded"
                      + (" (--force regrades them)" if skipped else "") + f"; {min(jobs, max(len(todo), 1))} "
                      "at a time", highlight=False, soft_wrap=True)
        if todo:
            def task(sub):
                try:
                    return grade_one(sub, out / sub.id, table, args, root)
                except Exception as exc:  # a bug here must not stop the batch
                    data = zero_results(table, f"Not graded: batch error {type(exc).__name__}: {exc}")
                    return Row(sub, "error", f"batch error: {type(exc).__name__}: {exc}", 0.0, data)

            columns = [TextColumn("[bold]grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                       TextColumn("{task.description}")]
            pool = ThreadPoolExecutor(max_workers=jobs)
            try:
                with Progress(*columns, console=console) as progress:
                    bar = progress.add_task("", total=len(todo))
                    futures = [pool.submit(task, sub) for sub in todo]
                    for fut in as_completed(futures):
                        row = fut.result()
                        rows[row.sub.id] = row
                        progress.update(bar, advance=1, description=f"{row.sub.id}: {row.data['score']:g}/"
                                                                    f"{table.total:g} {row.status}")
            except KeyboardInterrupt:
                pool.shutdown(wait=False, cancel_futures=True)
                for proc in list(RUNNING):
                    kill_tree(proc)
                console.print(f"interrupted: {len(rows) - skipped} graded this time are kept in {out}; run the "
                              "same command again to go on", highlight=False)
                return 130
            finally:
                pool.shutdown(wait=True)
        ordered = [rows[s.id] for s in subs]
        write_csv(out / "grades.csv", ordered, table)
        text = summary_text(ordered, table, skipped)
        (out / "summary.txt").write_text(text, encoding="utf-8")
        plot(out, ordered, table)
        console.print(text, highlight=False, markup=False, end="", soft_wrap=True)
        for n in isolation_notes(ordered):
            console.print(f"[yellow]note:[/yellow] {markup(n, 1000)}", highlight=False)
        console.print(f"wrote {out / 'grades.csv'}, {out / 'summary.txt'}, {out / 'score_histogram.png'}, "
                      f"{out / 'part_scores.png'} and <id>/results.json", highlight=False, soft_wrap=True)
        return 0
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
