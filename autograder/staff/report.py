"""What grade-all writes for the batch: grades.csv, summary.txt (with the regrade diff), the plots."""

import csv
import re
import statistics
from dataclasses import dataclass

from ..checking.text import one_line
from ..grading import retry

STATUSES = ("ok", "timeout", "error")
EPS = 1e-6


def part_scores(row, table):
    by_number = {t.get("number"): t for t in row.data.get("tests", [])}
    return {p.id: float(by_number.get(p.number, {}).get("score", 0.0)) for p in table.parts}


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def cell(text):
    """Text for a spreadsheet: one line without control characters (a NUL or a line break would split or
    end a row in some readers) and never a formula (names and messages are not ours)."""
    text = _CONTROL.sub(" ", str(text))
    return "'" + text if text.lstrip()[:1] in ("=", "+", "-", "@") else text


def old_total(row):
    prev = row.sub.previous
    return None if prev is None else prev.total


def write_csv(path, rows, table):
    """grades.csv: one row per submission; with an ``old_total`` column where the export had old scores."""
    ids = [p.id for p in table.parts]
    with_old = any(old_total(r) is not None for r in rows)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["submission_id", "names", "sids", "emails", *ids, "total", *(["old_total"] if with_old else []),
                    "max", "status", "seconds", "message"])
        for r in rows:
            people = r.sub.submitters
            scores = part_scores(r, table)
            old = old_total(r)
            w.writerow([cell(r.sub.id), cell("; ".join(p["name"] for p in people)),
                        cell("; ".join(p["sid"] for p in people)), cell("; ".join(p["email"] for p in people)),
                        *[f"{scores[i]:g}" for i in ids], f"{r.data['score']:g}",
                        *([("" if old is None else f"{old:g}")] if with_old else []), f"{table.total:g}", r.status,
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


# ----------------------------------------------------------------- regrade diff
@dataclass
class PartChange:
    part: object  # table.Part
    old: float
    new: float
    old_max: float = None  # the part's maximum in the export's results (None: they do not say)

    @property
    def max_only(self):
        """Full marks before and after, and only the maximum changed."""
        return (self.old_max is not None and abs(self.old_max - self.part.weight) > EPS
                and abs(self.old - self.old_max) <= EPS and abs(self.new - self.part.weight) <= EPS)

    def text(self):
        p = self.part
        if self.old_max is None or abs(self.old_max - p.weight) <= EPS:
            return f"{p.number} {p.id} {self.old:g} -> {self.new:g} ({signed(self.new - self.old)})"
        return (f"{p.number} {p.id} {self.old:g}/{self.old_max:g} -> {self.new:g}/{p.weight:g} "
                f"({signed(self.new - self.old)}{', the maximum' if self.max_only else ''})")


def changes(rows, table):
    """[(row, old total, new total, [PartChange])] of the submissions whose total changed; the parts are those
    whose old score the export holds and which changed."""
    out = []
    for r in rows:
        old = old_total(r)
        if old is None or abs(r.data["score"] - old) <= EPS:
            continue
        new_parts = part_scores(r, table)
        olds, maxima = r.sub.old_parts(table), r.sub.old_maxima(table)
        parts = [PartChange(p, olds[p.id], new_parts[p.id], maxima.get(p.id)) for p in table.parts
                 if p.id in olds and abs(olds[p.id] - new_parts[p.id]) > EPS]
        out.append((r, old, r.data["score"], parts))
    return out


def old_maxima(rows, table):
    """{part id: the part's maximum in the export} from the first submission whose old results give it."""
    found = {}
    for r in rows:
        for pid, m in r.sub.old_maxima(table).items():
            found.setdefault(pid, m)
    return found


def maximum_lines(rows, table):
    """What changed in the maximum since the export, per part (from the old results' max_score), or []."""
    maxima = old_maxima(rows, table)
    moved = [p for p in table.parts if p.id in maxima and abs(maxima[p.id] - p.weight) > EPS]
    if not moved:
        return []
    known = all(p.id in maxima for p in table.parts)
    old_total = sum(maxima[p.id] for p in table.parts) if known else None
    head = ("regrade: the maximum changed" + (f", {old_total:g} -> {table.total:g} ({signed(table.total - old_total)})"
                                              if old_total is not None else "") + ": ")
    return [head + ", ".join(f"{p.number} {p.id} {maxima[p.id]:g} -> {p.weight:g} ({signed(p.weight - maxima[p.id])})"
                             for p in moved)]


def signed(v):
    return f"{v:+g}"


def regrade_lines(rows, table):
    """The regrade diff of summary.txt: a change of the maximum, then every submission whose total changed, by
    how much, on which parts (a part at full marks before and after, whose maximum alone changed, says so)."""
    known = [r for r in rows if old_total(r) is not None]
    if not known:
        return []
    diff = changes(rows, table)
    max_only = [d for d in diff if d[3] and all(c.max_only for c in d[3])]
    up = sum(1 for d in diff if d[2] > d[1] and d not in max_only)
    down = len(diff) - up - len(max_only)
    lines = maximum_lines(rows, table)
    lines.append(f"regrade: {len(diff)} of {len(known)} submissions with an old score changed total ({up} up, "
                 f"{down} down" + (f", {len(max_only)} only through the maximum" if max_only else "") + ")"
                 + (":" if diff else ""))
    for r, old, new, parts in diff:
        names = "; ".join(p["name"] for p in r.sub.submitters if p["name"])
        who = f" ({one_line(names, 80)})" if names else ""
        if parts:
            where = ", ".join(c.text() for c in parts)
            if all(c.max_only for c in parts):
                where = "full marks before and after, only the maximum changed: " + where
        elif r.sub.previous.tests:
            where = "no part's score changed (the export's old parts differ from this table's)"
        else:
            where = "the export holds no per-part scores"
        lines.append(f"  {r.sub.id}{who}: {old:g} -> {new:g} ({signed(new - old)}); {where}")
    return lines


# ----------------------------------------------------------------- summary
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
    lines += regrade_lines(rows, table)
    faulted = [(r, n) for r in rows for n in r.notes if n.startswith(retry.NOTE)]
    if faulted:  # never the students' mistakes: staff grade these again
        lines.append(f"the grading machine's faults ({len({r.sub.id for r, _ in faulted})} submissions; grade them "
                     "again, see DIR/<id>/grade.log):")
        lines += [f"  {r.sub.id}: {one_line(n, 300)}" for r, n in faulted]
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
