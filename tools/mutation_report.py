"""Grade every mutant and every correct style; print the kill matrix.

A mutant (tests/mutants/*.py) is a realistic student bug, a small override of
the reference solutions that names the parts it must break (EXPECTED_PARTS).
It is KILLED when it loses points on every one of those parts and on no other.
A style (tests/styles/*/) is a complete correct submission written unlike the
reference; it must score 100 (the loop style on its correctness points: a
Python loop may be too slow for the GEMM speed part, and that is by design).

    python tools/mutation_report.py              # everything (what `make mutation-report` runs)
    python tools/mutation_report.py NAME ...     # only these mutants / styles
    python tools/mutation_report.py --jobs 1     # one grade at a time

One row per mutant or style: the points it lost, part by part (within 100 columns), then per mutant: the
mistakes its feedback names to the student
(autograder/checking/mistakes/; visible cases and hidden cases' configuration lines),
or "none"; then what the student reads of each part the mutant breaks: the lines of its Gradescope output
and the line that first names the mistake (the mutant's NAMED, else any known mistake or located crash),
against the budget (tests/mutants: at most 40 lines, named within the first 3).

Exit status 1 when a mutant survives, breaks an unexpected part, or a style
falls short. tests/test_mutants.py asserts the same thing under pytest.
"""

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import mutants  # noqa: E402  (tests/mutants: the catalogue and its builder)
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from autograder.checking.table import load  # noqa: E402

SPEED_PARTS = mutants.TIMING_PARTS  # a correct loop-style solution may lose these (and only these)
WIDTH = 100  # the report fits this many columns (details below the table)


def grade_one(kind, name):
    """(kind, name, {part id: points lost}, seconds, {part id: [mistakes named to the student]},
    {part id: (lines, characters, line naming the mistake)} of a mutant's broken parts) of one
    submission, graded as tests/test_mutants.py does (mutants.grade_lost: no shared sandbox uid between
    parallel grades; a speed part lost unexpectedly is measured again before it counts)."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="convgrade-mutant-") as tmp:
        if kind == "mutant":
            m = mutants.load(mutants.HERE / f"{name}.py")
            outcome, lost = mutants.grade_lost(mutants.build(m, Path(tmp) / "submission"), allowed=m.expected)
            budget = mutants.feedback_budget(outcome, m)
        else:
            budget = {}
            folder = mutants.build_style(mutants.styles()[name], Path(tmp) / "submission")
            outcome, lost = mutants.grade_lost(folder, allowed=SPEED_PARTS if name == "loops" else ())
    named = {pid: r.named() for pid, r in outcome.parts.items() if r.named()}
    return kind, name, lost, time.perf_counter() - start, named, budget


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="only these mutants / styles")
    parser.add_argument("--jobs", "-j", type=int, default=min(os.cpu_count() or 1, 4))
    parser.add_argument("--width", type=int, default=None)
    args = parser.parse_args(argv)

    table = load()
    catalogue = {m.name: m for m in mutants.catalogue()}
    styles = mutants.styles()
    unknown = [n for n in args.names if n not in catalogue and n not in styles]
    if unknown:
        parser.error(f"unknown mutant or style: {', '.join(unknown)}")
    jobs = [("mutant", n) for n in catalogue if not args.names or n in args.names]
    jobs += [("style", n) for n in styles if not args.names or n in args.names]

    console = Console(width=args.width) if args.width else Console()
    if not args.width and (not console.is_terminal or console.width > WIDTH):
        console = Console(width=WIDTH)  # piped, in CI or on a wide terminal: the report fits 100 columns
    start = time.perf_counter()
    with console.status(f"grading {len(jobs)} submissions with {args.jobs} workers ..."):
        if args.jobs > 1:
            # spawn: a fresh interpreter per worker, not a fork of one that holds torch's threads
            with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
                results = list(pool.map(grade_one, *zip(*jobs)))
        else:
            results = [grade_one(*job) for job in jobs]
    problems = render(console, results, table, catalogue, time.perf_counter() - start)
    return 1 if problems else 0


def lost_cell(lost, parts, expected):
    """The points lost, part by part: expected losses green, unexpected ones red with "!", an expected part
    that kept full marks "0?"."""
    cells = []
    for p in parts:
        if p.id in lost:
            cells.append(f"[green]{p.number} -{lost[p.id]:.3g}[/]" if p.id in expected
                         else f"[red]{p.number} -{lost[p.id]:.3g}![/]")
        elif p.id in expected:
            cells.append(f"[red]{p.number} 0?[/]")
    return ", ".join(cells) or "[dim]none[/]"


def render(console, results, table, catalogue, elapsed):
    """Print the kill table (one row per mutant or style), the mistakes each mutant's feedback names, the legend
    and the summary; return the problems (a surviving mutant, an unexpected loss, a style short of 100)."""
    parts = table.parts
    matrix = Table(title="mutation report: points lost per mutant (part number -points)", title_justify="left")
    matrix.add_column("mutant / style", no_wrap=True)
    matrix.add_column("module", no_wrap=True)
    matrix.add_column("points lost", overflow="fold", min_width=12)
    matrix.add_column("verdict", no_wrap=True)

    killed = styled_ok = 0
    problems = []
    first_style = True
    for kind, name, lost, _, _, _ in results:
        if kind == "mutant":
            m = catalogue[name]
            survived, collateral = m.expected - set(lost), set(lost) - m.expected
            ok = not survived and not collateral
            killed += ok
            verdict = "[green]killed[/]" if ok else "[red]" + " ".join(
                (["SURVIVED"] if survived else []) + (["COLLATERAL"] if collateral else [])) + "[/]"
            if not ok:
                problems.append(f"{name}: survived on {sorted(survived)}; unexpected losses {sorted(collateral)}")
            matrix.add_row(name, m.module, lost_cell(lost, parts, m.expected), verdict)
        else:
            allowed = SPEED_PARTS if name == "loops" else set()
            ok = set(lost) <= allowed
            styled_ok += ok
            if not ok:
                problems.append(f"style {name}: lost {lost}")
            cells = ", ".join((f"[yellow]{p.number} -{lost[p.id]:.3g}[/]" if p.id in allowed
                               else f"[red]{p.number} -{lost[p.id]:.3g}[/]") for p in parts if p.id in lost)
            score = table.total - sum(lost.values())
            verdict = f"{score:g}/{table.total:g}" + (" [green]ok[/]" if ok else " [red]FAIL[/]")
            if name == "loops" and set(lost) & allowed:
                verdict += "*"
            if first_style:
                matrix.add_section()
                first_style = False
            matrix.add_row(f"style: {name}", "all", cells or "[dim]none[/]", verdict)

    console.print(matrix)
    told = Table(title="mistakes named to the student (the feedback students see; * = the mutant's NAMED)",
                 title_justify="left")
    told.add_column("mutant", no_wrap=True)
    told.add_column("mistakes named, by part", overflow="fold")
    for kind, name, _, _, named, _ in results:
        if kind != "mutant":
            continue
        expected = catalogue[name].named
        cells = [f"{pid}: " + ", ".join(m + ("*" if expected.get(pid) == m else "") for m in ms)
                 for pid, ms in named.items()]
        missing = [f"[red]{pid}: {m} NOT NAMED[/]" for pid, m in expected.items() if m not in named.get(pid, [])]
        if missing:
            problems.append(f"{name}: the feedback does not name {expected}")
        told.add_row(name, "; ".join(cells + missing) or "[dim]none[/]")
    console.print(told)
    problems += render_budget(console, results, catalogue)
    console.print("parts: " + ", ".join(f"{p.number} {p.id}" for p in parts), style="dim", highlight=False)
    console.print("points lost: [green]expected[/], [red]unexpected ![/]; [red]0?[/] = an expected part that kept "
                  "full marks", highlight=False)
    n_mut = sum(1 for r in results if r[0] == "mutant")
    n_sty = sum(1 for r in results if r[0] == "style")
    console.print(f"mutants: {killed} killed of {n_mut}; correct styles: {styled_ok} of {n_sty} at 100",
                  style="bold", highlight=False)
    loops = next((r for r in results if r[0] == "style" and r[1] == "loops"), None)
    if loops is not None:
        speed_lost = sum(v for k, v in loops[2].items() if k in SPEED_PARTS)
        correctness = table.total - sum(p.weight for p in parts if p.id in SPEED_PARTS)
        console.print(f"* the loop style counts as at 100 on its correctness points "
                      f"({correctness - sum(v for k, v in loops[2].items() if k not in SPEED_PARTS):g}/"
                      f"{correctness:g}); Python loops may lose the GEMM speed part ({speed_lost:g} lost here)",
                      highlight=False)
    console.print(f"killed = lost points on every part in EXPECTED_PARTS and on no other; "
                  f"{len(results)} grades in {elapsed:.0f} s", style="dim", highlight=False)
    for line in problems:
        console.print(f"[red]problem:[/] {line}", highlight=False)
    return problems


def render_budget(console, results, catalogue):
    """Print what a student reads of each part a mutant breaks: lines (characters) of its Gradescope output and
    the line that first names the mistake; return the problems (a NAMED part over the budget)."""
    budget = Table(title=f"what the student reads: lines of each broken part's Gradescope output, and the line "
                         f"naming the mistake (budget: {mutants.BUDGET_LINES} lines, named by line "
                         f"{mutants.BUDGET_NAMED_BY}; * = the mutant's NAMED)", title_justify="left")
    budget.add_column("mutant", no_wrap=True)
    budget.add_column("part: lines (characters), named at line", overflow="fold")
    problems, counts = [], []
    for kind, name, _, _, _, measured in results:
        if kind != "mutant":
            continue
        cells = []
        for pid, (lines, chars, at) in measured.items():
            named = pid in catalogue[name].named
            over = lines > mutants.BUDGET_LINES or (named and (at is None or at > mutants.BUDGET_NAMED_BY))
            cell = f"{pid}: {lines} ({chars}), " + (f"line {at}" if at else "not named") + ("*" if named else "")
            cells.append(f"[red]{cell}![/]" if over and named else cell)
            counts.append(lines)
            if over and named:
                problems.append(f"{name}: {pid}'s feedback is {lines} lines, naming its mistake at line {at}")
        budget.add_row(name, "; ".join(cells) or "[dim]none[/]")
    console.print(budget)
    if counts:
        counts.sort()
        console.print(f"lines per broken part: median {counts[len(counts) // 2]}, max {counts[-1]}, "
                      f"{sum(c <= mutants.BUDGET_LINES for c in counts)} of {len(counts)} within "
                      f"{mutants.BUDGET_LINES}", highlight=False)
    return problems


if __name__ == "__main__":
    sys.exit(main())
