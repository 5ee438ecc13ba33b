"""How well the feedback names each mutant's bug: named by its mistake, only pointed near, or misleading.

Every mutant (tests/mutants/*.py) is graded as tests/test_mutants.py grades it; for each part it must break
(EXPECTED_PARTS) the feedback is sorted into one of:

  named      a failing case names a mistake (a catalogue entry or structural evidence, checking/structure.py),
             or every failing visible case names none but is located by file and line (a crash, a time-out)
             or breaks a rule of the contract that its line names (a dtype, an input changed in place,
             an output that shares memory with an input)
  traced     every failing case is traced to another part ("conv2d_gemm used your im2col, which fails 4.2")
  candidates only candidate mistakes, none decided
  measured   a speed part: the time measured against its limit is the diagnosis
  near       wrong values or shapes said, where they are, but no mistake named: "pointed near"
  passed     the part lost nothing (a mutant whose every part passes SURVIVED: it passed silently)

and flagged MISLEADING where a case names a mistake that the mutant's NAMED and ALSO_NAMED do not declare for
that part (each declared name was checked to be true of the bug: so this is mechanical, and tests/test_mutants.py
fails on it too). A mutant
counts as named when each of its parts is named or traced to a part that is.

    python tools/diagnosis_report.py                 # every mutant, a table and the totals
    python tools/diagnosis_report.py NAME ...        # only these
    python tools/diagnosis_report.py --json FILE     # also write the per-part findings (to compare runs)
"""

import argparse
import json
import multiprocessing
import os
import re
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import mutants  # noqa: E402

LOCATED = re.compile(r"\b\w+\.py,? line \d+")
# a failure that names its own mistake without the catalogue: the contract's dtype, in-place and aliasing rules
CONTRACT = re.compile(r": wrong dtype \w+, expected|modified its input .* in place|shares memory with|"
                      r": expected None \(")


def part_finding(result):
    """{status, names, cases} of one graded part."""
    from autograder.checking.parts import METRICS

    failing = [c for c in result.cases if not c.passed]
    visible = [c for c in failing if not c.hidden]
    names = []
    for c in failing:
        for m in c.mistakes:
            if m not in names:
                names.append(m)
    candidates = sorted({m for c in failing for m in c.candidates})
    shown = [c for c in (visible or failing) if c.kind != "skipped"]  # "not run" after time-outs: the same problem
    located = bool(shown) and all(any(LOCATED.search(t) or CONTRACT.search(t) for t in [*c.lines, *c.located])
                                  for c in shown if not c.mistakes)
    if not failing:
        status = "passed"  # the bug cost this part nothing
    elif all(c.causes for c in failing):
        status = "traced"
    elif result.part.check in METRICS:
        status = "measured"  # a speed part: its line is the measurement against its limit
    elif any(c.mistakes for c in failing):
        status = "named"
    elif located:
        status = "named"
    elif candidates:
        status = "candidates"
    else:
        status = "near"
    first = next((c for c in visible), None) or next(iter(failing), None)
    said = [] if first is None else [*first.mistakes, *first.lines[:2], *first.located[:1]]
    on_visible = sorted({m for c in visible for m in c.mistakes})
    return {"status": status, "names": names, "visible": on_visible, "candidates": candidates, "failing": len(failing),
            "first": [str(s)[:160] for s in said]}


def grade_one(name):
    with tempfile.TemporaryDirectory(prefix="convgrade-diagnosis-") as tmp:
        m = mutants.load(mutants.HERE / f"{name}.py")
        outcome, lost = mutants.grade_lost(mutants.build(m, Path(tmp) / "submission"), allowed=m.expected)
        return name, {pid: part_finding(outcome.parts[pid]) for pid in sorted(m.expected) if pid in outcome.parts}


def verdict(m, parts):
    """(named | near | candidates, [misleading notes]) of one mutant."""
    misleading = []
    for pid, f in parts.items():
        declared = mutants.allowed_names(m, pid)
        wrong = [n for n in [*f["names"], *f["candidates"]] if n not in declared]
        if wrong:
            misleading.append(f"{pid}: names {wrong}" + (f" (declared {sorted(declared)})" if declared
                                                         else " (none declared)"))
    statuses = {f["status"] for f in parts.values()}
    if statuses == {"passed"}:
        return "survived", misleading
    statuses.discard("passed")
    if statuses <= {"named", "traced", "measured"} and statuses & {"named", "measured"}:
        return "named", misleading
    if "near" in statuses:
        return "near", misleading
    return "candidates" if "candidates" in statuses else "near", misleading


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--jobs", "-j", type=int, default=min(os.cpu_count() or 1, 2))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    catalogue = {m.name: m for m in mutants.catalogue()}
    names = [n for n in catalogue if not args.names or n in args.names]
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = dict(pool.map(grade_one, names))
    totals = {"named": 0, "near": 0, "candidates": 0, "survived": 0}
    misleading_total = 0
    for name in names:
        v, misleading = verdict(catalogue[name], results[name])
        totals[v] += 1
        misleading_total += bool(misleading)
        cells = "; ".join(f"{pid} {f['status']}" + (f" {f['names']}" if f["names"] else "")
                          for pid, f in results[name].items())
        print(f"{v.upper():10} {name}: {cells}")
        if v != "named":
            for pid, f in results[name].items():
                if f["status"] not in ("named", "traced", "measured", "passed"):
                    print(f"{'':10}   {pid}: {' | '.join(f['first'])}")
        for line in misleading:
            print(f"{'':10}   MISLEADING? {line}")
    print(f"\n{len(names)} mutants: {totals['named']} named by their mistake (or a crash located), "
          f"{totals['near']} only pointed near, {totals['candidates']} left as candidates, {totals['survived']} "
          "passed silently (no points lost); "
          f"{misleading_total} with a mistake named that the mutant does not declare")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
