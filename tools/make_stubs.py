"""Write the student stubs in assignment/ from the reference solutions.

Solution code sits between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` (the
nbgrader / Otter-Grader convention). Inside a function the block becomes

    # HINT lines of the block, kept as comments
    raise NotImplementedError("<function>: <first hint>")

A block at module level (a private helper of the solution) is dropped.
Lines ``# STUB: code`` inside a block are kept in the stub as ``code``.
``common.py`` is provided to students and copied unchanged.

    python tools/make_stubs.py            # write assignment/
    python tools/make_stubs.py --check    # exit 1 if assignment/ is out of date
"""

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from autograder.checking.table import MODULES  # noqa: E402  (the graded modules, as the case table names them)

SOLUTIONS = ROOT / "solutions"
ASSIGNMENT = ROOT / "assignment"
PROVIDED = ["common"]

BEGIN = re.compile(r"^(\s*)# BEGIN SOLUTION\s*$", re.M)
END = re.compile(r"^\s*# END SOLUTION\s*$")
HINT = re.compile(r"^\s*# HINT:\s?(.*)$")
STUB = re.compile(r"^\s*# STUB:\s?(.*)$")
DEF = re.compile(r"^\s*def\s+(\w+)\s*\(")


def stub_source(text, filename="<source>"):
    """Return the stub version of one solution file's text."""
    out, block, indent, func = [], None, "", None
    for lineno, line in enumerate(text.splitlines(keepends=True), 1):
        if block is None:
            m = DEF.match(line)
            if m and not line.startswith(" "):
                func = m.group(1)
            m = BEGIN.match(line)
            if m:
                block, indent = [], m.group(1)
                continue
            if END.match(line):
                raise ValueError(f"{filename}:{lineno}: END SOLUTION without BEGIN")
            out.append(line)
            continue
        if BEGIN.match(line):
            raise ValueError(f"{filename}:{lineno}: nested BEGIN SOLUTION")
        if not END.match(line):
            block.append(line)
            continue
        if indent:  # inside a function: keep hints and STUB lines, then raise
            hints = []
            for b in block:
                if m := HINT.match(b):
                    hints.append(m.group(1))
                    out.append(f"{indent}# {m.group(1)}\n")
                elif m := STUB.match(b):
                    out.append(f"{indent}{m.group(1)}\n")
            what = hints[0] if hints else "implement this function"
            message = f"{func}: not implemented yet ({what})"
            out.append(f"{indent}raise NotImplementedError({message!r})\n")
        block = None
    if block is not None:
        raise ValueError(f"{filename}: BEGIN SOLUTION without END")
    return "".join(out)


def solution_modules():
    """The solution files that hold solution markers: the ones students get as stubs."""
    return sorted(p.stem for p in SOLUTIONS.glob("*.py")
                  if p.stem not in PROVIDED and BEGIN.search(p.read_text(encoding="utf-8")))


def unknown_modules():
    """Solution modules with markers that the case table grades nowhere (a part entry is missing),
    and graded modules without a solution file."""
    found = solution_modules()
    return [m for m in found if m not in MODULES], [m for m in MODULES if m not in found]


def expected_files():
    """{filename: text} of everything make_stubs writes into assignment/."""
    ungraded, unsolved = unknown_modules()
    if ungraded or unsolved:
        raise SystemExit("make_stubs: " + "; ".join(
            ([f"solutions/{m}.py has solution markers but no part of autograder/cases.yaml grades it "
              "(add its part entry)" for m in ungraded]) +
            ([f"the case table grades {m}.py but solutions/{m}.py has no solution markers" for m in unsolved])))
    files = {}
    for name in solution_modules():
        path = SOLUTIONS / f"{name}.py"
        files[path.name] = stub_source(path.read_text(encoding="utf-8"), str(path))
    for name in PROVIDED:
        path = SOLUTIONS / f"{name}.py"
        files[path.name] = path.read_text(encoding="utf-8")
    return files


def stale_files():
    """{filename: expected text} of the assignment/ files that are missing or out of date."""
    stale = {}
    for name, text in expected_files().items():
        target = ASSIGNMENT / name
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            stale[name] = text
    return stale


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that assignment/ is up to date")
    args = parser.parse_args(argv)
    stale = stale_files()
    if not args.check:
        ASSIGNMENT.mkdir(parents=True, exist_ok=True)
        for name, text in stale.items():
            (ASSIGNMENT / name).write_text(text, encoding="utf-8")
    if args.check:
        if stale:
            print("assignment/ is out of date, run `make stubs`:", ", ".join(stale))
            return 1
        print("assignment/ is up to date")
        return 0
    print(f"wrote {len(stale)} file(s) into assignment/" + (": " + ", ".join(stale) if stale else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
