"""Write the generated blocks of the documentation from the case table and the reference solutions.

    python tools/docs.py            # rewrite every stale block (make docs)
    python tools/docs.py --check    # exit 1 and name the stale files (tests/test_readme.py runs this)

A block sits between ``<!-- NAME -->`` and ``<!-- /NAME -->`` on lines of their own:

    README.md             parts-table (points, cases, hidden cases), upload-list, mutation-summary (the
                          catalogue of mutants and styles), coverage-excerpt (a part of the coverage matrix),
                          performance (docs/performance.json, written by `make bench`), posting (how to post a
                          regrade: the lines grade-all's summary ends its regrade with)
    assignment/README.md  parts-table (the students' version), upload-list, handout-order (the graded files in
                          the table's order, each with its lecture topic, docs/handout_order.yaml, and its parts)
    docs/API.md           graded-functions (every function the table calls, with its signature, and whether
                          the contract above the index names it)
    docs/EXTENDING.md     quantities (what a difficulty's predicate may name, and the knobs), catalogue (every
                          known mistake, by topic module, and the parts that list it)

Nothing in those blocks is written by hand: a new part, weight, case, mutant or measurement shows up after
`make docs`.
"""

import argparse
import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from autograder.checking.table import load  # noqa: E402

SOLUTIONS = ROOT / "solutions"
API = ROOT / "docs" / "API.md"
INDEX = "\n## Index of graded functions\n"
PERFORMANCE = ROOT / "docs" / "performance.json"
ORDER = ROOT / "docs" / "handout_order.yaml"
EXCERPT_PART = "max_pool"  # the part whose coverage rows the README shows


def staff_parts_table(table):
    rows = ["| # | part | file | points | cases (hidden) |", "| --- | --- | --- | ---: | --- |"]
    for p in table.parts:
        hidden = len(p.cases) - len(p.visible_cases)
        rows.append(f"| {p.number} | {p.title} | {p.module}.py | {p.weight:g} | {len(p.cases)} ({hidden}) |")
    rows.append(f"| | **total** | | **{table.total:g}** | {sum(len(p.cases) for p in table.parts)} |")
    return "\n".join(rows)


def student_parts_table(table):
    """The handout README's table of graded parts (points and case counts, no case details)."""
    rows = ["| # | part | file | points | visible cases | hidden cases |",
            "| --- | --- | --- | ---: | ---: | ---: |"]
    for p in table.parts:
        hidden = len(p.cases) - len(p.visible_cases)
        rows.append(f"| {p.number} | {p.title} | {p.module}.py | {p.weight:g} | {len(p.visible_cases)} | {hidden} |")
    rows.append(f"| | **total** | | **{table.total:g}** | | |")
    return "\n".join(rows)


def upload_list(table):
    """The files to upload and locate.UPLOAD_ADVICE, the sentence check.py prints too."""
    from autograder.intake.locate import UPLOAD_ADVICE

    files = [f"{m}.py" for m in table.modules]
    return "    " + "  ".join(files) + f"\n\n({len(files)} files.) {UPLOAD_ADVICE}"


def listed(items):
    """"a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def first_line(module):
    """The first line of a solution module's docstring, without its full stop ("" without one)."""
    path = SOLUTIONS / f"{module}.py"
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) if path.is_file() else None
    return (doc or "").strip().splitlines()[0].rstrip(".") if (doc or "").strip() else ""


def handout_order(table):
    """The handout README's "In what order" list: every graded module in the table's order, with its lecture
    topic and advice (docs/handout_order.yaml; a module missing there: its solution's docstring) and the parts
    it is graded in, so a new module or part shows up by itself."""
    import textwrap

    import yaml

    notes = yaml.safe_load(ORDER.read_text(encoding="utf-8")) or {} if ORDER.is_file() else {}
    items = []
    for n, module in enumerate(table.modules, 1):
        note = notes.get(module) or {}
        topic = note.get("topic") or first_line(module) or module
        parts = [p for p in table.parts if p.module == module]
        graded = (f"{'Parts' if len(parts) > 1 else 'Part'} {listed([p.number for p in parts])}: "
                  f"{sum(p.weight for p in parts):g} points.") if parts else ""
        text = " ".join(t for t in (f"**`{module}.py`: {topic}.**", " ".join(str(note.get("text", "")).split()),
                                    graded) if t)
        items.append(textwrap.fill(text, 78, initial_indent=f"{n}. ", subsequent_indent=" " * len(f"{n}. "),
                                   break_long_words=False, break_on_hyphens=False))
    return "\n".join(items)


def signatures(module):
    """{function name: "name(args)"} of a solution module's top-level functions."""
    path = SOLUTIONS / f"{module}.py"
    if not path.is_file():
        return {}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name: f"{n.name}({ast.unparse(n.args)})" for n in tree.body if isinstance(n, ast.FunctionDef)}


def contract_text():
    """docs/API.md above its index: the course's contract (equal to its shared ASSIGNMENT.md)."""
    return API.read_text(encoding="utf-8").split(INDEX)[0]


def in_contract(func, contract=None):
    """True when the contract names ``func`` as a signature (`` `func(`` )."""
    return re.search(rf"`{re.escape(func)}\(", contract if contract is not None else contract_text()) is not None


def graded_functions(table):
    rows = ["| function | graded in |", "| --- | --- |"]
    seen = {}
    for p in table.parts:
        for ref in (p.forward, p.backward):
            if ref:
                seen.setdefault(ref, []).append(f"{p.number} {p.id}")
    contract, beyond = contract_text(), []
    for ref, parts in seen.items():
        module, _, func = ref.rpartition(".")
        sig = signatures(module).get(func, f"{func}(...)  (missing in solutions/{module}.py)")
        mark = "" if in_contract(func, contract) else " (not in the contract)"
        beyond += [f"`{module}.py`: `{func}`"] if mark else []
        rows.append(f"| `{module}.py`: `{sig}`{mark} | {', '.join(parts)} |")
    if beyond:
        rows += ["", f"Graded here but not in the contract above: {', '.join(beyond)}. The course adds a function "
                 "to its ASSIGNMENT.md, then the contract above is copied from it (docs/EXTENDING.md, \"The API "
                 "document\")."]
    return "\n".join(rows)


def mutation_summary(table):
    """The catalogue of mutants and correct styles, and the summary line `make mutation-report` ends with when
    every mutant is killed (tests/test_mutants.py fails otherwise, so the line is true whenever make test passes)."""
    sys.path.insert(0, str(ROOT / "tests"))
    import mutants

    # counted, not parsed: a mutant may hold syntax this Python lacks (conv_except_star under 3.10)
    n = sum(1 for p in mutants.HERE.glob("*.py") if p.name != "__init__.py")
    styles = len(mutants.styles())
    timing = [p for p in table.parts if p.id in mutants.TIMING_PARTS]
    correctness = table.total - sum(p.weight for p in timing)
    import textwrap

    first = (f"`tests/mutants/` holds {n} realistic student bugs and `tests/styles/` {styles} correct submissions "
             "written unlike the reference. `make test` grades them all, so whenever it passes `make "
             "mutation-report` ends with")
    last = (f"The loop style counts as at 100 on its correctness points ({correctness:g}/{correctness:g}: all but "
            f"{', '.join(f'{p.number} {p.id}' for p in timing) or 'none'}): a Python loop is too slow for the GEMM "
            "speed part, by design.")
    return (textwrap.fill(first, 110) + f"\n\n    mutants: {n} killed of {n}; correct styles: {styles} of {styles} at "
            f"100\n\n" + textwrap.fill(last, 110))


def coverage_excerpt(table):
    """The coverage matrix's rows of one part, as `python -m autograder coverage` prints them."""
    import io

    from rich.console import Console

    from autograder.checking.coverage import render

    if EXCERPT_PART not in {p.id for p in table.parts}:
        return "    (no part " + EXCERPT_PART + " in the table)"
    out = io.StringIO()
    render(table.select([EXCERPT_PART]), Console(file=out, width=100, color_system=None), legend=False)
    lines = [line.rstrip() for line in out.getvalue().splitlines() if line.startswith("│")]
    return "\n".join("    " + line for line in lines)


def posting():
    """The README's lines on posting a regrade: staff/regrade.py's POSTING, which summary.txt prints too."""
    from autograder.staff.regrade import POSTING

    return "\n".join(f"- {line}" for line in POSTING)


def performance():
    """The README's Performance table from docs/performance.json (`make bench` writes it)."""
    import json

    if not PERFORMANCE.is_file():
        return "No measurement yet: run `make bench`."
    data = json.loads(PERFORMANCE.read_text(encoding="utf-8"))
    runs = data.get("runs") or {}
    rows = ["| figure | target | measured | |", "| --- | ---: | ---: | --- |"]
    for f in (data.get("figures") or {}).values():
        rows.append(f"| {f['label']} | {f['target']} | {f['measured']} | {'pass' if f['pass'] else '**FAIL**'} "
                    f"[{sorted(runs).index(f['run']) + 1 if f['run'] in runs else '?'}] |")
    rows.append("")
    for i, (_, run) in enumerate(sorted(runs.items()), 1):
        groups = f" ({', '.join(run['groups'])})" if run.get("groups") else ""
        rows.append(f"[{i}] `make bench{' QUICK=1' if run.get('quick') else ''}`{groups} on {run['date']}: "
                    f"{run['machine']}; load average {run['load'][0]:g} at the start, {run['load'][1]:g} at the "
                    f"end; {run['seconds']} s.")
    return "\n".join(rows)


def where_time_goes():
    """The README's lines on where one grading's time goes, from docs/performance.json's ``where`` (make bench:
    tools/bench_stages.py)."""
    import json

    data = json.loads(PERFORMANCE.read_text(encoding="utf-8")) if PERFORMANCE.is_file() else {}
    where = data.get("where")
    if not where:
        return "No measurement yet: run `make bench`."
    runs = sorted(data.get("runs") or {})
    ref = f" [{runs.index(where['run']) + 1}]" if where.get("run") in runs else ""
    rows = [f"One grading of the reference{ref}: {where['grade_cpu']:.2f} CPU-s for {where['cases']} cases against "
            f"{where['torch_cpu']:.2f} CPU-s for `python -c \"import torch, numpy\"`; by stage, the grader and its "
            "workers together:", "", "| stage | share of the grading's CPU | CPU per case |", "| --- | ---: | ---: |"]
    for stage, (share, ms) in where["stages"].items():
        rows.append(f"| {stage} | {share:.0%} | {f'{ms:.2f} ms' if stage != 'start-up' else 'per grading'} |")
    rows += ["", "The grading process's own CPU past its start-up, by place (cProfile, CPU time; its overhead "
             "inflates many small Python calls):", "", "| place | share |", "| --- | ---: |"]
    rows += [f"| {place} | {share:.1%} |" for place, share in where["functions"]]
    return "\n".join(rows)


def quantities():
    """What a difficulty's `when` may name, and the knobs a case turns (autograder/checking/difficulties.py)."""
    from autograder.checking.difficulties import KNOBS, QUANTITIES

    rows = ["| quantity | what it is |", "| --- | --- |"] + [f"| `{k}` | {v} |" for k, v in QUANTITIES.items()]
    rows += ["", "| knob | what a case changes with it |", "| --- | --- |"]
    rows += [f"| `{k}` | {v} |" for k, v in KNOBS.items()]
    return "\n".join(rows)


def catalogue(table):
    """Every known mistake, by topic module, with the parts that list it."""
    from autograder.checking.mistakes import TOPICS, Mistake

    rows = ["| topic | mistake | title | listed by |", "| --- | --- | --- | --- |"]
    for topic in TOPICS:
        for entry in vars(topic).values():
            if isinstance(entry, Mistake):
                parts = [p.id for p in table.parts if entry.name in p.mistakes]
                title = "(general advice)" if entry.general else entry.title
                listed = "every part (structural evidence)" if entry.structural and not parts else ", ".join(parts)
                rows.append(f"| `{topic.__name__.rpartition('.')[2]}` | `{entry.name}` | {title} | {listed or '-'} |")
    return "\n".join(rows)


def blocks(table):
    """{file: {block name: text}}."""
    return {
        ROOT / "README.md": {"parts-table": staff_parts_table(table), "upload-list": upload_list(table),
                             "mutation-summary": mutation_summary(table), "coverage-excerpt": coverage_excerpt(table),
                             "performance": performance(), "where-time-goes": where_time_goes(), "posting": posting()},
        ROOT / "assignment" / "README.md": {"parts-table": student_parts_table(table),
                                            "upload-list": upload_list(table), "handout-order": handout_order(table)},
        API: {"graded-functions": graded_functions(table)},
        ROOT / "docs" / "EXTENDING.md": {"quantities": quantities(), "catalogue": catalogue(table)},
    }


def fill(text, name, body):
    """``text`` with the block ``name`` replaced by ``body`` (unchanged when the block is absent)."""
    pattern = re.compile(rf"(^<!-- {re.escape(name)} -->\n).*?(^<!-- /{re.escape(name)} -->$)", re.S | re.M)
    return pattern.sub(lambda m: f"{m.group(1)}{body}\n{m.group(2)}", text)


def missing_blocks(text, names):
    return [n for n in names if f"<!-- {n} -->" not in text or f"<!-- /{n} -->" not in text]


def stale(table=None):
    """{path: new text} of the files whose generated blocks are out of date; raises on a lost block."""
    out = {}
    for path, wanted in blocks(table or load()).items():
        text = path.read_text(encoding="utf-8")
        lost = missing_blocks(text, wanted)
        if lost:
            raise SystemExit(f"{path.relative_to(ROOT)} lost its block markers: {', '.join(lost)}")
        new = text
        for name, body in wanted.items():
            new = fill(new, name, body)
        if new != text:
            out[path] = new
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files (exit 1)")
    args = parser.parse_args(argv)
    todo = stale()
    names = ", ".join(str(p.relative_to(ROOT)) for p in todo)
    if args.check:
        if todo:
            print(f"generated documentation is stale ({names}): run `make docs`")
            return 1
        print("generated documentation is up to date")
        return 0
    for path, text in todo.items():
        path.write_text(text, encoding="utf-8")
    print(f"rewrote {len(todo)} file(s)" + (f": {names}" if todo else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
