"""What grade-all writes for the batch: grades.csv, summary.txt (with the regrade diff, regrade.py, and the
class's mistakes, classreport.py), the score plots."""

import csv
import re
import statistics

from ..checking.text import one_line
from ..grading import retry
from .regrade import POSTING, old_max, old_total, part_scores, regrade_lines, verdict

STATUSES = ("ok", "timeout", "error")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def cell(text):
    """Text for a spreadsheet: one line without control characters (a NUL or a line break would split or
    end a row in some readers) and never a formula (names and messages are not ours)."""
    text = _CONTROL.sub(" ", str(text))
    return "'" + text if text.lstrip()[:1] in ("=", "+", "-", "@") else text


def blank(value):
    return "" if value is None else f"{value:g}"


def write_csv(path, rows, table):
    """grades.csv: one row per submission; where the export had old scores, ``old_total`` and ``old_max`` (what
    that total was out of) beside ``total`` and ``max``, and the regrade's verdict (regrade.py)."""
    ids = [p.id for p in table.parts]
    with_old = any(old_total(r) is not None for r in rows)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["submission_id", "names", "sids", "emails", *ids, "total", "max",
                    *(["old_total", "old_max", "regrade"] if with_old else []), "status", "seconds", "message"])
        for r in rows:
            people = r.sub.submitters
            scores = part_scores(r, table)
            old = [blank(old_total(r)), blank(old_max(r)), verdict(r, table)] if with_old else []
            w.writerow([cell(r.sub.id), cell("; ".join(p["name"] for p in people)),
                        cell("; ".join(p["sid"] for p in people)), cell("; ".join(p["email"] for p in people)),
                        *[f"{scores[i]:g}" for i in ids], f"{r.data['score']:g}", f"{table.total:g}", *old, r.status,
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


# ----------------------------------------------------------------- summary
def summary_text(rows, table, skipped, extra=()):
    """summary.txt: counts, scores, the parts most often failed, the regrade diff and how to post it, ``extra``
    (the class's mistakes, the similarity report), the submissions not graded normally."""
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
    lines += regrade_lines(rows, table)
    faulted = [(r, n) for r in rows for n in r.notes if n.startswith(retry.NOTE)]
    if faulted:  # never the students' mistakes: staff grade these again
        lines.append(f"the grading machine's faults ({len({r.sub.id for r, _ in faulted})} submissions; grade them "
                     "again, see DIR/<id>/grade.log):")
        lines += [f"  {r.sub.id}: {one_line(n, 300)}" for r, n in faulted]
    lines += list(POSTING) + list(extra)
    bad = [r for r in rows if r.status != "ok"]
    if bad:
        lines.append("not graded normally (see DIR/<id>/grade.log):")
        lines += [f"  {r.sub.id}: {r.status}: {one_line(r.message, 300)}" for r in bad]
    return "\n".join(lines) + "\n"


def plot(out, rows, table):
    """score_histogram.png and part_scores.png (matplotlib, Agg backend); '' when written, else why not
    (the grades are written anyway: a machine without matplotlib, such as Gradescope's grader venv)."""
    try:
        import matplotlib
    except ImportError:
        return "no plots: matplotlib is not installed here (python -m pip install -r requirements.txt)"

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
    return ""


def isolation_notes(rows):
    """The distinct 'isolation reduced' notes the gradings reported (same machine, same notes): from the
    notes each grading returned as data, never from text a submission could have printed."""
    seen = {}
    for r in rows:
        for note in r.notes:
            if note.startswith("isolation reduced"):
                seen.setdefault(note, None)
    return list(seen)
