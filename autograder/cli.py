"""Command line for course staff (and the students' local checker).

    python -m autograder grade PATH [--results FILE] [--parts ID ...] [--verbose]
    python -m autograder gradescope          # what run_autograder calls
    python -m autograder list                # parts, weights, case counts
    python -m autograder coverage [--check]  # which visible case meets each difficulty of each part alone
    python -m autograder grade-all SOURCE --out DIR [--jobs N] [--force] [--similarity]  # a whole export
    python -m autograder class-report SOURCE ... --out DIR  # the class's mistakes from a term's results.json
    python -m autograder mutant NAME --out DIR  # a mutant of tests/mutants as a submission folder (a checkout)
    python -m autograder environment [--check]  # Python, numpy, torch of grader and worker vs the pins
    python -m autograder cleanup              # as root: remove the sandbox users and slot locks
    python -m autograder prairielearn [--root /grade]   # PrairieLearn's external grader (docs/PRAIRIELEARN.md)
    python -m autograder classroom-workflow [--out FILE] # GitHub Classroom's autograding workflow, from the table
"""

import argparse
import os
import sys
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table as RichTable

from .checking.table import load
from .grading.scoretable import print_environment, print_table


def select_parts(table, parts):
    """The table with ``parts`` only, or None after saying which ids are unknown (exit status 2)."""
    try:
        return table.select(parts)
    except KeyError as exc:
        print(f"unknown part(s): {exc}. Known: {', '.join(p.id for p in table.parts)}", file=sys.stderr)
        return None


def cmd_grade(args):
    from .grading.results import write_atomic
    from .run import grade
    from .sandbox.isolation import SandboxUnavailable

    table = load(args.table)
    selected = select_parts(table, args.parts)
    if selected is None:
        return 2
    try:
        outcome = grade(args.path, results_path=args.results, table=table, parts=args.parts,
                        reveal=args.reveal_hidden, trusted=args.trusted, seed=args.seed)
    except SandboxUnavailable as exc:
        print(f"grade: refusing to run student code: {exc}", file=sys.stderr)
        return 3
    if args.notes:  # the grader's notes as data (grade-all reads them; never parsed back from text)
        write_atomic(args.notes, {"status": outcome.status, "notes": outcome.notes,
                                  "isolation": outcome.isolation_notes})
    console = Console(width=args.width) if args.width else Console()
    print_table(outcome, console, verbose="all" if args.verbose else True, table=selected, reveal=args.reveal_hidden)
    if args.verbose:
        print_environment(outcome.data.get("extra_data", {}).get("environment"), console)
    if args.verbose and outcome.seed is not None:
        console.print(f"hidden cases drawn from seed {outcome.seed} (`--seed {outcome.seed}` grades the same inputs)",
                      highlight=False, soft_wrap=True)
    if args.results:
        console.print(f"results written to {args.results}", highlight=False)
    if args.require_full and not full_marks(outcome.data):
        console.print(f"not at full marks: {outcome.data['score']:g} / {selected.total:g} (exit status 1)",
                      highlight=False)
        return 1
    return 0


def full_marks(data):
    """Every graded part at its full points (grade --require-full)."""
    return bool(data["tests"]) and all(t["score"] >= t["max_score"] - 1e-9 for t in data["tests"])


def cmd_environment(args):
    """Python, numpy and torch of the grader and the worker, against the pinned versions."""
    from .grading.environment import fingerprint, pin_problems
    from .sandbox.confine import worker_python

    record = fingerprint(None, worker_python())
    print_environment(record, Console())
    if args.check and pin_problems(record):
        print("environment check FAILED: numpy or torch is not the pinned version (see 'differs' above)",
              file=sys.stderr)
        return 1
    return 0


def cmd_cleanup(args):
    from .staff.cleanup import main as cleanup_main

    return cleanup_main()


def cmd_gradescope(args):
    """Gradescope's entry point: /autograder/submission -> /autograder/results/results.json."""
    from .run import grade

    root = Path(os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    results = root / "results" / "results.json"
    table = load()
    outcome = grade(root / "submission", results_path=results, table=table,
                    metadata=root / "submission_metadata.json")  # for the table's rate_limit, if any
    console = Console(width=120)
    print_table(outcome, console, verbose=False, table=table)
    print_environment(outcome.data.get("extra_data", {}).get("environment"), console)  # staff-only log
    return 0


def cmd_prairielearn(args):
    """PrairieLearn's external grader: ROOT/student -> ROOT/results/results.json (grading/prairielearn.py); the
    Gradescope-format results with the staff-only extra_data (hidden seed, environment) beside it, in
    convgrade.json. Exit 0 whenever results.json was written (PrairieLearn discards the results otherwise)."""
    from .grading import prairielearn
    from .grading.results import write_atomic
    from .run import grade
    from .sandbox.isolation import SandboxUnavailable

    root = Path(args.root)
    results = root / "results" / "results.json"
    table = load(args.table)
    selected = select_parts(table, args.parts)
    if selected is None:
        return 2
    try:
        outcome = grade(root / "student", results_path=root / "results" / "convgrade.json", table=table,
                        parts=args.parts)
    except SandboxUnavailable as exc:
        print(f"prairielearn: refusing to run student code: {exc}", file=sys.stderr)
        write_atomic(results, prairielearn.not_gradable(
            "The grader could not isolate your code on this machine, so nothing ran and no attempt was used. "
            "Please tell the course staff."))
        return 0
    data = prairielearn.validate(prairielearn.results(outcome.data, outcome.parts, outcome.summary,
                                                      outcome.ungradable, selected))
    write_atomic(results, data)
    console = Console(width=120)  # the job's log: the same table as the student's feedback, no secrets
    print_table(outcome, console, verbose=False, table=selected)
    print_environment(outcome.data.get("extra_data", {}).get("environment"), console)
    return 0


def cmd_classroom_workflow(args):
    """GitHub Classroom's workflow for the handout's table (grading/classroom.py), on stdout or in --out."""
    from .grading.classroom import workflow_yaml

    try:
        text = workflow_yaml(load(args.table).visible_only(), grader=args.grader, python=args.python)
    except ValueError as exc:
        print(f"classroom-workflow: {exc}", file=sys.stderr)
        return 2
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_list(args):
    table = load(args.table)
    console = Console()
    rt = RichTable(title=f"graded parts ({table.total:g} points)", box=box.SIMPLE_HEAD)
    # the id is what one types (--parts, check.py): never cut; on a narrow terminal the title folds instead
    rt.add_column("#", no_wrap=True, min_width=max((len(p.number) for p in table.parts), default=1))
    rt.add_column("id", no_wrap=True, min_width=max((len(p.id) for p in table.parts), default=2))
    for col in ("file", "points", "cases\n(hidden)"):
        rt.add_column(col, no_wrap=True)
    rt.add_column("title", overflow="fold")
    for p in table.parts:
        hidden = len(p.cases) - len(p.visible_cases)
        rt.add_row(p.number, p.id, f"{p.module}.py", f"{p.weight:g}", f"{len(p.cases)} ({hidden})", p.title)
    console.print(rt)
    return 0


def cmd_coverage(args):
    """The part x difficulty matrix of the case table (checking/coverage.py); torch is never imported."""
    from .checking.coverage import render

    uncovered = render(load(args.table), Console(width=args.width) if args.width else Console(),
                       legend=not args.no_legend)
    return 1 if args.check and uncovered else 0


def cmd_grade_all(args):
    from .staff.batch import main as batch_main  # staff-only module (not in the student handout)

    return batch_main(args)


def cmd_class_report(args):
    from .staff.term import main as term_main

    return term_main(args)


MUTANTS = Path(__file__).resolve().parent.parent / "tests" / "mutants"


def cmd_mutant(args):
    """Build a mutant of tests/mutants (a realistic student bug) into a folder, to grade and read its feedback as
    a student would. The catalogue lives in a checkout of the course, not in the Gradescope zip."""
    import importlib.util

    init = MUTANTS / "__init__.py"
    if not init.is_file():
        print(f"mutant: no mutant catalogue here ({MUTANTS}): it is in a checkout of the course", file=sys.stderr)
        return 2
    names = sorted(p.stem for p in MUTANTS.glob("*.py") if p.name != "__init__.py")
    if args.list or not args.name:
        print("\n".join(names))
        return 0
    if not args.out:
        print("mutant: --out DIR is required (the new folder to write the submission into)", file=sys.stderr)
        return 2
    spec = importlib.util.spec_from_file_location("mutants", init, submodule_search_locations=[str(MUTANTS)])
    mutants = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mutants)
    if args.name not in names:
        close = [n for n in names if args.name.lower() in n]
        print(f"mutant: no mutant {args.name!r}" + (f"; did you mean {', '.join(close[:8])}?" if close else "")
              + f" ({len(names)} in {MUTANTS}; `--list` names them)", file=sys.stderr)
        return 2
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        print(f"mutant: {out} is not empty: choose a new folder", file=sys.stderr)
        return 2
    mutant = mutants.load(MUTANTS / f"{args.name}.py")
    mutants.build(mutant, out)
    print(f"wrote {out}: the reference solutions with {mutant.module}.py's {', '.join(mutant.functions)} replaced: "
          f"{mutant.summary}")
    print(f"it must lose points on: {', '.join(sorted(mutant.expected))}"
          + "".join(f"; {pid} names the mistake {m}" for pid, m in sorted(mutant.named.items())))
    print(f"grade it as a student sees it: {sys.executable} -m autograder grade {out} -v")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.splitlines()[0])
    parser.add_argument("--table", help="case table (default: autograder/cases.yaml)")
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade one submission (folder or zip) and print the table")
    g.add_argument("path")
    g.add_argument("--results", help="also write Gradescope's results.json here")
    g.add_argument("--parts", nargs="*", default=[], help="only these part ids")
    g.add_argument("--verbose", "-v", action="store_true", help="show the feedback of every part")
    g.add_argument("--width", type=int, default=None)
    g.add_argument("--seed", type=int, default=None,
                   help="the secret seed of the hidden cases' inputs (default: a new one; results.json's "
                        "extra_data records it), to reproduce a grading")
    g.add_argument("--reveal-hidden", action="store_true",
                   help="staff only: full feedback for hidden cases too (never use for students)")
    g.add_argument("--trusted", action="store_true",
                   help="the code is trusted: grade it even where it cannot be isolated (not root, no user "
                        "namespaces)")
    g.add_argument("--require-full", action="store_true",
                   help="exit 1 unless every selected part is at full marks (the feedback is printed either way; "
                        "GitHub Classroom's command grader awards a part's points on exit 0)")
    g.add_argument("--notes", help=argparse.SUPPRESS)  # grade-all: where to write the notes as JSON
    g.set_defaults(func=cmd_grade)
    s = sub.add_parser("gradescope", help="run as Gradescope's run_autograder")
    s.set_defaults(func=cmd_gradescope)
    pl = sub.add_parser("prairielearn", help="run as PrairieLearn's external grader: ROOT/student -> "
                                             "ROOT/results/results.json")
    pl.add_argument("--root", default="/grade", help="the grading job's folder (default: /grade)")
    pl.add_argument("--parts", nargs="*", default=[], help="only these part ids (a question grading some parts)")
    pl.set_defaults(func=cmd_prairielearn)
    cw = sub.add_parser("classroom-workflow", help="print GitHub Classroom's autograding workflow (one step per part)")
    cw.add_argument("--out", help="write it here (e.g. TEMPLATE/.github/workflows/classroom.yml) instead of stdout")
    cw.add_argument("--grader", default="_grader",
                    help="the folder of the student's repository holding the grader (default: the handout's _grader)")
    cw.add_argument("--python", default="3.10", help="the Python version the workflow sets up (default: Gradescope's)")
    cw.set_defaults(func=cmd_classroom_workflow)
    ls_ = sub.add_parser("list", help="list the graded parts")
    ls_.set_defaults(func=cmd_list)
    cov = sub.add_parser("coverage", help="which visible case meets each difficulty of each part alone")
    cov.add_argument("--check", action="store_true", help="exit 1 when a difficulty is not isolated")
    cov.add_argument("--no-legend", action="store_true", help="leave out the definitions of the difficulties")
    cov.add_argument("--width", type=int, default=None)
    cov.set_defaults(func=cmd_coverage)
    ga = sub.add_parser("grade-all", help="grade every submission of a Gradescope export (zip or folder)")
    ga.add_argument("source", help="Gradescope's Export Submissions zip or folder, or a folder of submissions")
    ga.add_argument("--out", required=True, help="output folder: <id>/results.json, grades.csv, plots")
    ga.add_argument("--jobs", "-j", type=int, default=None,
                    help="grading processes, each grading one submission at a time (default: one per core)")
    ga.add_argument("--force", action="store_true", help="grade again what an earlier run already graded")
    ga.add_argument("--retry-failed", action="store_true", help="grade again the submissions that timed out or erred")
    ga.add_argument("--timeout", type=float, default=1200.0,
                    help="seconds per submission (default 1200; at most the grading's own deadline + 120 s)")
    ga.add_argument("--parts", nargs="*", default=[], help="only these part ids")
    ga.add_argument("--seed", type=int, default=None,
                    help="the secret seed of the hidden cases, shared by the batch (default: OUT/hidden_seed "
                         "from an earlier run, else a new one)")
    ga.add_argument("--trusted", action="store_true",
                    help="the submissions are trusted: grade them even where they cannot be isolated")
    ga.add_argument("--similarity", action="store_true",
                    help="also write similarity.html: the most similar pairs of submissions (copydetect, the starter "
                         "code excluded); never part of a grade")
    ga.add_argument("--similarity-against", metavar="DIR",
                    help="with --similarity: compare every submission with the Python files of DIR too (earlier "
                         "terms, public solutions)")
    ga.add_argument("--similarity-top", type=int, default=30, metavar="N",
                    help="with --similarity: how many pairs the report shows (default 30)")
    ga.set_defaults(func=cmd_grade_all)
    cr = sub.add_parser("class-report", help="the class's mistakes and crashes from a term's results.json files "
                                             "(grade-all's output, a Gradescope export, submission_metadata.json)")
    cr.add_argument("sources", nargs="+", metavar="SOURCE")
    cr.add_argument("--out", required=True, help="output folder: mistakes.csv, crashes.csv, class_report.txt, "
                                                 "mistakes.png")
    cr.set_defaults(func=cmd_class_report)
    mu = sub.add_parser("mutant", help="build a mutant (tests/mutants: a realistic student bug) into a folder")
    mu.add_argument("name", nargs="?", help="the mutant's name (its file in tests/mutants without .py)")
    mu.add_argument("--out", help="the new folder to write the submission into")
    mu.add_argument("--list", action="store_true", help="name every mutant")
    mu.set_defaults(func=cmd_mutant)
    en = sub.add_parser("environment", help="Python, numpy and torch of the grader and the worker vs the pins")
    en.add_argument("--check", action="store_true", help="exit 1 unless numpy and torch are the pinned versions")
    en.set_defaults(func=cmd_environment)
    cl = sub.add_parser("cleanup", help="as root: remove the sandbox users and slot locks grading created")
    cl.set_defaults(func=cmd_cleanup)
    args = parser.parse_args(argv)
    return args.func(args)
