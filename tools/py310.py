"""The grader's own code under Gradescope's Python, 3.10: the last step of `make test`.

    .venv-py310/bin/python tools/py310.py [TEST FILE ...]

Run by the 3.10 interpreter itself (the Makefile's .venv-py310, built from
requirements-py310.txt: the pinned numpy and the torch-free rest). It compiles
every Python file of the project, imports every grader module, runs
``python -m autograder list`` and, where pip found a CPU build of torch for
3.10, grades the reference solutions end to end with this interpreter as both
grader and worker. It ends with one line saying what ran under Python 3.10 and
what did not; the TEST FILEs are the torch-free tests the Makefile ran under
3.10 just before, named in that line.
"""

import importlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ["autograder", "assignment", "solutions", "tools", "tests"]
# Student code that needs a newer Python on purpose: a mutant proving that the grader fails it on 3.10.
NEWER_ON_PURPOSE = {"tests/mutants/conv_except_star.py"}


def compile_all():
    """Compile (in memory, no .pyc written) every project file; [(path, error)] of the failures."""
    failures, count = [], 0
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.relative_to(ROOT).as_posix() in NEWER_ON_PURPOSE:
                continue
            count += 1
            try:
                compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
            except SyntaxError as exc:
                failures.append((path.relative_to(ROOT), f"line {exc.lineno}: {exc.msg}"))
    return count, failures


def import_grader(have_torch):
    """Import every module of the grading package; [(module, error)] of the failures."""
    sys.path.insert(0, str(ROOT))
    failures, names = [], []
    for path in sorted((ROOT / "autograder").rglob("*.py")):
        parts = path.relative_to(ROOT / "autograder").with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name in ("", "__main__") or (name.endswith(".oracle") and not have_torch):
            continue
        names.append(name)
        try:
            importlib.import_module(f"autograder.{name}")
        except Exception as exc:  # noqa: BLE001 - report every module that fails
            failures.append((name, f"{type(exc).__name__}: {exc}"))
    return names, failures


def run(*args, timeout=600):
    env = dict(os.environ, CONVGRADE_WORKER_PYTHON=sys.executable, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def main(argv=None):
    tests = list(argv if argv is not None else sys.argv[1:])
    if sys.version_info[:2] != (3, 10):
        print(f"tools/py310.py: this is Python {sys.version.split()[0]}, not 3.10", file=sys.stderr)
        return 2
    sys.dont_write_bytecode = True
    have_torch = importlib.util.find_spec("torch") is not None
    problems = []
    count, bad = compile_all()
    problems += [f"{p}: {e}" for p, e in bad]
    modules, bad = import_grader(have_torch)
    problems += [f"import autograder.{m}: {e}" for m, e in bad]
    listed = run("list")
    if listed.returncode != 0 or "conv_forward" not in listed.stdout:
        problems.append(f"python -m autograder list failed: {(listed.stderr or listed.stdout)[-500:]}")
    ran = [f"every Python file compiled ({count})", f"every grader module imported ({len(modules)})",
           "python -m autograder list"]
    not_ran = []
    if have_torch:
        with tempfile.TemporaryDirectory() as tmp:
            results = Path(tmp) / "results.json"
            graded = run("grade", "solutions", "--results", str(results))
            score = json.loads(results.read_text())["score"] if results.is_file() else None
        if graded.returncode != 0 or score != 100:
            problems.append(f"grading the reference under 3.10 gave {score}: {graded.stderr[-500:]}")
        ran.append("the whole grader with torch on the reference solutions (grader and worker on 3.10)")
    else:
        not_ran.append("the grader's torch oracle, grading end to end with a 3.10 grader, and the tests that need "
                       "torch (pip found no CPU build of torch 2.13.0 for Python 3.10 here; the grader side ran "
                       "them on the main Python)")
    for p in problems:
        print(f"FAILED under Python 3.10: {p}")
    import numpy

    print(f"Python 3.10 ({sys.version.split()[0]} at {sys.executable}, numpy {numpy.__version__}):")
    print("  ran under 3.10: the worker (tests/test_py310.py grades the reference and a numpy-sensitive "
          "submission through a 3.10 worker), check.py and visualize.py from the handout, "
          + (f"the tests {' '.join(tests)}, " if tests else "") + ", ".join(ran)
          + (f" -- {len(problems)} FAILED (above)" if problems else ""))
    print("  did not run under 3.10: " + ("; ".join(not_ran) if not_ran else "nothing left out"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
