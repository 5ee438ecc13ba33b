"""The regrade diff of grade-all: what changed since the export's grades, so that a TA can post a regrade
without a mistake.

Up and down compare each part's share of its maximum, never raw points: when a part's weight changed since
the export (its ``max_score`` in the export's results differs from the table's), a student at 5/5 who is now
at 8/8 gained nothing, and one who lost points on another part is down even when the raw total rose. A
submission's verdict:

    up                   some part's share rose and none fell
    down                 some part's share fell and none rose
    up and down          both (each part is listed)
    the maximum changed  no share moved; only the maxima did (the total moved through them alone)
    no per-part scores   the export holds no per-part results for it: only the totals, compared by hand
    same                 nothing changed

grades.csv carries the verdict (``regrade``) and the old maximum beside the old total, so the file alone never
shows a student who lost points as a gain; the summary says the same, part by part.
"""

from dataclasses import dataclass

from ..checking.text import one_line

EPS = 1e-6
VERDICTS = ("up", "down", "up and down", "the maximum changed", "no per-part scores", "same")
# What to do with the grades (summary.txt and README, "Regrading an export locally"): three lines.
POSTING = (
    "to post: upload the new autograder (make autograder) on Gradescope and press \"Regrade All Submissions\" "
    "(Manage Submissions): Gradescope grades every submission again, and its scores are what students see.",
    "grades.csv is the preview of that regrade: compare Gradescope's new scores with it (by submission_id) before "
    "you publish; a gradebook kept elsewhere can import its total and max columns.",
    "hidden inputs are drawn afresh by every grading (here from OUT/hidden_seed; on Gradescope from a new seed per "
    "run): a submission that fails only some hidden cases may score a little differently there than here.",
)


def signed(v):
    return f"{v:+g}"


def part_scores(row, table):
    by_number = {t.get("number"): t for t in row.data.get("tests", [])}
    return {p.id: float(by_number.get(p.number, {}).get("score", 0.0)) for p in table.parts}


def old_total(row):
    prev = row.sub.previous
    return None if prev is None else prev.total


def old_max(row):
    """The maximum the export's total was out of: the sum of its old tests' max_score (None unless every old test
    gives one)."""
    prev = row.sub.previous
    if prev is None or not prev.tests or any(t.get("max_score") is None for t in prev.tests):
        return None
    return sum(t["max_score"] for t in prev.tests)


@dataclass
class PartChange:
    part: object  # table.Part
    old: float
    new: float
    old_max: float = None  # the part's maximum in the export's results (None: they do not say: taken as unchanged)

    @property
    def max_changed(self):
        return self.old_max is not None and abs(self.old_max - self.part.weight) > EPS

    @property
    def direction(self):
        """"up", "down" or "same": the part's share of its maximum, before and after."""
        before = self.old / self.old_max if self.max_changed and self.old_max else None
        if before is None:  # the same maximum: shares compare as points do
            delta = self.new - self.old
        else:
            delta = (self.new / self.part.weight if self.part.weight else 0.0) - before
        return "up" if delta > EPS else "down" if delta < -EPS else "same"

    def text(self):
        p = self.part
        if not self.max_changed:
            return f"{p.number} {p.id} {self.old:g} -> {self.new:g} ({signed(self.new - self.old)})"
        share = (f"{100 * self.old / self.old_max:.0f}% -> {100 * self.new / p.weight:.0f}%"
                 if self.old_max and p.weight else "")
        return (f"{p.number} {p.id} {self.old:g}/{self.old_max:g} -> {self.new:g}/{p.weight:g} "
                f"({share + ', ' if share else ''}the maximum changed)")


@dataclass
class Change:
    row: object
    old: float  # old total
    old_max: float  # None: unknown
    new: float
    parts: list  # [PartChange] of the parts whose old score the export holds and which changed (score or maximum)
    verdict: str  # one of VERDICTS


def change_of(row, table):
    """The Change of one submission with an old score (None without one)."""
    old = old_total(row)
    if old is None:
        return None
    new_parts = part_scores(row, table)
    olds, maxima = row.sub.old_parts(table), row.sub.old_maxima(table)
    parts = [PartChange(p, olds[p.id], new_parts[p.id], maxima.get(p.id)) for p in table.parts if p.id in olds]
    parts = [c for c in parts if abs(c.old - c.new) > EPS or c.max_changed]
    directions = {c.direction for c in parts}
    new = row.data["score"]
    moved = abs(new - old) > EPS
    complete = len(olds) == len(table.parts)  # else a part without an old score may have fallen unseen
    if {"up", "down"} <= directions:
        verdict = "up and down"
    elif "down" in directions:
        verdict = "down"
    elif not complete and (moved or directions):
        verdict = "no per-part scores"
    elif "up" in directions:
        verdict = "up"
    elif moved:
        verdict = "the maximum changed" if parts else "no per-part scores"
    else:
        verdict = "same"
    return Change(row, old, old_max(row), new, parts, verdict)


def verdict(row, table):
    """The regrade column of grades.csv: a VERDICT, or "" for a submission without an old score."""
    c = change_of(row, table)
    return "" if c is None else c.verdict


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
    before = sum(maxima[p.id] for p in table.parts) if known else None
    head = ("regrade: the maximum changed" + (f", {before:g} -> {table.total:g} ({signed(table.total - before)})"
                                              if before is not None else "") + ": ")
    return [head + ", ".join(f"{p.number} {p.id} {maxima[p.id]:g} -> {p.weight:g} ({signed(p.weight - maxima[p.id])})"
                             for p in moved)]


def totals_text(c, table, batch_max=None):
    """"100 -> 60 (-40)" when the maximum is the same; "100/100 -> 75/115" (no signed difference, which would
    read as a gain or a loss of points) when it changed, or is known only from the rest of the export
    (``batch_max``: a submission without per-part results)."""
    if c.old_max is not None and abs(c.old_max - table.total) <= EPS:
        return f"{c.old:g} -> {c.new:g} ({signed(c.new - c.old)})"
    before = c.old_max if c.old_max is not None else batch_max
    return f"{c.old:g}/{'?' if before is None else f'{before:g}'} -> {c.new:g}/{table.total:g}"


def regrade_lines(rows, table):
    """The regrade diff of summary.txt: a change of the maximum, the verdicts counted, then every submission that
    changed: its verdict, its totals, and each part that changed (see the module docstring)."""
    diff = [c for c in (change_of(r, table) for r in rows) if c is not None]
    if not diff:
        return []
    moved = [c for c in diff if c.verdict != "same"]
    maxima = old_maxima(rows, table)
    batch_max = sum(maxima[p.id] for p in table.parts) if all(p.id in maxima for p in table.parts) else None
    counts = {v: sum(1 for c in moved if c.verdict == v) for v in VERDICTS[:-1]}
    lines = maximum_lines(rows, table)
    lines.append(f"regrade: {len(moved)} of {len(diff)} submissions with an old score changed ("
                 + ", ".join(f"{n} {v}" for v, n in counts.items() if n or v in ("up", "down"))
                 + "); up and down compare each part's share of its maximum" + (":" if moved else ""))
    for c in moved:
        names = "; ".join(p["name"] for p in c.row.sub.submitters if p["name"])
        who = f" ({one_line(names, 80)})" if names else ""
        if c.parts:
            where = ", ".join(x.text() for x in c.parts)
        elif c.row.sub.previous.tests:
            where = "no part's score changed (the export's old parts differ from this table's)"
        else:
            where = "the export holds no per-part scores"
        lines.append(f"  {c.row.sub.id}{who}: {c.verdict}, {totals_text(c, table, batch_max)}; {where}")
    return lines
