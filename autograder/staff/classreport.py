"""What the class got wrong: the known mistakes and the crashes of a whole term, counted from results.json.

Every graded part's test in results.json carries a staff-only record (grading/results.py, ``staff_record``,
in the test's ``extra_data``): its failing cases with the points each cost and why each failed, the mistakes
recognised and the places where a call raised, timed out or crashed, hidden cases included. This module
counts those records over many submissions, from grade-all's own results or from Gradescope's (term.py), and
writes

    mistakes.csv   one row per submission and recognised mistake: the part, the mistake, the cases that
                   named it ("19h": hidden), the points the submission lost on that part
    crashes.csv    one row per submission and place a call stopped: the part, how (raised AssertionError,
                   timed out, crashed, ran out of memory, failed to import), the file, function and line, the
                   cases, the points lost on those cases
    mistakes.png   one bar per part's mistake (submissions that made it), the failing submissions no mistake
                   explains, and the crashes by file and function

and the lines of the summary: per part, the mistakes by how many submissions made them with the points lost,
and the share of failing submissions no mistake explains (what the catalogue still lacks); the crashes by
file and function, counted the same way.
"""

import csv
from collections import defaultdict
from dataclasses import dataclass, field

from ..checking.mistakes import MISTAKES
from ..checking.text import one_line
from .report import cell

EPS = 1e-6
# Why a submission failed a part, when no case named a known mistake (the first that applies to any of its
# failing cases): as results.staff_record names a case's reason.
REASONS = {
    "unexplained": "failed a check that no known mistake fits",
    "cause": "failed through another part it calls",
    "crash": "raised, timed out or crashed",
    "unfinished": "not implemented, no usable file, or not run",
}


@dataclass
class Graded:
    """One submission's results.json (grade-all's, or Gradescope's read by term.py)."""

    id: str
    data: dict
    status: str = "ok"  # grade-all's status (ok, timeout, error); "ok" for a term's results


@dataclass
class PartTally:
    number: str
    id: str
    title: str
    failing: list = field(default_factory=list)  # submission ids below the part's maximum (with a record)
    lost: dict = field(default_factory=dict)  # {submission id: points lost on the part}
    mistakes: dict = field(default_factory=lambda: defaultdict(dict))  # {mistake: {submission id: possible only}}
    reasons: dict = field(default_factory=dict)  # {submission id: REASONS key} of the failing ones no mistake explains


@dataclass
class ClassTables:
    parts: dict  # {part id: PartTally}, in the order of the tests' numbers
    mistake_rows: list  # [dict] of mistakes.csv
    crash_rows: list  # [dict] of crashes.csv
    without_record: list  # submission ids whose results carry no staff record (another autograder, not graded)
    submissions: int


def case_list(indices, hidden):
    return ", ".join(f"{i}{'h' if i in hidden else ''}" for i in indices)


def number_key(number):
    return tuple(int(x) if x.isdigit() else x for x in str(number).split("."))


def tables(graded):
    """The ClassTables of ``graded`` ([Graded])."""
    parts, mistake_rows, crash_rows, without = {}, [], [], []
    for g in graded:
        tests = [t for t in g.data.get("tests", []) if isinstance(t, dict)]
        records = [(t, t.get("extra_data")) for t in tests]
        if g.status != "ok" or not tests or not all(isinstance(r, dict) and r.get("part") for _, r in records):
            without.append(g.id)
            continue
        for t, record in records:
            pid = str(record["part"])
            tally = parts.setdefault(pid, PartTally(str(t.get("number", "")), pid,
                                                    str(t.get("name", pid)).split(" ", 1)[-1]))
            lost = round(float(t.get("max_score", 0)) - float(t.get("score", 0)), 4)
            if lost <= EPS:
                continue
            tally.failing.append(g.id)
            tally.lost[g.id] = lost
            failed = [f for f in record.get("failed", []) if isinstance(f, dict)]
            hidden = {f.get("case") for f in failed if f.get("hidden")}
            for m in record.get("mistakes", []):
                tally.mistakes[str(m["id"])][g.id] = bool(m.get("possible"))
                mistake_rows.append({"submission_id": g.id, "part_number": tally.number, "part": pid,
                                     "mistake": m["id"], "possible": "yes" if m.get("possible") else "",
                                     "cases": case_list(m.get("cases", []), hidden), "points_lost": f"{lost:g}"})
            whys = {f.get("why") for f in failed}
            if not record.get("mistakes"):
                tally.reasons[g.id] = next((w for w in REASONS if w in whys), "unexplained")
            points = {f.get("case"): float(f.get("lost", 0)) for f in failed}
            for c in record.get("crashes", []):
                cases = c.get("cases", [])
                crash_rows.append({"submission_id": g.id, "part_number": tally.number, "part": pid,
                                   "kind": c.get("kind", ""), "exception": c.get("exception", ""),
                                   "file": c.get("file", ""), "function": c.get("function", ""),
                                   "line": "" if c.get("line") is None else c["line"],
                                   "cases": case_list(cases, hidden),
                                   "points_lost": f"{round(sum(points.get(i, 0.0) for i in cases), 4):g}"})
    ordered = dict(sorted(parts.items(), key=lambda kv: number_key(kv[1].number)))
    return ClassTables(ordered, mistake_rows, crash_rows, without, len(graded))


def write_csvs(out, t):
    """mistakes.csv and crashes.csv in ``out``."""
    for name, rows, columns in (
            ("mistakes.csv", t.mistake_rows,
             ["submission_id", "part_number", "part", "mistake", "possible", "cases", "points_lost"]),
            ("crashes.csv", t.crash_rows,
             ["submission_id", "part_number", "part", "kind", "exception", "file", "function", "line", "cases",
              "points_lost"])):
        tmp = out / f"{name}.tmp"
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(columns)
            for r in rows:
                w.writerow([cell(r[c]) for c in columns])
        tmp.replace(out / name)


def title(mistake):
    m = MISTAKES.get(mistake)
    return m.title if m is not None else "(not in this grader's catalogue)"


def mistake_counts(tally):
    """[(mistake, submissions that made it, of which only as a candidate, points lost on the part by them)],
    most submissions first."""
    out = []
    for name, subs in tally.mistakes.items():
        out.append((name, len(subs), sum(1 for p in subs.values() if p),
                    round(sum(tally.lost[s] for s in subs), 4)))
    return sorted(out, key=lambda m: (-m[1], -m[3], m[0]))


def crash_counts(t):
    """[((file, function, how), submissions, cases, points lost on those cases)], most submissions first."""
    grouped = defaultdict(lambda: [set(), 0, 0.0])
    for r in t.crash_rows:
        how = r["kind"] + (f" {r['exception']}" if r["exception"] else "")
        g = grouped[(r["file"], r["function"], how)]
        g[0].add(r["submission_id"])
        g[1] += len([c for c in r["cases"].split(", ") if c])
        g[2] += float(r["points_lost"])
    return sorted(((k, len(v[0]), v[1], round(v[2], 4)) for k, v in grouped.items()),
                  key=lambda x: (-x[1], -x[3], x[0]))


def percent(n, of):
    return f"{100 * n / of:.0f}%" if of else "-"


def lines(t, where="mistakes.csv"):
    """The class report's lines (summary.txt and class_report.txt). A part whose every failing submission is
    unfinished there (not implemented, no usable file, not run) is named once at the end, not listed."""
    counted = t.submissions - len(t.without_record)
    out = [f"mistakes recognised, per part ({where}; hidden cases counted; points: lost on the part by those "
           "submissions):"]
    unfinished_only = []
    for tally in t.parts.values():
        if not tally.failing:
            continue
        n = len(tally.failing)
        if not tally.mistakes and set(tally.reasons.values()) == {"unfinished"}:
            unfinished_only.append(f"{tally.number} {tally.id} ({n})")
            continue
        out.append(f"  {tally.number} {tally.id}: {n} of {counted} submissions below full marks")
        for name, subs, possible, points in mistake_counts(tally):
            maybe = f" ({possible} only possibly)" if possible else ""
            out.append(f"    {subs:>4}  {name}: {one_line(title(name), 70)}{maybe}; {points:g} points")
        unexplained = tally.reasons
        if unexplained:
            why = ", ".join(f"{sum(1 for r in unexplained.values() if r == k)} {text}" for k, text in REASONS.items()
                            if k in unexplained.values())
            out.append(f"    no mistake explains {len(unexplained)} of {n} ({percent(len(unexplained), n)}): {why}")
    if len(out) == 1:
        out.append("  none" + (": no submission lost points" if not unfinished_only else ""))
    if unfinished_only:
        out.append("  failed only where code is not implemented, a file is unusable or a case did not run: "
                   + ", ".join(unfinished_only))
    crashes = crash_counts(t)
    out.append("crashes and time-outs, by file and function (crashes.csv; points: lost on the cases that stopped "
               "there):")
    for (file, function, how), subs, cases, points in crashes:
        out.append(f"    {subs:>4}  {file} {function}: {how}; {cases} case{'s' if cases > 1 else ''}, "
                   f"{points:g} points")
    if not crashes:
        out.append("  none")
    if t.without_record:
        shown = ", ".join(t.without_record[:10]) + (", ..." if len(t.without_record) > 10 else "")
        out.append(f"not counted: {len(t.without_record)} of {t.submissions} results carry no staff record (not "
                   f"graded normally, or graded by an autograder without one): {shown}")
    return out


def plot(path, t):
    """mistakes.png: per part, a bar per recognised mistake and one for the failing submissions no mistake
    explains (unfinished code left out); beside it, the crashes by file and function. '' when written, else
    why not."""
    try:
        import matplotlib
    except ImportError:
        return "no mistakes plot: matplotlib is not installed here"
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    bars, colours = [], []
    palette = plt.get_cmap("tab10")
    for n, tally in enumerate(t.parts.values()):
        for name, subs, _, _ in mistake_counts(tally):
            bars.append((f"{tally.number} {name}", subs))
            colours.append(palette(n % 10))
        unexplained = sum(1 for r in tally.reasons.values() if r != "unfinished")  # not the unfinished code's
        if unexplained:
            bars.append((f"{tally.number} (no known mistake)", unexplained))
            colours.append("#bbbbbb")
    crashes = [(f"{f} {fn}: {how}", subs) for (f, fn, how), subs, _, _ in crash_counts(t)]
    rows = max(len(bars), len(crashes), 1)
    fig, axes = plt.subplots(1, 2, figsize=(13, 0.32 * rows + 2.2), layout="constrained")
    for ax, items, colour, what in ((axes[0], bars, colours, "recognised mistakes, per part"),
                                    (axes[1], crashes, ["#c44e52"] * len(crashes), "crashes and time-outs")):
        if items:
            ax.barh(range(len(items)), [v for _, v in items], color=colour, height=0.7)
            ax.set_yticks(range(len(items)), [label for label, _ in items], fontsize=8)
            ax.set_ylim(rows - 0.5, -0.5)  # one row height in both panels, first item on top
        else:
            ax.text(0.5, 0.5, "none", ha="center", va="center", transform=ax.transAxes)
            ax.set_yticks([])
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("submissions")
        ax.set_title(f"{what} ({t.submissions} submissions)", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return ""


def write(out, graded, where="mistakes.csv"):
    """mistakes.csv, crashes.csv and mistakes.png in ``out``; returns (the report's lines, a note or "")."""
    t = tables(graded)
    write_csvs(out, t)
    note = plot(out / "mistakes.png", t)
    return lines(t, where), note
