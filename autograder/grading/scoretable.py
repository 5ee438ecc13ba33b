"""The score table and the full feedback in a terminal (grade, check.py, grade-all's logs), and the
environment record for staff."""

from rich.table import Table as RichTable

from ..checking.text import clean, markup
from . import feedback

PLACES = 2  # decimals of every score in the table, part rows and the total alike


def points(value):
    """A score as the table shows it: rounded to PLACES decimals, no trailing zeros ("0.45", "10")."""
    return f"{round(float(value), PLACES):g}"


def print_table(outcome, console, verbose=False, table=None, reveal=False):
    """The score table, one short line per part, then (``verbose``: the failing parts; "all": every part)
    the full feedback of each part as plain text, neither wrapped nor cut."""
    data = outcome.data
    rt = RichTable(show_lines=False)
    # Number, score and status always show in full; the part's title and the first problem give way
    # (ellipsis) on a narrow terminal, and the full feedback follows the table anyway.
    # (rich shrinks every no_wrap column alike once a row is too wide: the two long ones get a max_width
    # that leaves room for the others.)
    room = max(24, console.width - 3 - 9 - 4 - 16)  # 16: borders and padding of five columns
    rt.add_column("#", justify="right", no_wrap=True, min_width=3)
    rt.add_column("part", no_wrap=True, overflow="ellipsis", max_width=max(12, room * 2 // 5))
    rt.add_column("score", justify="right", no_wrap=True, min_width=9)
    rt.add_column("", justify="center", no_wrap=True, min_width=4)
    rt.add_column("first problem (details below)", no_wrap=True, overflow="ellipsis",
                  max_width=max(12, room - max(12, room * 2 // 5)))
    by_number = {p.number: p.id for p in (table.parts if table else [])}
    for test in data["tests"]:
        result = outcome.parts.get(by_number.get(test.get("number")))
        ok = test["status"] == "passed"
        first = result.first_problem() if result is not None else (test.get("output", "").splitlines() or [""])[0]
        name = test["name"].split(" ", 1)[-1]
        rt.add_row(markup(test.get("number", "")), markup(name), f"{points(test['score'])}/{points(test['max_score'])}",
                   "[green]pass[/green]" if ok else "[red]FAIL[/red]", markup(first))
    total = data["score"]
    max_total = sum(t["max_score"] for t in data["tests"])
    rt.add_section()
    rt.add_row("", "total", f"[bold]{points(total)}/{points(max_total)}[/bold]", "", "")
    console.print(rt)
    for note in outcome.notes:
        console.print(f"[yellow]note:[/yellow] {markup(note, 1000)}", markup=True, highlight=False)
    if verbose:
        once = {}  # parts whose every failing case is said once (a function not implemented, a file): one line
        for test in data["tests"]:
            if verbose == "all" or test["status"] != "passed":
                result = outcome.parts.get(by_number.get(test.get("number")))
                said = feedback.reported_once(result, reveal) if result is not None else None
                if said is not None:
                    for what, detail in said:
                        once.setdefault(what, {}).setdefault(detail, []).append(test.get("number", ""))
                    continue
                console.rule(markup(test["name"]))
                text = result.feedback(reveal=reveal, fmt="text") if result is not None else test.get("output", "")
                console.print(clean(text, 1_000_000), markup=False, highlight=False, soft_wrap=True)
        for line in feedback.once_lines(once):
            console.print(clean(line, 10_000), markup=False, highlight=False)


def print_environment(record, console):
    """The environment record of a grading (environment.fingerprint): staff output only."""
    from .environment import describe

    if not record:
        return
    console.rule("environment")
    for line in describe(record):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
