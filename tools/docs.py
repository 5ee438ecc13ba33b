"""Write the generated blocks of the documentation from the case table and the reference solutions.

    python tools/docs.py            # rewrite every stale block (make docs)
    python tools/docs.py --check    # exit 1 and name the stale files (tests/test_docs.py runs this)

A block sits between ``<!-- NAME -->`` and ``<!-- /NAME -->`` on lines of their own:

    README.md             parts-table (points, cases, hidden cases), upload-list
    assignment/README.md  parts-table (the students' version), upload-list
    docs/API.md           graded-functions (every function the table calls, with its signature)

Nothing in those blocks is written by hand: a new part, weight or case shows up after `make docs`.
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


def signatures(module):
    """{function name: "name(args)"} of a solution module's top-level functions."""
    path = SOLUTIONS / f"{module}.py"
    if not path.is_file():
        return {}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name: f"{n.name}({ast.unparse(n.args)})" for n in tree.body if isinstance(n, ast.FunctionDef)}


def graded_functions(table):
    rows = ["| function | graded in |", "| --- | --- |"]
    seen = {}
    for p in table.parts:
        for ref in (p.forward, p.backward):
            if ref:
                seen.setdefault(ref, []).append(f"{p.number} {p.id}")
    for ref, parts in seen.items():
        module, _, func = ref.rpartition(".")
        sig = signatures(module).get(func, f"{func}(...)  (missing in solutions/{module}.py)")
        rows.append(f"| `{module}.py`: `{sig}` | {', '.join(parts)} |")
    return "\n".join(rows)


def blocks(table):
    """{file: {block name: text}}."""
    return {
        ROOT / "README.md": {"parts-table": staff_parts_table(table), "upload-list": upload_list(table)},
        ROOT / "assignment" / "README.md": {"parts-table": student_parts_table(table),
                                            "upload-list": upload_list(table)},
        ROOT / "docs" / "API.md": {"graded-functions": graded_functions(table)},
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
