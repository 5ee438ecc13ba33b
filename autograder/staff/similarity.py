"""Code similarity within a batch (``grade-all --similarity``): the most similar pairs of submissions, for
course staff to read. Never part of a grade: nothing here touches grades.csv or results.json.

The comparison is copydetect's (winnowing over token fingerprints: names and strings normalised, so renamed
variables still match), file by file: each graded file of a submission against the same file of every other
submission, the starter code (the handout's stubs, ``assignment/``) removed as boilerplate first, so what a
stub gives everyone never counts. With ``--similarity-against DIR`` (earlier terms' submissions, public
solutions), every submission's files are compared with that folder's Python files too (those of the same
name where it has some, else all of them). Everything runs here, on the files: no network, and no code is
run or imported.

It writes ``similarity.html`` (self-contained: the ranked pairs, then each pair's files side by side with the
shared code marked) and ``similarity.csv`` (one row per pair and file), and returns the summary's lines. A
pair's similarity is that of its most similar file: the larger of the two shares (how much of one file's
code, the starter code left out, is found in the other), so a function copied into a larger file counts.
"""

import csv
import html
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..intake.locate import locate
from ..intake.unzip import SubmissionError
from .report import cell

STARTER = Path(__file__).resolve().parents[2] / "assignment"  # the handout's stubs (a checkout of the course)
MAX_FILE = 512 * 1024  # bytes of one file compared (a larger one is left out, and said)
MAX_AGAINST = 20_000  # Python files read from --similarity-against
CLOSE = 0.9  # the summary counts the pairs at least this similar


@dataclass
class FileMatch:
    module: str  # "conv.py" (within the batch), or "conv.py ~ <the other file's path>" (against the folder)
    share_a: float  # the share of a's file found in b's
    share_b: float
    tokens: int  # characters of filtered code they share
    code_a: str = ""  # a's file as HTML, the shared code marked
    code_b: str = ""

    @property
    def score(self):
        return max(self.share_a, self.share_b)


@dataclass
class Pair:
    a: str
    b: str  # a submission id, or "earlier: <path>" for the --similarity-against folder
    files: list = field(default_factory=list)  # [FileMatch], most similar first

    @property
    def best(self):
        return self.files[0]


def detector_class():
    import matplotlib

    matplotlib.use("Agg")  # copydetect imports pyplot
    from copydetect import CopyDetector

    return CopyDetector


def collect(subs, modules, folder):
    """Write each submission's graded files, read safely (zips through intake's safe unzip), as
    folder/<module>/<id>/<module>.py; returns ({id: names}, notes)."""
    names, notes = {}, []
    for sub in subs:
        names[sub.id] = "; ".join(p["name"] for p in sub.submitters if p.get("name"))
        try:
            located = locate(sub.path, modules)
        except SubmissionError as exc:
            notes.append(f"{sub.id}: not read ({exc})")
            continue
        try:
            for m in modules:
                src = located.folder / f"{m}.py"
                if not src.is_file() or src.is_symlink():
                    continue
                if src.stat().st_size > MAX_FILE:
                    notes.append(f"{sub.id}: {m}.py left out (over {MAX_FILE >> 10} KB)")
                    continue
                target = folder / m / sub.id / f"{m}.py"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(src.read_bytes().decode("utf-8", errors="replace"), encoding="utf-8")
        finally:
            located.cleanup()
    return names, notes


def run(tests, refs, starter, same_batch):
    """copydetect run over ``tests`` against ``refs`` (paths), ``starter`` removed as boilerplate; None when one
    side is empty."""
    CopyDetector = detector_class()
    d = CopyDetector(extensions=["py"], ignore_leaf=same_batch, autoopen=False, silent=True)
    for kind, files in (("test", tests), ("ref", refs), ("boilerplate", starter)):
        for f in files:
            d.add_file(str(f), kind)
    if not d.test_files or not d.ref_files:
        return None
    d.run()
    return d


def shares(d):
    """The larger of the two shares per (test, ref) file pair: an array, 0 where nothing was compared."""
    return np.clip(np.maximum(d.similarity_matrix[:, :, 0], d.similarity_matrix[:, :, 1]), 0, None)


def highlighted(d, a, b):
    """The two files as HTML with the code they share marked (copydetect escapes the text)."""
    from copydetect.utils import highlight_overlap

    slices = d.slice_matrix.get((a, b))
    if slices is None:
        reverse = d.slice_matrix.get((b, a))
        slices = None if reverse is None else [reverse[1], reverse[0]]
    if slices is None or slices[0].shape[0] == 0:
        return html.escape(d.file_data[a].raw_code), html.escape(d.file_data[b].raw_code)
    return tuple(str(highlight_overlap(d.file_data[f].raw_code, s, "<mark>", "</mark>", escape_html=True)[0])
                 for f, s in ((a, slices[0]), (b, slices[1])))


def match(d, i, j, label):
    s1, s2 = d.similarity_matrix[i, j]
    a, b = d.test_files[i], d.ref_files[j]
    return FileMatch(label, max(float(s1), 0.0), max(float(s2), 0.0), int(max(d.token_overlap_matrix[i, j], 0)),
                     *highlighted(d, a, b))


def within(folder, modules, ids, starter_dir, top):
    """The ``top`` most similar pairs of submissions, each with its files compared."""
    index = {sid: k for k, sid in enumerate(ids)}
    best = np.zeros((len(ids), len(ids)))
    runs = {}
    for m in modules:
        files = sorted((folder / m).glob(f"*/{m}.py"))
        starter = [starter_dir / f"{m}.py"] if (starter_dir / f"{m}.py").is_file() else []
        d = run(files, files, starter, True) if len(files) > 1 else None
        if d is None:
            continue
        at = [index[Path(f).parent.name] for f in d.test_files]
        runs[m] = (d, {Path(f).parent.name: k for k, f in enumerate(d.test_files)})
        best[np.ix_(at, at)] = np.maximum(best[np.ix_(at, at)], shares(d))
    upper = np.triu(best, 1)
    order = np.argsort(-upper, axis=None)[:top]
    out = []
    for flat in order:
        i, j = np.unravel_index(flat, upper.shape)
        if upper[i, j] <= 0:
            break
        pair = Pair(ids[i], ids[j])
        for m, (d, at) in runs.items():
            if ids[i] in at and ids[j] in at:
                pair.files.append(match(d, at[ids[i]], at[ids[j]], f"{m}.py"))
        pair.files.sort(key=lambda f: (-f.score, -f.tokens))
        out.append(pair)
    return out


def against_folder(folder, modules, files, starter_dir, top, root):
    """The ``top`` closest (submission, file of the folder) matches: each submission's file against the folder's
    files of the same name (all of them where it has none of that name)."""
    found = []
    for m in modules:
        tests = sorted((folder / m).glob(f"*/{m}.py"))
        refs = [p for p in files if p.name == f"{m}.py"] or files
        starter = [starter_dir / f"{m}.py"] if (starter_dir / f"{m}.py").is_file() else []
        d = run(tests, refs, starter, False) if tests and refs else None
        if d is None:
            continue
        s = shares(d)
        for flat in np.argsort(-s, axis=None)[:top]:
            i, j = np.unravel_index(flat, s.shape)
            if s[i, j] > 0:
                found.append((float(s[i, j]), d, i, j, m))
    out = []
    for _, d, i, j, m in sorted(found, key=lambda f: -f[0])[:top]:
        ref = Path(d.ref_files[j])
        name = (root.name / ref.relative_to(root)).as_posix() if ref.is_relative_to(root) else str(ref)
        out.append(Pair(Path(d.test_files[i]).parent.name, f"earlier: {name}", [match(d, i, j, f"{m}.py ~ {name}")]))
    return out


def report(subs, table, out, against=None, top=30, starter_dir=STARTER):
    """similarity.html and similarity.csv in ``out`` for the submissions ``subs`` (export.Submission), the
    table's graded modules; the summary's lines."""
    modules = list(table.modules)
    against_files = None
    if against:
        root = Path(against)
        if not root.is_dir():
            return [f"similarity: --similarity-against {against} is not a folder: nothing compared"]
        against_files = sorted(p.resolve() for p in root.rglob("*.py") if p.is_file() and not p.is_symlink()
                               and p.stat().st_size <= MAX_FILE)[:MAX_AGAINST]
    tmp = Path(tempfile.mkdtemp(prefix="convgrade-similarity-"))
    try:
        names, notes = collect(subs, modules, tmp)
        ranked = within(tmp, modules, [s.id for s in subs], starter_dir, top)
        earlier = against_folder(tmp, modules, against_files, starter_dir, top, Path(against).resolve()) \
            if against_files else []
        write_csv(out / "similarity.csv", ranked + earlier)
        write_html(out / "similarity.html", ranked, earlier, names, len(subs), against, starter_dir, notes)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    starter = "the starter code excluded" if any(starter_dir.glob("*.py")) else \
        f"no starter code found in {starter_dir}: nothing excluded"
    lines = [f"similarity (similarity.html, similarity.csv; never part of a grade): {len(subs)} submissions, "
             f"{starter}" + (f", compared with {len(against_files)} files of {against}" if against else "") + "; "
             + (f"the {min(5, len(ranked))} most similar pairs:" if ranked else "no shared code within the batch")]
    lines += [pair_line(p) for p in ranked[:5]]
    close = sum(1 for p in ranked if p.best.score >= CLOSE)
    if close > 5:
        lines.append(f"  ({close} pairs at {100 * CLOSE:.0f}% or more in the report's {len(ranked)})")
    if against:
        lines.append(f"  closest to {against}:" if earlier else f"  nothing shared with {against}")
        lines += [pair_line(p) for p in earlier[:3]]
    lines += [f"  note: {n}" for n in notes[:5]]
    return lines


def pair_line(p):
    f = p.best
    return (f"  {p.a} ~ {p.b}: {100 * f.score:.0f}% ({f.module}: {100 * f.share_a:.0f}% of {p.a}'s, "
            f"{100 * f.share_b:.0f}% of the other's)")


def write_csv(path, ranked):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["rank", "submission_a", "submission_b", "similarity", "file", "share_a", "share_b", "tokens"])
        for rank, p in enumerate(ranked, 1):
            for m in sorted(p.files, key=lambda f: -f.score):
                w.writerow([rank, cell(p.a), cell(p.b), f"{p.best.score:.3f}", cell(m.module), f"{m.share_a:.3f}",
                            f"{m.share_b:.3f}", m.tokens])


STYLE = """body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;
padding:2px 8px;text-align:left}pre{white-space:pre-wrap;font-size:12px;background:#f8f8f8;padding:6px;margin:0}
mark{background:#ffd27f}.side{display:grid;grid-template-columns:1fr 1fr;gap:8px}"""


def write_html(path, ranked, earlier, names, count, against, starter_dir, notes):
    esc = html.escape

    def who(sid):
        return esc(sid) + (f" ({esc(names[sid])})" if names.get(sid) else "")

    out = ["<!doctype html><html><head><meta charset='utf-8'><title>convgrade: code similarity</title>"
           f"<style>{STYLE}</style></head><body><h1>Code similarity</h1>",
           f"<p>{count} submissions compared file by file with copydetect (winnowing); the starter code "
           f"({esc(str(starter_dir))}) removed first" + (f"; also compared with {esc(str(against))}" if against else "")
           + ". A pair's similarity is that of its most similar file: the larger share of one file's code found in "
           "the other. <b>Never part of a grade</b>: a lead to read the code, not a finding.</p>"]
    out += [f"<p>note: {esc(n)}</p>" for n in notes]
    sections = [("within the batch", ranked, "pair")]
    sections += [(f"against {against}", earlier, "earlier")] if against else []
    for heading, pairs_, anchor in sections:
        out.append(f"<h2>The most similar pairs {esc(heading)}</h2>")
        if not pairs_:
            out.append("<p>none: no shared code</p>")
            continue
        out.append("<table><tr><th>#</th><th>submission</th><th>similar to</th><th>similarity</th><th>per file "
                   "(share of the first's, of the second's)</th></tr>")
        for rank, p in enumerate(pairs_, 1):
            per_file = "; ".join(f"{esc(f.module)} {100 * f.share_a:.0f}% / {100 * f.share_b:.0f}%" for f in p.files)
            out.append(f"<tr><td><a href='#{anchor}{rank}'>{rank}</a></td><td>{who(p.a)}</td><td>{who(p.b)}</td>"
                       f"<td>{100 * p.best.score:.0f}%</td><td>{per_file}</td></tr>")
        out.append("</table>")
    for _, pairs_, anchor in sections:
        for rank, p in enumerate(pairs_, 1):
            out.append(f"<h3 id='{anchor}{rank}'>{rank}. {who(p.a)} ~ {who(p.b)}</h3>")
            for f in p.files:
                out.append(f"<details{' open' if f is p.best else ''}><summary>{esc(f.module)}: "
                           f"{100 * f.share_a:.0f}% / {100 * f.share_b:.0f}% ({f.tokens} characters of code shared)"
                           f"</summary><div class='side'><pre>{f.code_a}</pre><pre>{f.code_b}</pre></div></details>")
    out.append("</body></html>")
    path.write_text("\n".join(out), encoding="utf-8")
