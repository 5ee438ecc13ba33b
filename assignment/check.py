#!/usr/bin/env python3
"""Check your code on the visible test cases, with the same grader Gradescope runs.

    python check.py                      # every part
    python check.py conv_forward 2.1     # only some parts (ids or numbers, see --list)
    python check.py --list               # the parts and their points
    python check.py -v                   # also show the feedback of the parts that pass

In a Jupyter notebook in this folder, the same checks with the results as a table, the failing cases and
pictures of where wrong values are (``print()`` of the result gives the plain text):

    from check import check
    check("conv_forward")                # or check() for every part, check("1.1", "2.1", verbose=True)

It grades the files you upload (the list is at the end of its output) from this folder: each runs in a separate
worker process, and torch computes what your numpy code should return. The
grader here only knows the visible cases; Gradescope also runs hidden cases, so
your score there can be lower than here, never higher.
"""

import argparse
import contextlib
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
GRADER = HERE / "_grader"
NEEDED = {"yaml": "PyYAML", "rich": "rich", "gradescope_utils": "gradescope-utils"}  # numpy, torch: below


def say(*lines):
    for line in lines:
        print(line, file=sys.stderr)


def environment_problem():
    """A one-paragraph explanation when this Python cannot run the checker, else None."""
    if os.name == "nt":
        return ("check.py needs Linux or macOS (the grader uses POSIX process limits). "
                "On Windows, run it inside WSL (https://learn.microsoft.com/windows/wsl/).")
    if sys.version_info < (3, 10):  # noqa: UP036 (students run whatever Python they have)
        return f"check.py needs Python 3.10 or newer (this is {sys.version.split()[0]})."
    if not (GRADER / "autograder" / "cases.yaml").is_file():
        return f"the grader is missing ({GRADER}): unpack the whole handout zip again."
    fatal = [a.text for a in grader_environment().local_advice() if a.fatal]  # numpy or torch missing
    missing = [pkg for mod, pkg in NEEDED.items() if importlib.util.find_spec(mod) is None]
    if missing:
        fatal.append("missing Python packages: " + ", ".join(missing) + ". Install them into the Python you run "
                     "check.py with:  python -m pip install -r requirements.txt   (see README.md)")
    if fatal:
        return "\n".join(fatal)
    try:  # the grader needs it later anyway: fail here, with what to do, not in the middle of grading
        import torch  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - a broken install raises anything
        env = grader_environment()
        return (f"torch is installed but cannot be imported ({type(exc).__name__}: {str(exc)[:200]}). "
                f"Reinstall the CPU-only build:  python -m pip uninstall -y torch && {env.torch_install_command()}")
    # The worker runs your code with `python -I`, which ignores per-user site-packages.
    probe = subprocess.run([sys.executable, "-I", "-c", "import numpy"], capture_output=True, timeout=120)
    if probe.returncode != 0:
        return ("numpy is not importable by `python -I` (installed with `pip install --user`?). "
                "Use a virtual environment:  python -m venv .venv && . .venv/bin/activate && "
                "pip install -r requirements.txt")
    return None


def grader_environment():
    """_grader/autograder/environment.py (standard library only): the versions Gradescope uses."""
    spec = importlib.util.spec_from_file_location("_convgrade_environment", GRADER / "autograder" / "grading" / "environment.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def environment_warnings():
    """What differs from Gradescope's Python, numpy and torch. (Syntax newer than Gradescope's Python fails the
    parts of its file, here as on Gradescope: the grader's static checks say where and what to change.)"""
    return [a.text for a in grader_environment().local_advice() if not a.fatal]


def part_ids(table, wanted):
    """Map part ids or numbers ("conv_forward", "1.1") to ids; KeyError on unknown ones."""
    by_number = {p.number: p.id for p in table.parts}
    ids, unknown = [], []
    for w in wanted:
        pid = w if w in {p.id for p in table.parts} else by_number.get(w)
        if pid is None:
            unknown.append(w)
        elif pid not in ids:
            ids.append(pid)
    if unknown:
        raise KeyError(", ".join(unknown))
    return ids


def list_parts(console, table):
    """The parts of the (visible-only) case table."""
    from rich.table import Table as RichTable

    rt = RichTable(title=f"graded parts ({table.total:g} points, visible cases only)")
    rt.add_column("#", no_wrap=True)
    rt.add_column("id", no_wrap=True)  # what students type: never cut
    rt.add_column("points", justify="right")
    rt.add_column("cases", justify="right")
    rt.add_column("file", no_wrap=True)
    rt.add_column("title")
    for p in table.parts:
        rt.add_row(p.number, p.id, f"{p.weight:g}", str(len(p.cases)), f"{p.module}.py", p.title)
    console.print(rt)


@contextlib.contextmanager
def grader_path():
    """Import the grader from _grader/, never a same-named file of yours from this folder (sys.path as it was
    afterwards: a notebook goes on importing your modules from here)."""
    saved = list(sys.path)
    sys.path[:] = [str(GRADER)] + [p for p in sys.path if p and Path(p).resolve() != HERE]
    for var in ("CONVGRADE_COMMON", "CONVGRADE_WORKER_PYTHON"):
        os.environ.pop(var, None)
    try:
        yield
    finally:
        sys.path[:] = saved


def visible_table():
    """The handout's case table (visible cases only). Loading it is cheap: torch comes with the grading."""
    from autograder.checking.table import load

    return load(GRADER / "autograder" / "cases.yaml").visible_only()


def run_checks(table, ids):
    """Grade exactly what you upload (a private copy of the graded files); the Outcome of the grading."""
    from autograder.checking.table import MODULES
    from autograder.run import grade

    workdir = Path(tempfile.mkdtemp(prefix="convgrade-check-"))
    try:
        for m in MODULES:
            if (HERE / f"{m}.py").is_file():
                shutil.copyfile(HERE / f"{m}.py", workdir / f"{m}.py")
        # user=None: your code runs as you, on your machine (Gradescope adds a
        # separate unprivileged user and no network); the worker is this Python.
        outcome = grade(workdir, table=table, parts=ids, user=None, python=sys.executable)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    # The sandbox's isolation notes matter on Gradescope, not for your own code on your machine: one line.
    reduced = [n for n in outcome.notes if n.startswith("isolation reduced")]
    outcome.notes = [n for n in outcome.notes if n not in reduced]
    return outcome, bool(reduced)


HIDDEN_CASES = ("for those it shows their shapes and options, the mistakes it recognises and where your code fails, "
                "never their values")


def closing_lines(got, total, banners=True):
    """What follows the feedback: the score on the visible cases, what Gradescope adds, what to upload (with
    ``banners``, the first time in a kernel: what a hidden case shows, and how to upload)."""
    from autograder.checking.table import MODULES
    from autograder.intake.locate import UPLOAD_ADVICE

    hidden = f" ({HIDDEN_CASES})" if banners else ""
    return [f"{got:g} / {total:g} points on the visible cases. Gradescope also runs hidden cases{hidden}, so your "
            "score there can be lower.",
            "Upload to Gradescope: " + " ".join(f"{m}.py" for m in MODULES) + "." + (f" {UPLOAD_ADVICE}" if banners
                                                                                   else "")]


def print_report(console, outcome, table, verbose, reduced, banners=True):
    """The score table, the feedback of the failing parts (``verbose``: every part), then the closing lines;
    ``banners``: the notes said once per kernel (reduced isolation, what hidden cases show)."""
    from autograder.grading.scoretable import print_table

    print_table(outcome, console, verbose="all" if verbose else True, table=table)
    if reduced and banners:
        console.print(ISOLATION, highlight=False)
    from rich.text import Text

    first, *rest = closing_lines(outcome.data["score"], table.total, banners)
    got, _, after = first.partition(" points")
    console.print(Text.assemble((got, "bold"), " points" + after))
    for line in rest:
        console.print(line, highlight=False, markup=False)


ISOLATION = "note: isolation reduced (normal on your own machine; the checks are the same)"
_SHOWN = []  # the kernel (or the run of check.py) has shown its banners once: [True]


def banners_once():
    """True the first time in this process (a notebook's kernel), then False: the banners (the environment's
    warnings, the isolation note, what hidden cases show) are said once, not on every check()."""
    first = not _SHOWN
    _SHOWN[:] = [True]
    return first


class Check:
    """What ``check()`` returns: a notebook shows it as HTML, ``print()`` and a terminal as plain text (the same
    as ``python check.py``). ``score`` and ``total``: the points on the visible cases."""

    def __init__(self, problem=None, outcome=None, table=None, verbose=False, reduced=False, warnings=(),
                 html=None, banners=True):
        self.problem, self.outcome, self.table = problem, outcome, table
        self.verbose, self.reduced, self.warnings, self._html = verbose, reduced, list(warnings), html
        self.banners = banners  # the first check() of the kernel: the banners too (banners_once)
        self.score = outcome.data["score"] if outcome is not None else 0.0
        self.total = table.total if table is not None else 0.0

    def __str__(self):
        if self.problem:
            return f"check.py: {self.problem}"
        from rich.console import Console

        width = min(shutil.get_terminal_size((120, 24)).columns, 160)
        console = Console(file=io.StringIO(), width=width, force_terminal=False, force_jupyter=False,
                          color_system=None, soft_wrap=False)
        for w in self.warnings if self.banners else ():
            console.print(f"warning: {w}", highlight=False, markup=False)
        print_report(console, self.outcome, self.table, self.verbose, self.reduced, self.banners)
        return console.file.getvalue()

    __repr__ = __str__

    def _repr_html_(self):
        if self.problem:
            import html

            return f'<pre style="color:#b00020">check.py: {html.escape(self.problem)}</pre>'
        return self._html(self.outcome.data, self.outcome.parts, self.table, verbose=self.verbose,
                          header=[f"warning: {w}" for w in self.warnings] if self.banners else [],
                          notes=self.outcome.notes, reduced=self.reduced and self.banners,
                          footer=closing_lines(self.score, self.total, self.banners))


def check(*parts, verbose=False):
    """Run the visible cases of ``parts`` (ids or numbers; none: every part) through the same sandboxed grading
    as ``python check.py`` and return a Check: a notebook displays it as HTML (the score table, then each failing
    case with its configuration, the comparison table, the mistake recognised and a picture of where the wrong
    values are), ``print()`` as text. Your files are read afresh on every call: edit, save, call again."""
    wanted = [str(p) for item in parts for p in (item if isinstance(item, (list, tuple)) else [item])]
    problem = environment_problem()
    if problem:
        return Check(problem=problem)
    with grader_path():
        from autograder.grading.notebook import render

        table = visible_table()
        try:
            ids = part_ids(table, wanted)
        except KeyError as exc:
            return Check(problem=f"unknown part(s): {exc.args[0]}. Known: {', '.join(p.id for p in table.parts)}")
        warnings = environment_warnings()
        outcome, reduced = run_checks(table, ids)
    return Check(outcome=outcome, table=table.select(ids), verbose=verbose, reduced=reduced, warnings=warnings,
                 html=render, banners=banners_once())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", metavar="PART", help="part ids or numbers (default: all)")
    parser.add_argument("--list", action="store_true", help="list the parts and their points")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the feedback of every part")
    args = parser.parse_args(argv)

    problem = environment_problem()
    if problem:
        say(f"check.py: {problem}")
        return 1
    with grader_path():
        from rich.console import Console

        console = Console()
        table = visible_table()
        if args.list:
            list_parts(console, table)
            return 0
        try:
            ids = part_ids(table, args.parts)
        except KeyError as exc:
            say(f"check.py: unknown part(s): {exc.args[0]}. Known: {', '.join(p.id for p in table.parts)}")
            return 2
        warnings = environment_warnings()
        for w in warnings:
            say(f"warning: {w}")
        outcome, reduced = run_checks(table, ids)
        print_report(console, outcome, table.select(ids), args.verbose, reduced)
    return 0


if __name__ == "__main__":
    sys.exit(main())
