"""The grader's output for fixed seeds, kept and compared: an optimisation must change no score and no word.

Grades the reference (solutions/), the stubs (assignment/), every correct style (tests/styles) and every mutant
(tests/mutants) with one fixed hidden seed, through ``autograder.run.grade``, and records for each: results.json
(every score, output and staff-only record), every part's feedback as the student reads it (Markdown and text)
and as staff read it (text, hidden cases revealed), and each case's evidence (mistakes, candidates, located
lines, the masks and values the notebook's pictures are drawn from, by sha256). Only what is timing by nature is
normalised: results.json's ``execution_time``, the speed part's ms and ratio figures and its measured metric, and
the staff-only record of the machine (``extra_data.environment``: the venvs' paths, the kernel).

    python tools/compare_results.py snapshot [NAME ...] [--snapshot FILE]   # record (FILE: .json.xz or .json.gz)
    python tools/compare_results.py check [NAME ...] [--snapshot FILE]      # grade again, compare (exit 1: differs)
    python tools/compare_results.py list                                     # the submissions' names

NAME: reference, stubs, style:NAME, mutant:NAME (default: all). ``--jobs N`` grades N at a time (each job a
process that imports torch once). A difference only in a speed part (its pass or fail depends on the machine's
load) is graded again, up to twice, before it counts. tests/test_same_results.py runs ``check`` against
tests/data/results_snapshot.json.xz (the default FILE; recorded from the
code before issue 30's optimisations); after an intended change of the feedback, ``snapshot`` writes it anew
(review ``check``'s differences first).
"""

import argparse
import difflib
import gzip
import lzma
import hashlib
import json
import os
import re
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import mutants  # noqa: E402  (tests/mutants: the catalogue and its builder)

SEED = 3079530155784035783  # the hidden cases' secret for every grading recorded here
SNAPSHOT = ROOT / "tests" / "data" / "results_snapshot.json.xz"
TIMING_PARTS = mutants.TIMING_PARTS
MS = re.compile(r"\d+(?:\.\d+)? ms\b")
RATIO = re.compile(r"\d+(?:\.\d+)?x \(limit")
# Where a call that ran out of time was stopped (its stack dump): the line depends on the moment the alarm came.
STOPPED = re.compile(r"((?:it was running|stopped at) [\w.]+\.py, line )\d+")


def submissions():
    """[name] of every submission recorded, in a fixed order."""
    return (["reference", "stubs"] + [f"style:{n}" for n in mutants.styles()]
            + [f"mutant:{m.name}" for m in mutants.catalogue()])


def build(name, folder):
    kind, _, rest = name.partition(":")
    if kind == "reference":
        return mutants.reference_copy(folder)
    if kind == "stubs":
        folder = Path(folder)
        folder.mkdir(parents=True)
        for module in mutants.GRADED:
            (folder / f"{module}.py").write_bytes((ROOT / "assignment" / f"{module}.py").read_bytes())
        return folder
    if kind == "style":
        return mutants.build_style(mutants.styles()[rest], folder)
    if kind == "mutant":
        return mutants.build(rest, folder)
    raise ValueError(f"unknown submission {name!r}")


def untimed(text):
    """Text with its timing figures (the speed part's ms and ratio) replaced by placeholders."""
    return RATIO.sub("<ratio>x (limit", MS.sub("<ms> ms", text)) if isinstance(text, str) else text


def digest(value):
    """A JSON-able stand-in for a case field: arrays by dtype, shape and sha256 of their bytes."""
    import numpy as np

    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value)
        return ["array", data.dtype.str, list(data.shape), hashlib.sha256(data.tobytes()).hexdigest()[:16]]
    if isinstance(value, dict):
        return {str(k): digest(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [digest(v) for v in value]
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (str, int, bool)) or value is None:
        return untimed(value)
    return repr(value)


def normalised(data):
    """results.json with its timing figures replaced (execution_time, the speed part's figures)."""
    def walk(v):
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return untimed(v)

    data = walk(json.loads(json.dumps(data)))
    data["execution_time"] = "<seconds>"
    if "environment" in data.get("extra_data", {}):  # the machine and the venvs' paths, not the grading
        data["extra_data"]["environment"] = "<machine>"
    for entry in data.get("leaderboard") or []:
        entry["value"] = "<ratio>"
    return data


CASE_FIELDS = ("index", "hidden", "passed", "label", "lines", "info", "kind", "credit", "mistakes", "advice", "rows",
               "printed", "stages", "located", "used", "candidates", "evidence", "causes", "notes", "alone", "wrong",
               "arrays")


def stopped_anywhere(outcome):
    """Replace the line a timed-out call was stopped at (timing by nature) in its case's texts; the ids of the
    parts where it did (their results.json output then stands for the feedback recorded beside it)."""
    touched = set()
    for pid, result in outcome.parts.items():
        for c in getattr(result, "cases", ()):
            if c.kind in ("timeout", "deadline"):
                for name in ("lines", "located", "info"):
                    setattr(c, name, [STOPPED.sub(r"\1<n>", t) for t in getattr(c, name)])
                touched.add(pid)
    return touched


def record(outcome):
    """What a grading produced, as plain JSON: results.json, each part's feedback, each case's evidence."""
    stopped = stopped_anywhere(outcome)
    parts = {}
    for pid, result in outcome.parts.items():
        if not hasattr(result, "cases"):
            continue
        parts[pid] = {
            "md": untimed(result.feedback(fmt="md")),
            "text": untimed(result.feedback(fmt="text")),
            "staff": untimed(result.feedback(reveal=True, fmt="text")),
            "first_problem": untimed(result.first_problem()),
            "cases": [{f: digest(getattr(c, f)) for f in CASE_FIELDS} for c in result.cases],
        }
    results = normalised(outcome.data)
    numbers = {result.part.number for pid, result in outcome.parts.items() if pid in stopped}
    for t in results["tests"]:
        if t.get("number") in numbers:
            t["output"] = "<the part's feedback, recorded with the line a timed-out call was stopped at left out>"
    if stopped:
        results["output"] = STOPPED.sub(r"\1<n>", results["output"])
    return {"results": results, "parts": parts, "summary": [STOPPED.sub(r"\1<n>", untimed(s)) for s in outcome.summary]}


def grade_one(name, seed=SEED):
    from autograder.run import grade

    with tempfile.TemporaryDirectory(prefix="convgrade-compare-") as tmp:
        folder = build(name, Path(tmp) / "submission")
        return name, record(grade(folder, user=None, seed=seed))


def differences(name, before, after, context=2, limit=60):
    """Lines saying where ``after`` differs from ``before`` (unified diffs of the texts), [] when equal."""
    if before == after:
        return []
    out = [f"== {name}"]

    def walk(path, a, b):
        if a == b:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b), key=str):
                walk(f"{path}.{k}", a.get(k, "<missing>"), b.get(k, "<missing>"))
            return
        if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b)):
                walk(f"{path}[{i}]", x, y)
            return
        if isinstance(a, str) and isinstance(b, str) and ("\n" in a or "\n" in b):
            diff = list(difflib.unified_diff(a.split("\n"), b.split("\n"), "before", "after", n=context, lineterm=""))
            out.append(f"  {path}:")
            out.extend("    " + line for line in diff[:limit])
            return
        out.append(f"  {path}: {json.dumps(a)[:300]} -> {json.dumps(b)[:300]}")

    walk("", before, after)
    return out


def timing_only(before, after):
    """Do the two records differ only in a speed part (its score, its output, its record)?"""
    def strip(rec):
        rec = json.loads(json.dumps(rec))
        numbers = {t["number"] for t in rec["results"]["tests"] if any(p in t["name"] for p in TIMING_PARTS)}
        rec["results"]["tests"] = [t for t in rec["results"]["tests"] if t["number"] not in numbers]
        for key in ("score", "output"):
            rec["results"].pop(key, None)
        rec.pop("summary", None)
        for p in TIMING_PARTS:
            rec["parts"].pop(p, None)
        return rec

    return strip(before) == strip(after)


def grade_all(names, jobs, seed=SEED):
    if jobs <= 1:
        return dict(grade_one(n, seed) for n in names)
    import multiprocessing

    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        return dict(pool.map(grade_one, names, [seed] * len(names)))


def load(path):
    opener = lzma.open if str(path).endswith(".xz") else gzip.open
    with opener(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def save(path, snapshot):
    """Write ``snapshot`` as JSON, xz-compressed (.xz: the mutants' feedback repeats the reference's, which xz's
    long window finds; about 140 KB for everything) or gzip'd."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(snapshot, sort_keys=True, indent=0, ensure_ascii=False).encode("utf-8")
    if path.suffix == ".xz":
        path.write_bytes(lzma.compress(text, preset=9 | lzma.PRESET_EXTREME))
        return
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(text)


def check(snapshot, names, jobs, retries=2, out=print):
    """Grade ``names`` again with the snapshot's seed; print the differences; return the names that differ."""
    seed = snapshot["seed"]
    got = grade_all(names, jobs, seed)
    differ = []
    for name in names:
        before, after = snapshot["submissions"][name], got[name]
        for _ in range(retries):
            if before == after or not timing_only(before, after):
                break
            after = grade_one(name, seed)[1]
        lines = differences(name, before, after)
        if lines:
            differ.append(name)
            out("\n".join(lines))
    return differ


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["snapshot", "check", "list"])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--snapshot", dest="file", default=str(SNAPSHOT), help=f"default: {SNAPSHOT.relative_to(ROOT)}")
    parser.add_argument("--jobs", "-j", type=int, default=min(os.cpu_count() or 1, 2))
    args = parser.parse_args(argv)
    everything = submissions()
    if args.command == "list":
        print("\n".join(everything))
        return 0
    unknown = [n for n in args.names if n not in everything]
    if unknown:
        parser.error(f"unknown submission: {', '.join(unknown)} (see `list`)")
    names = args.names or everything
    if args.command == "snapshot":
        old = load(args.file) if args.names and Path(args.file).exists() else {"seed": SEED, "submissions": {}}
        old["submissions"].update(grade_all(names, args.jobs, old["seed"]))
        save(args.file, old)
        print(f"{len(names)} submissions recorded in {args.file}")
        return 0
    snapshot = load(args.file)
    missing = [n for n in names if n not in snapshot["submissions"]]
    if missing:
        print(f"not in the snapshot: {', '.join(missing)}")
        return 1
    differ = check(snapshot, names, args.jobs)
    print(f"{len(names) - len(differ)} of {len(names)} submissions graded as recorded"
          + (f"; different: {', '.join(differ)}" if differ else ""))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
