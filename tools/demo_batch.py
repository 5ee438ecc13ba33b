"""A small sample of Gradescope's *Export Submissions*, and grade-all run on it: what a first-time TA tries.

    python tools/demo_batch.py                  # make demo-batch: build dist/demo-export.zip, grade it
    python tools/demo_batch.py --build-only     # only the zip
    python tools/demo_batch.py --parts ID ...   # grade only these parts (quicker)

The zip is laid out as Gradescope writes it (autograder/staff/export.py reads it): one top folder holding
``submission_metadata.yml``, whose keys are Ruby symbols (``:submitters:`` with ``:name:``, ``:sid:``,
``:email:``; ``:created_at:``; ``:score:``, the score at export time; ``:results:``, the results.json of that
time with its ``tests``), and one ``submission_<id>/`` folder per submission. The submissions: the reference
solutions, the handout's stubs, mutants of tests/mutants/ (realistic bugs, two students with the same one, a
crash in a visible case, a crash only a hidden case meets), one uploaded as a zip with its files in a folder,
and a correct submission written unlike the reference (tests/styles/loops). Their old scores are those of an
earlier autograder that missed the mutants' bugs and gave part 3.3 one point less, so the regrade diff in
``dist/demo-grades/summary.txt`` has something to say (a student who lost points on 3.3 while its maximum
rose is "down"); the class report lists the mutants' known mistakes and crashes, and the similarity report
(the reference solutions playing last term's submissions) finds what the copies of the reference share. Then

    python -m autograder grade-all dist/demo-export.zip --out dist/demo-grades --force --similarity \
        --similarity-against solutions

and the grades are in ``dist/demo-grades/grades.csv`` (README, "Regrading an export locally").
"""

import argparse
import io
import os
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [p for p in (str(ROOT), str(ROOT / "tests")) if p not in sys.path]

import mutants  # noqa: E402  (tests/mutants: the catalogue and its builder)

from autograder.checking.table import MODULES, load  # noqa: E402

EXPORT = ROOT / "dist" / "demo-export.zip"
GRADES = ROOT / "dist" / "demo-grades"
TOP = "assignment_0000_export"
# (id, name, what): the reference, the stubs, mutants (their name), the reference zipped in a folder, a style
SUBMISSIONS = [
    ("4001", "Ada Lovelace", "reference"),
    ("4002", "Stub Student", "stubs"),
    ("4003", "Grace Hopper", "conv_db_mean"),
    ("4004", "Alan Turing", "maxpool_zero_padding"),
    ("4005", "Edsger Dijkstra", "bed_of_nails_centre"),
    ("4006", "Barbara Liskov", "zipped"),
    ("4007", "Katherine Johnson", "conv_db_mean"),
    ("4008", "John Backus", "fc_to_conv_bias_none_crash"),
    ("4009", "Frances Allen", "receptive_field_ignores_strides"),
    ("4010", "Niklaus Wirth", "conv_assert_stride_within_kernel"),
    ("4011", "Donald Knuth", "style:loops"),
]
OLD_WEIGHTS = {"receptive_field": -1}  # the earlier autograder's weights: this part had one point less
AGAINST = ROOT / "solutions"  # last term's submissions, played by the reference solutions (--similarity-against)


def mutant_of(what):
    """The tests/mutants Mutant a submission was built from, or None (reference, stubs, zipped, a style)."""
    if what in ("reference", "stubs", "zipped") or what.startswith("style:"):
        return None
    return mutants.load(mutants.HERE / f"{what}.py")


def files_of(what, tmp):
    """{file name: bytes} of one submission."""
    if what == "stubs":
        return {f"{m}.py": (ROOT / "assignment" / f"{m}.py").read_bytes() for m in MODULES}
    if what in ("reference", "zipped"):
        folder = mutants.reference_copy(tmp / what)
    elif what.startswith("style:"):
        folder = mutants.build_style(what.split(":", 1)[1], tmp / what.replace(":", "_"))
    else:
        folder = mutants.build(what, tmp / what)
    files = {f"{m}.py": (folder / f"{m}.py").read_bytes() for m in MODULES}
    if what == "zipped":  # uploaded as one zip holding a folder, as students sometimes do
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for name, data in files.items():
                zf.writestr(f"my work/{name}", data)
        return {"submission.zip": buf.getvalue()}
    return files


def old_results(table, what):
    """The :results: of an earlier grading: full marks but the stubs (0), as an autograder that missed the
    mutants' bugs would have given, with its own weights (OLD_WEIGHTS)."""
    tests, total = [], 0
    for p in table.parts:
        weight = p.weight + OLD_WEIGHTS.get(p.id, 0)
        score = 0 if what == "stubs" else weight
        total += score
        tests.append(f"    - name: {p.number} {p.title}\n      number: '{p.number}'\n      score: {score:g}\n"
                     f"      max_score: {weight:g}")
    return total, "  :results:\n    score: {:g}\n    tests:\n{}\n".format(total, "\n".join(tests))


def metadata(table):
    """submission_metadata.yml as Gradescope writes it (Ruby-symbol keys; a BigDecimal score for one)."""
    out = []
    for i, (sid, name, what) in enumerate(SUBMISSIONS):
        total, results = old_results(table, what)
        score = f"!ruby/object:BigDecimal 18:{total / 100:g}e2" if what == "zipped" else f"{total:g}.0"
        first = name.split()[0].lower()
        out.append(f"submission_{sid}:\n  :submitters:\n  - :name: {name}\n    :sid: '{sid}'\n"
                   f"    :email: {first}@example.edu\n  :created_at: 2024-03-{i + 1:02d} 12:00:00.000000000 -08:00\n"
                   f"  :score: {score}\n" + results)
    return "".join(out)


def build(out=EXPORT):
    """Write the sample export zip; return its path."""
    import tempfile

    table = load()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="convgrade-demo-") as tmp, zipfile.ZipFile(out, "w") as zf:
        zf.writestr(f"{TOP}/submission_metadata.yml", metadata(table))
        for sid, _, what in SUBMISSIONS:
            for name, data in files_of(what, Path(tmp)).items():
                zf.writestr(f"{TOP}/submission_{sid}/{name}", data)
    return out


def shown(path):
    """A path as the reader would type it: relative to the current folder where it is below it (the venv's
    interpreter stays the venv's: never resolved through its symlink)."""
    full = os.path.abspath(path)
    return os.path.relpath(full) if full.startswith(os.getcwd() + os.sep) else full


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-only", action="store_true", help="only write the export zip")
    parser.add_argument("--export", default=str(EXPORT))
    parser.add_argument("--out", default=str(GRADES), help="grade-all's output folder")
    parser.add_argument("--parts", nargs="*", default=[], help="grade only these part ids")
    args = parser.parse_args(argv)
    export = build(args.export)
    print(f"wrote {export}: {len(SUBMISSIONS)} submissions ("
          + ", ".join(f"{sid} {what}" for sid, _, what in SUBMISSIONS) + ")")
    if args.build_only:
        return 0
    cmd = [sys.executable, "-m", "autograder", "grade-all", str(export), "--out", str(args.out), "--force",
           "--similarity", "--similarity-against", os.path.relpath(AGAINST, ROOT)]
    cmd += ["--parts", *args.parts] if args.parts else []
    print("$ " + shlex.join([shown(cmd[0]), *cmd[1:3], *[shown(c) if Path(c).is_absolute() else c for c in cmd[3:]]]),
          flush=True)
    return subprocess.run(cmd, cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
