"""Turn graded parts into Gradescope's results.json, through gradescope-utils.

Each part becomes one unittest test decorated with gradescope-utils'
``partial_credit`` (its weight), ``number``, ``visibility`` and
``hide_errors``, run by its ``JSONTestRunner``. The known holes of that
runner are avoided by construction: no subTest (failures would vanish), no
skip (the test would vanish), nothing in setUpClass (the file would end up
empty). Each test method runs its part through the grader, which never raises
for student behaviour, so every part appears exactly once.

Each test's output is Markdown (``output_format: md``, set in the runner's
post-processor: gradescope-utils has no option for it), with a comparison table
per failing case; so is the top-level summary, which lists the mistakes named.

Each test also carries, in its ``extra_data`` (stored by Gradescope with the
submission and shown to staff only), what the class report counts over a term
(staff/classreport.py): every failing case with the points it cost and why it
failed, the known mistakes recognised and where a call raised, timed out or
crashed, hidden cases included (``staff_record``). Names, case numbers and
places in the student's files only: never a value, a message or printed text.
"""

import io
import json
import os
import re
import tempfile
import time
import unittest
from pathlib import Path

from gradescope_utils.autograder_utils.decorators import hide_errors, leaderboard, number, partial_credit, visibility
from gradescope_utils.autograder_utils.json_test_runner import JSONTestRunner

INTERNAL_ERROR = "The grader hit an internal error on this part; please tell the course staff."


def make_test(part, run_part, collected, reveal=False):
    def test(self, set_score=None):
        result = run_part(part)
        collected[part.id] = result
        set_score(result.score)
        print(result.feedback(reveal=reveal, fmt="md"))

    test.__doc__ = f"{part.number} {part.title}"
    test = partial_credit(part.weight)(test)
    test = number(part.number)(test)
    test = visibility(part.visibility)(test)
    test = hide_errors(INTERNAL_ERROR)(test)
    return test


def make_leaderboard_entry(part, collected):
    """A gradescope-utils leaderboard test: the part's measured metric (parts.METRICS) under the column the
    table names (``leaderboard:``). It runs after every part (its name sorts last) and reads the part's
    result; with no trusted measurement (the case failed) its value stays None and the entry is dropped."""
    from ..checking.parts import METRICS

    metric, order = METRICS[part.check]

    def test(self, set_leaderboard_value=None):
        result = collected.get(part.id)
        value = result.metric(metric, order) if result is not None and hasattr(result, "metric") else None
        set_leaderboard_value(value)

    return leaderboard(part.leaderboard, order)(test)


def build_suite(table, run_part, collected, reveal=False):
    """A unittest suite with one test per part, in table order; then the leaderboard entries."""
    attrs = {}
    for i, part in enumerate(table.parts):
        attrs[f"test_{i:02d}_{part.id}"] = make_test(part, run_part, collected, reveal)
        if part.leaderboard:
            attrs[f"test_zz_leaderboard_{i:02d}_{part.id}"] = make_leaderboard_entry(part, collected)
    cls = type("GradedParts", (unittest.TestCase,), attrs)
    return unittest.TestSuite(cls(name) for name in sorted(attrs))


def run(table, run_part, summary=lambda data, collected: "", reveal=False, started=None):
    """Grade every part; return (results dict, {part id: PartResult}). ``started``: the grading's start
    (time.monotonic()), from which ``execution_time`` counts (run.grade grades the parts before this runs)."""
    collected = {}
    start = time.monotonic() if started is None else started

    by_number = {p.number: p.id for p in table.parts}

    def post(data):
        data["execution_time"] = round(time.monotonic() - start, 2)
        data["score"] = round(sum(t.get("score", 0.0) for t in data["tests"]), 4)
        data["output"] = summary(data, collected)
        data["output_format"] = "md"
        for t in data["tests"]:
            t["output_format"] = "md"
            result = collected.get(by_number.get(t.get("number")))
            if result is not None and hasattr(result, "cases"):
                t["extra_data"] = staff_record(result)

    stream = io.StringIO()
    JSONTestRunner(stream=stream, visibility="visible", stdout_visibility="hidden", post_processor=post).run(
        build_suite(table, run_part, collected, reveal))
    data = json.loads(stream.getvalue())
    data["leaderboard"] = [e for e in data.get("leaderboard") or [] if e.get("value") is not None]
    if not data["leaderboard"]:
        data.pop("leaderboard")
    return data, collected


# ----------------------------------------------------------------- the staff-only record of a part
# A failing case's CaseResult.kind -> how the class report names a call that did not return ("import": the
# module could not be imported; a missing file, a case not run and NotImplementedError are "unfinished").
CRASHES = {"error": "raised", "timeout": "timed out", "deadline": "timed out", "crash": "crashed",
           "protocol": "crashed", "memory": "ran out of memory", "import": "failed to import"}
UNFINISHED = {"missing", "skipped"}
# evidence.located_error's lines: "f raised IndexError at conv.py, line 4, in g", "f is not implemented yet ..."
RAISED = re.compile(r"^(?P<called>\w+) raised (?P<exception>[A-Za-z_]\w*|an exception of your own|an exception)"
                    r"(?: at (?P<file>\w+\.py), line (?P<line>\d+), in (?P<function>[\w<>]+))?$")
NOT_IMPLEMENTED = re.compile(r"^\w+ is not implemented yet")


def crash_of(part, case):
    """{"kind", "exception", "file", "function", "line"} of a case whose call raised, timed out, crashed or could
    not import; None for any other case (NotImplementedError included: the code is unfinished, not broken)."""
    kind = CRASHES.get(case.kind)
    if kind is None or any(NOT_IMPLEMENTED.match(line) for line in case.located):
        return None
    functions = {ref.rpartition(".")[2]: ref.rpartition(".")[0] for ref in (part.forward, part.backward) if ref}
    called = list(case.used)[-1] if case.used else part.forward.rpartition(".")[2]  # the call that failed: the last
    record = {"kind": kind, "exception": "", "file": f"{functions.get(called, part.module)}.py", "function": called,
              "line": None}
    for line in case.located:
        m = RAISED.match(line)
        if m:
            record["exception"] = "" if m["exception"] == "an exception" else m["exception"]
            if m["file"]:
                record.update(file=m["file"], function=m["function"], line=int(m["line"]))
            break
    return record


def why_failed(case, crash):
    """Why a failing case failed, for the class report: "mistake" (a known mistake recognised, or candidates),
    "unfinished" (no usable file, not run, NotImplementedError: its own or a function's it calls), "cause" (a
    failure in another part), "crash", else "unexplained" (wrong values or shapes that no known mistake fits:
    what the catalogue still lacks)."""
    if case.mistakes or case.candidates:
        return "mistake"
    if case.kind in UNFINISHED or (case.kind in CRASHES and crash is None):
        return "unfinished"
    if case.causes:
        return "cause"
    return "unexplained" if crash is None else "crash"


def staff_record(result):
    """The staff-only record of one graded part (a test's ``extra_data``): every failing case with the points it
    cost and why it failed; the mistakes recognised ("possible": only as one of several candidates) and the
    crashes, each with its cases; hidden cases included (staff see what students do not)."""
    part, n = result.part, max(len(result.cases), 1)
    failed, mistakes, crashes = [], {}, {}
    for c in result.cases:
        if c.passed:
            continue
        crash = crash_of(part, c)
        failed.append({"case": c.index, "hidden": bool(c.hidden), "lost": round(part.weight * (1 - c.credit) / n, 4),
                       "why": why_failed(c, crash)})
        for name, possible in [*((m, False) for m in c.mistakes), *((m, True) for m in c.candidates)]:
            entry = mistakes.setdefault(name, {"id": name, "cases": [], "possible": True})
            entry["cases"].append(c.index)
            entry["possible"] = entry["possible"] and possible
        if crash is not None:
            key = tuple(crash.values())
            crashes.setdefault(key, {**crash, "cases": []})["cases"].append(c.index)
    return {"part": part.id, "failed": failed, "mistakes": list(mistakes.values()), "crashes": list(crashes.values())}


def placeholder(message):
    """The score-0 results written before any student code runs."""
    return {"score": 0.0, "output": message, "visibility": "visible", "stdout_visibility": "hidden",
            "execution_time": 0.0, "tests": []}


def add_extra_data(data, key, value):
    """Put ``value`` under results.json's ``extra_data`` (Gradescope stores it with the submission
    and shows it to staff only; JSONTestRunner leaves unknown top-level keys alone)."""
    extra = data.setdefault("extra_data", {})
    if not isinstance(extra, dict):
        raise ValueError("extra_data must be an object")
    extra[key] = value
    return data


def validate(data, table=None):
    """Raise ValueError unless ``data`` is a well-formed results.json for this table."""
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
        raise ValueError("results must be an object with a tests list")
    if not isinstance(data.get("score"), (int, float)):
        raise ValueError("score must be a number")
    if not isinstance(data.get("extra_data", {}), dict):
        raise ValueError("extra_data must be an object")
    for t in data["tests"]:
        for key in ("name", "score", "max_score", "status"):
            if key not in t:
                raise ValueError(f"test without {key}: {t.get('name')}")
        if not 0 <= t["score"] <= t["max_score"] + 1e-9:
            raise ValueError(f"score out of range in {t['name']}")
        if t["status"] not in ("passed", "failed"):
            raise ValueError(f"bad status in {t['name']}")
    if table is not None:
        numbers = [t.get("number") for t in data["tests"]]
        expected = [p.number for p in table.parts]
        if numbers != expected:
            raise ValueError(f"parts in results {numbers} differ from the table {expected}")
        if abs(data["score"] - sum(t["score"] for t in data["tests"])) > 1e-6:
            raise ValueError("score is not the sum of the test scores")
    json.dumps(data, allow_nan=False)
    return data


def write_atomic(path, data):
    """Write JSON via a temp file in the same folder and os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".results-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, allow_nan=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
