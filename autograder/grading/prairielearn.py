"""PrairieLearn's results.json from a grading: the same parts, points and feedback as Gradescope's.

PrairieLearn's external grader (docs/PRAIRIELEARN.md) reads /grade/results/results.json: ``score`` in [0, 1]
(the one mandatory field), ``message`` and ``output`` for the whole submission, and ``tests``, one per part:
``name``, ``description``, ``points``, ``max_points``, ``message`` (one line: what went wrong first) and
``output`` (the part's feedback). The feedback is the same as Gradescope's, rendered as plain text (PrairieLearn
shows it preformatted; Gradescope gets the same lines as Markdown, feedback.py), hidden cases as their part's
``hidden_feedback`` says. A submission of which nothing can be graded (no graded file found, none that parses or
passes the static checks) is ``gradable: false`` with the reason in ``format_errors``: PrairieLearn then awards
and takes no points and the student keeps the attempt.

Everything is built from the grading's own data: ``data`` (the Gradescope results, for the points and the
tests' order), ``parts`` ({part id: PartResult}, for the feedback), ``summary`` (the summary's lines). Nothing
here grades.
"""

import json

from . import feedback

MAX_BYTES = 1024 * 1024  # PrairieLearn's grader host fails a job whose results.json is larger (1 MB)
OUTPUT_CHARS = 60_000  # the feedback of one part at most (a few parts of printed output at the cap stay far below)


def results(data, parts, summary=(), ungradable=None, table=None):
    """The results.json of a grading (see the module docstring); ``table`` names the parts' files."""
    overview = feedback.overview(list(summary), [r for r in parts.values() if hasattr(r, "cases")], fmt="text")
    if ungradable:
        return not_gradable(f"Nothing was graded and no attempt was used: {ungradable}", overview)
    by_number = {p.number: p for p in (table.parts if table is not None else [])}
    tests = []
    for t in data["tests"]:
        part = by_number.get(t.get("number"))
        result = parts.get(part.id) if part is not None else None
        output = result.feedback(fmt="text") if result is not None else t.get("output", "")
        if t["status"] == "passed":
            message = f"passed: {feedback.summary_line(result)}" if result is not None else "passed"
        else:
            message = (result.first_problem(width=200) if result is not None else "") or "failed"
        test = {"name": t["name"], "points": t["score"], "max_points": t["max_score"], "message": message,
                "output": capped(output)}
        if part is not None:
            test["description"] = f"{part.module}.py"
        tests.append(test)
    possible = sum(t["max_points"] for t in tests)
    score = data["score"] / possible if possible else 0.0
    return fit({"gradable": True, "score": min(max(score, 0.0), 1.0),
                "message": f"Total: {data['score']:g} / {possible:g}", "output": overview, "tests": tests})


def not_gradable(message, output=""):
    """The results of a submission that was not graded: no points awarded or taken, the attempt kept."""
    return {"gradable": False, "message": message, "format_errors": [message], "output": output or message}


def capped(text, limit=OUTPUT_CHARS):
    return text if len(text) <= limit else text[:limit] + f"\n... [{len(text) - limit} more characters cut]"


def fit(data):
    """Keep results.json under PrairieLearn's 1 MB: every output longer than a limit is cut to it, the limit
    halved until the file fits (never the points)."""
    while len(json.dumps(data).encode("utf-8")) > MAX_BYTES - 4096:
        limit = max([len(t.get("output", "")) for t in data.get("tests", [])] + [len(data.get("output", ""))]) // 2
        if limit < 1000:
            break
        for t in [*data.get("tests", []), data]:
            if len(t.get("output", "")) > limit:
                t["output"] = capped(t["output"], limit)
    return data


def validate(data):
    """Raise ValueError unless ``data`` is a results.json PrairieLearn accepts (tests/ holds its JSON schema)."""
    if not isinstance(data, dict):
        raise ValueError("results must be an object")
    errors = data.get("format_errors", [])
    if not (isinstance(errors, str) or isinstance(errors, list) and all(isinstance(e, str) for e in errors)):
        raise ValueError("format_errors must be a string or a list of strings")
    if data.get("gradable", True) is False:
        if not (data.get("format_errors") or data.get("message")):
            raise ValueError("a submission that is not gradable needs a message")
    elif not isinstance(data.get("score"), (int, float)) or not 0 <= data["score"] <= 1:
        raise ValueError("score must be a number in [0, 1]")
    for t in data.get("tests", []):
        if not isinstance(t.get("name"), str) or not 0 <= t.get("points", -1) <= t.get("max_points", -1) + 1e-9:
            raise ValueError(f"bad test: {t.get('name')}")
    if len(json.dumps(data, allow_nan=False).encode("utf-8")) > MAX_BYTES:
        raise ValueError("results.json over 1 MB")
    return data
