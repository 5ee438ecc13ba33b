"""The results.json files of a term, wherever they are kept, for the class report without regrading.

    python -m autograder class-report SOURCE [SOURCE ...] --out DIR

A SOURCE is any of
  - grade-all's output folder: ``submissions/<id>/results.json``;
  - Gradescope's *Export Submissions* (its zip, or the folder unpacked): ``submission_metadata.yml`` holds, per
    submission, the results.json of its grading (``:results:``);
  - Gradescope's ``submission_metadata.json`` (what an autograder run reads): the results of the student's
    previous submissions (``previous_submissions``), of which the latest counts;
  - a results.json file, or any folder holding results.json / submission_metadata.json files (searched
    below it).
Each becomes a classreport.Graded; results that are not a results.json (no ``tests`` list) are left out and
counted. Nothing here runs or imports student code: it reads JSON and YAML (safely) only.
"""

import json
import shutil
import tempfile
from pathlib import Path

from .classreport import Graded
from .export import METADATA, export_root, raw_metadata, unpack_export
from .batch import SUBMISSIONS

GRADESCOPE_METADATA = "submission_metadata.json"
MAX_FILES = 200_000


def plain(value):
    """YAML read from an export: Ruby-symbol keys (``:score``) as plain ones, at every depth."""
    if isinstance(value, dict):
        return {(k[1:] if isinstance(k, str) and k.startswith(":") else k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def usable(data):
    return isinstance(data, dict) and isinstance(data.get("tests"), list)


def read_json(path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def from_export(root, skipped):
    """[Graded] of an export's metadata: each submission's ``:results:``."""
    out = []
    for key, entry in (raw_metadata(root / METADATA) or {}).items():
        results = plain(entry).get("results") if isinstance(entry, dict) else None
        name = str(key)
        if usable(results):
            out.append(Graded(name[len("submission_"):] if name.startswith("submission_") else name, results))
        else:
            skipped.append(f"{name} (no results in the export)")
    return out


def from_gradescope_metadata(path, skipped):
    """[Graded] of one submission_metadata.json: the latest previous submission's results."""
    data = read_json(path)
    if not isinstance(data, dict):
        skipped.append(f"{path} (not JSON)")
        return []
    previous = [p for p in data.get("previous_submissions") or [] if isinstance(p, dict) and usable(p.get("results"))]
    if not previous:
        skipped.append(f"{path} (no previous submission with results)")
        return []
    latest = max(previous, key=lambda p: str(p.get("submission_time") or p.get("created_at") or ""))
    users = [u.get("email") or u.get("name") or "" for u in data.get("users") or [] if isinstance(u, dict)]
    ident = str(data.get("id") or "; ".join(u for u in users if u) or path.parent.name)
    return [Graded(ident, latest["results"])]


def from_file(path, skipped, name=None):
    if path.name == GRADESCOPE_METADATA:
        return from_gradescope_metadata(path, skipped)
    data = read_json(path)
    if not usable(data):
        skipped.append(f"{path} (not a results.json)")
        return []
    return [Graded(name or path.parent.name or path.stem, data)]


def from_folder(root, skipped):
    """[Graded] of a folder: grade-all's output, an unpacked export, or results files anywhere below it."""
    if (root / SUBMISSIONS).is_dir() and any((root / SUBMISSIONS).glob("*/results.json")):
        out = []
        for p in sorted((root / SUBMISSIONS).glob("*/results.json")):
            meta = read_json(p.parent / "batch.json") or {}
            status = meta.get("status", "ok") if isinstance(meta, dict) else "ok"
            out += [Graded(g.id, g.data, status if status in ("ok", "timeout", "error") else "ok")
                    for g in from_file(p, skipped, name=p.parent.name)]
        return out
    exported = export_root(root)
    if (exported / METADATA).is_file():
        return from_export(exported, skipped)
    out = []
    found = sorted(p for p in root.rglob("*") if p.name in ("results.json", GRADESCOPE_METADATA) and p.is_file()
                   and not p.is_symlink())[:MAX_FILES]
    for p in found:
        rel = p.parent.relative_to(root).as_posix()
        out += from_file(p, skipped, name=rel if rel != "." else root.name)
    return out


def read(sources):
    """([Graded], [what was left out and why]) of every SOURCE; ids made unique across sources."""
    graded, skipped = [], []
    for source in map(Path, sources):
        if not source.exists():
            raise SystemExit(f"class-report: {source} does not exist")
        if source.is_file() and source.suffix.lower() == ".zip":
            tmp = Path(tempfile.mkdtemp(prefix="convgrade-term-"))
            try:
                graded += from_folder(export_root(unpack_export(source, tmp), descend=True), skipped)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        elif source.is_file():
            graded += from_file(source, skipped)
        else:
            graded += from_folder(source.resolve(), skipped)
    seen = {}
    for g in graded:
        n = seen.get(g.id, 0)
        seen[g.id] = n + 1
        if n:
            g.id = f"{g.id}-{n + 1}"
    return graded, skipped


def main(args):
    """class-report: the class's mistakes and crashes of a term's results, without regrading (classreport.py):
    mistakes.csv, crashes.csv, mistakes.png and class_report.txt in --out, the report printed too."""
    from .classreport import write

    try:
        graded, skipped = read(args.sources)
    except SystemExit as exc:
        print(exc)
        return 2
    if not graded:
        print("class-report: no results.json found in " + ", ".join(map(str, args.sources))
              + (f" ({len(skipped)} left out: {'; '.join(skipped[:5])})" if skipped else ""))
        return 2
    out = Path(args.out).resolve()
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    report, note = write(out, graded)
    head = [f"class report: {len(graded)} results from {', '.join(map(str, args.sources))}"]
    if skipped:
        head.append(f"left out: {len(skipped)} ({'; '.join(skipped[:5])}{'; ...' if len(skipped) > 5 else ''})")
    text = "\n".join(head + report) + "\n"
    (out / "class_report.txt").write_text(text, encoding="utf-8")
    print(text, end="")
    if note:
        print(f"note: {note}")
    print(f"wrote {out / 'mistakes.csv'}, {out / 'crashes.csv'}, {out / 'class_report.txt'}"
          + ("" if note else f", {out / 'mistakes.png'}"))
    return 0
