"""The part x difficulty matrix of a case table: which visible case meets each difficulty alone.

For every part and every difficulty it lists (difficulties.py), one Cell:

    plain      the part's plain case already has it (padding 0 where the plain case is unpadded)
    isolated   visible cases whose only departure from the plain case is that difficulty
    hidden     only hidden cases depart from the plain case in that difficulty alone (a student never sees
               the case that would tell them what their code cannot do: make a visible copy of one)
    combined   it appears only together with other departures (the cases, hidden ones marked)
    missing    no case has it at all
    no plain   the part marks no visible case plain: true, or several: nothing to compare with

``python -m autograder coverage`` prints it (render()); tests/test_coverage.py fails on any cell that is
neither plain nor isolated, naming the part, the difficulty and the case to add.
"""

from dataclasses import dataclass

from .difficulties import isolates, measure, plain_case, plain_cases, turned

STATUSES = ("plain", "isolated", "hidden", "combined", "missing", "no plain")


@dataclass(frozen=True)
class Cell:
    part: str
    difficulty: str
    status: str  # one of STATUSES
    cases: tuple = ()  # case numbers (from 1, as the grader numbers them): the plain one, isolating or combined
    hidden: tuple = ()  # the hidden ones among ``cases`` (hidden, combined)

    @property
    def covered(self):
        return self.status in ("plain", "isolated")

    def label(self):
        """What the coverage table shows for this cell."""
        if self.status == "plain":
            return f"case {self.cases[0]} (plain)"
        if self.status == "isolated":
            return "case " + ", ".join(str(i) for i in self.cases)
        if self.status == "hidden":
            shown = ", ".join(f"{i}h" for i in self.cases)
            return f"hidden only (case{'s' if len(self.cases) > 1 else ''} {shown})"
        if self.status == "combined":
            shown = ", ".join(f"{i}{'h' if i in self.hidden else ''}" for i in self.cases)
            return f"combined only (cases {shown})"
        if self.status == "no plain":
            return ("no plain case: mark one visible case plain: true" if not self.cases else
                    f"several plain cases ({', '.join(map(str, self.cases))}): keep one")
        return "MISSING"


def part_cells(part, known):
    """[Cell] of one part, one per difficulty it lists, in its order (empty without difficulties)."""
    if not part.difficulties:
        return []
    plain = plain_case(part)
    if plain is None:
        marked = tuple(i for i, _ in plain_cases(part))
        return [Cell(part.id, name, "no plain", marked) for name in part.difficulties]
    measured = {i: measure(part, c) for i, c in enumerate(part.cases, 1)}
    base = measured[plain[0]]
    cells = []
    for name in part.difficulties:
        d = known[name]
        if d.holds(base[0]):
            cells.append(Cell(part.id, name, "plain", (plain[0],)))
            continue
        alone = tuple(i for i, c in enumerate(part.cases, 1)
                      if not c.get("hidden") and isolates(d, measured[i], base))
        if alone:
            cells.append(Cell(part.id, name, "isolated", alone))
            continue
        hidden_alone = tuple(i for i, c in enumerate(part.cases, 1)
                             if c.get("hidden") and isolates(d, measured[i], base))
        if hidden_alone:
            cells.append(Cell(part.id, name, "hidden", hidden_alone, hidden_alone))
            continue
        met = tuple(i for i in measured if d.holds(measured[i][0]))
        hidden = tuple(i for i in met if part.cases[i - 1].get("hidden"))
        cells.append(Cell(part.id, name, "combined" if met else "missing", met, hidden))
    return cells


def matrix(table):
    """{part id: [Cell]} of every part of ``table`` (a part without difficulties: [])."""
    return {p.id: part_cells(p, table.difficulties) for p in table.parts}


def advice(table, cell):
    """One sentence: the visible case to add so that ``cell`` is isolated."""
    part = table.part(cell.part)
    d = table.difficulties[cell.difficulty]
    if cell.status == "no plain":
        return (f"part {cell.part}: {cell.label()} (its simplest geometry: a square input and kernel, scalar "
                f"options, a bias), so that its difficulties ({cell.difficulty}, ...) can be checked.")
    index, case = plain_case(part)
    shown = {k: v for k, v in case.items() if k not in ("plain", "seed")}
    found = ""
    if cell.status == "hidden":
        several = len(cell.cases) > 1
        found = (f"; hidden case{'s' if several else ''} {', '.join(map(str, cell.cases))} "
                 f"isolate{'' if several else 's'} it, and a student never sees a hidden case's values: a visible "
                 "copy (with its own seed) would do")
    if cell.status == "combined":
        extra = {i: sorted(turned(measure(part, part.cases[i - 1])[1], measure(part, case)[1]) - set(d.turns))
                 for i in cell.cases}
        found = "; it only appears combined: " + "; ".join(
            f"case {i}{' (hidden)' if i in cell.hidden else ''} also turns {', '.join(e)}" for i, e in extra.items())
    return (f"part {cell.part}: no visible case isolates the difficulty {cell.difficulty} ({d.when}){found}. "
            f"Add a visible case (with a seed) equal to the plain case {index}, {shown}, except in "
            f"{', '.join(d.turns)}, chosen so that {d.when} holds.")


def render(table, console, legend=True):
    """Print the matrix as a rich table (a row per part and difficulty; part ids never cut), then a legend
    of the difficulties and a one-line summary. Returns the cells that are neither plain nor isolated."""
    from rich.markup import escape as markup
    from rich.table import Table as RichTable

    cells = matrix(table)
    rt = RichTable(title="difficulty coverage: the visible case that meets each difficulty alone",
                   title_justify="left")
    # part ids are never cut; on a narrow terminal the other two columns fold instead
    rt.add_column("part", no_wrap=True, min_width=max((len(p.id) for p in table.parts), default=4))
    rt.add_column("difficulty", overflow="fold", min_width=8)
    rt.add_column("isolated by", overflow="fold", min_width=12)
    colours = {"plain": "green", "isolated": "green", "hidden": "yellow", "combined": "yellow", "missing": "bold red",
               "no plain": "bold red"}
    uncovered = []
    for part in table.parts:
        rows = cells[part.id]
        if not rows:
            rt.add_row(markup(part.id), "[yellow](no difficulties listed)[/yellow]", "", end_section=True)
            continue
        plain = f"[dim]plain: case {plain_case(part)[0]}[/dim]" if plain_case(part) else ""
        for n, cell in enumerate(rows):
            if not cell.covered:
                uncovered.append(cell)
            rt.add_row(markup(part.id) if n == 0 else plain if n == 1 else "", markup(cell.difficulty),
                       f"[{colours[cell.status]}]{markup(cell.label())}[/{colours[cell.status]}]",
                       end_section=n == len(rows) - 1)
    console.print(rt)
    if legend:
        used = {c.difficulty for rows in cells.values() for c in rows}
        console.print("\n[bold]difficulties[/bold] (cases.yaml `difficulties:`): name: when (the knobs it turns)")
        for name, d in table.difficulties.items():
            if name in used:
                console.print(f"  [bold]{markup(name)}[/bold]: {markup(d.when)}  (turns {markup(', '.join(d.turns))})\n"
                              f"      {markup(d.text)}", highlight=False)
    total = sum(len(rows) for rows in cells.values())
    console.print(f"{total - len(uncovered)} of {total} part x difficulty cells isolated in a visible case"
                  + (f"; not isolated: {', '.join(f'{c.part}/{c.difficulty}' for c in uncovered)}"
                     if uncovered else ""), highlight=False, soft_wrap=True)
    return uncovered
