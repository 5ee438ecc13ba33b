"""The tree shows the architecture: autograder/ is folders along the path of a submission, and imports run
one way along it (README, "Architecture").

Every import statement of the package counts, those inside functions too (a lazy import is still a
dependency): a cycle between two modules, or an import against the order below, fails with the modules
and the line that does it.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "autograder"

# What each stage may import (itself included). intake and checking both build on sandbox and never on each
# other; grading builds on checking; run.py strings intake, sandbox and grading together; staff (grade-all)
# uses run.py; the command line uses everything.
STAGES = ("sandbox", "intake", "checking", "grading", "run", "staff", "cli")
MAY_IMPORT = {
    "sandbox": {"sandbox"},
    "intake": {"intake", "sandbox"},
    "checking": {"checking", "sandbox"},
    "grading": {"grading", "checking", "sandbox"},
    "run": {"run", "grading", "checking", "intake", "sandbox"},
    "staff": {"staff", "run", "grading", "checking", "intake", "sandbox"},
    "cli": set(STAGES),
}
PLATFORMS = {"gradescope", "prairielearn"}  # each platform's scripts (and image), no Python package
TOP_LEVEL = {"__init__.py", "__main__.py", "cli.py", "run.py", "cases.yaml"} | PLATFORMS


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules():
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts}


def stage(name):
    """The stage a module of the package belongs to: its sub-package, or run / cli at the top."""
    parts = name.split(".")
    if len(parts) == 1:
        return "root"
    if parts[1] in ("cli", "__main__"):
        return "cli"
    return parts[1]


def imports(name, path, known):
    """[(imported module, line)] of every import of the package's own modules in ``path``."""
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            # `from . import x` imports the module x when there is one, else a name of the package
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in known else mod for a in node.names]
        for t in targets:
            while t and t not in known:  # `autograder.checking.table.load` -> its module
                t = t.rpartition(".")[0]
            if t and t != name:
                out.append((t, node.lineno))
    return out


def graph():
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}, known


def test_the_top_level_holds_the_stages_and_a_handful_of_files():
    entries = {p.name for p in PACKAGE.iterdir() if p.name != "__pycache__"}
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name not in {"__pycache__"} | PLATFORMS}
    assert folders == set(STAGES) - {"run", "cli"}, f"autograder/ sub-packages: {sorted(folders)}"
    assert entries <= TOP_LEVEL | folders, f"unexpected at autograder/'s top: {sorted(entries - TOP_LEVEL - folders)}"
    assert len(entries) <= 12, sorted(entries)
    for folder in folders:
        doc = ast.get_docstring(ast.parse((PACKAGE / folder / "__init__.py").read_text(encoding="utf-8")))
        assert doc and "import" in doc, f"autograder/{folder}/__init__.py must say what it owns and may import"


def test_imports_run_one_way_along_the_path_of_a_submission():
    edges, _ = graph()
    wrong = []
    for name, targets in edges.items():
        src = stage(name)
        for target, line in targets:
            dst = stage(target)
            if src == "root" or dst == "root":
                continue
            if dst not in MAY_IMPORT[src]:
                wrong.append(f"{name} (line {line}) imports {target}: {src} may import {sorted(MAY_IMPORT[src])}")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle():
    edges, _ = graph()
    state, stack, cycles = {}, [], []

    def visit(n):
        state[n] = "open"
        stack.append(n)
        for t, _ in edges.get(n, []):
            if state.get(t) == "open":
                cycles.append(" -> ".join(stack[stack.index(t):] + [t]))
            elif t not in state:
                visit(t)
        stack.pop()
        state[n] = "done"

    for n in sorted(edges):
        if n not in state:
            visit(n)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_checker_finds_what_it_must():
    """The walk itself: it sees lazy and relative imports (else the tests above could not fail)."""
    edges, known = graph()
    assert ("autograder.checking.parts", 0) not in edges["autograder.checking.table"]
    assert "autograder.checking.parts" in {t for t, _ in edges["autograder.checking.table"]}  # lazy, in load()
    assert "autograder.sandbox.codec" in {t for t, _ in edges["autograder.sandbox.session"]}  # from . import codec
    assert stage("autograder.staff.batch") == "staff" and stage("autograder.run") == "run"
    assert len(known) > 40


def test_no_module_is_over_about_400_lines():
    long = {name: n for name, p in modules().items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > 420}
    assert not long, f"split these modules: {long}"
