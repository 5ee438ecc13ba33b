"""Which system calls the sandboxed workers make, traced: where the allow-list (autograder/sandbox/syscalls.yaml)
comes from, and the check that honest code needs nothing it refuses.

    python tools/trace_syscalls.py SUBMISSION [SUBMISSION ...] [--parts ID ...] [--out DIR]

Grades each submission (folder or zip, seed 0) in one grader process under strace (Debian's strace), then reads
every call each worker made after it installed its seccomp filter (the workers are the processes that made that
call; threads they started afterwards count as theirs), and prints them: number, name, how often, in how many
submissions, and what the filter answers (policy.decide on the traced arguments). The last line says
"refused: none" when the filter allows every call the workers made, else names the refused ones: for honest
code (the reference, tests/styles) a refused call is a hole in the allow-list; for a hostile submission
(tests/hostile) it is the filter at work. Exit status 0 either way; 2 when strace is missing or the grading
failed.
"""

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from autograder.sandbox import policy  # noqa: E402

DRIVER = """
import json, sys
sys.path.insert(0, {root!r})
from autograder import run
for path in {paths!r}:
    print("CONVGRADE-TRACE-SUBMISSION", path, file=sys.stderr, flush=True)
    out = run.grade(path, parts={parts!r} or None, seed=0)
    print(json.dumps({{"path": path, "score": out.data["score"]}}), flush=True)
"""
# strace -f -n -e raw=all: "PID  [ NR] name(0x.., 0x..) = result", or a call cut by another thread's
LINE = re.compile(r"^(\d+)\s+\[\s*(\d+)\]\s+(\w+)\((.*?)(?:\) += (.*)|\s*<unfinished \.\.\.>)$")
PR_SET_SECCOMP, SECCOMP_SET_MODE_FILTER = 22, 1
CLONE_NAMES = ("clone", "clone3", "fork", "vfork")


def trace(paths, parts, out):
    """Run the gradings under strace; the trace file's path and the gradings' scores."""
    log = out / "strace.txt"
    driver = DRIVER.format(root=str(ROOT), paths=[str(Path(p).resolve()) for p in paths], parts=list(parts or []))
    proc = subprocess.run(["strace", "-f", "-qq", "-n", "-e", "raw=all", "-o", str(log), sys.executable, "-c",
                           driver], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"the traced grading failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return log, [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def filtered_calls(log):
    """[(pid, nr, name, args)] of every call made under a worker's filter, in order."""
    filtered, calls = set(), []
    for line in Path(log).read_text(errors="replace").splitlines():
        m = LINE.match(line)
        if not m:
            continue
        pid, nr, name, raw_args, result = int(m[1]), int(m[2]), m[3], m[4], m[5]
        args = [int(a, 16) if a.startswith("0x") else int(a) for a in re.findall(r"0x[0-9a-f]+|\b\d+\b", raw_args)]
        if pid in filtered:
            calls.append((pid, nr, name, args))
            if name in CLONE_NAMES and result and result.startswith("0x"):
                filtered.add(int(result, 16))  # a thread (or refused process) of a filtered worker
        elif (name == "prctl" and args[:2] == [PR_SET_SECCOMP, 2] or name == "seccomp"
              and args[:1] == [SECCOMP_SET_MODE_FILTER]) and result and not result.startswith("-1"):
            filtered.add(pid)
    return calls


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("submissions", nargs="+")
    ap.add_argument("--parts", nargs="*", default=[])
    ap.add_argument("--out", help="keep the trace in this folder (default: a temporary one, removed)")
    args = ap.parse_args(argv)
    if not shutil.which("strace"):
        print("strace is not installed (Debian: apt-get install strace)", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="convgrade-trace-"))
    out.mkdir(parents=True, exist_ok=True)
    try:
        log, scores = trace(args.submissions, args.parts, out)
        calls = filtered_calls(log)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 2
    finally:
        if not args.out:
            shutil.rmtree(out, ignore_errors=True)
    compact = policy.for_machine()
    counts, names, answers = collections.Counter(), {}, collections.defaultdict(set)
    for pid, nr, name, call_args in calls:
        counts[nr] += 1
        names[nr] = name
        answers[nr].add(policy.decide(compact, nr, call_args, pid))
    table = Table(title=f"system calls made under the filter ({os.uname().machine}), "
                        f"{len(scores)} grading(s): " + ", ".join(f"{Path(s['path']).name} {s['score']:g}"
                                                                  for s in scores))
    for col in ("nr", "call", "calls", "the filter"):
        table.add_column(col, justify="right" if col in ("nr", "calls") else "left")
    refused = []
    for nr in sorted(counts):
        said = sorted(str(a) if a == policy.ALLOW else f"refused ({os.strerror(a)})" for a in answers[nr])
        if any(a != policy.ALLOW for a in answers[nr]):
            refused.append(names[nr])
        table.add_row(str(nr), names[nr], str(counts[nr]), ", ".join(said))
    console = Console(width=110)
    console.print(table)
    unseen = sorted(set(policy.numbers()) - set(names.values()))
    console.print(f"allowed, not made in these gradings ({len(unseen)}): " + ", ".join(unseen), highlight=False)
    console.print("refused: " + (", ".join(refused) if refused else "none"), highlight=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
