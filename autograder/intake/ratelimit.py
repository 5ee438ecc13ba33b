"""Rate limiting, as course staff choose it: at most N fully graded submissions in any H hours.

Off unless the case table says ``rate_limit: {submissions: N, hours: H}``. Only the Gradescope entry point
applies it (``python -m autograder gradescope``), from ``/autograder/submission_metadata.json``:

    "created_at": "...",                          the current submission's time
    "previous_submissions": [{"submission_time": "...", "score": ..., "results": {...}}, ...]

Times come from that file only, never from the clock (Gradescope re-runs old submissions on a regrade, and
the clock would then count the wrong window). The window is the H hours before the current submission's
``created_at``; the earlier submissions in it count when they were fully graded (a result this module
held back says so in its ``extra_data``, so it does not count). With N or more of them, this submission is
not graded: its results are the latest earlier submission's, with a message on top that says why and when
the next full grading is possible (as Gradescope's documentation suggests: the student keeps the last
valid score). Anything unreadable (no metadata, no time, no usable earlier result) grades in full instead,
with a note: a student is never scored on data the grader could not read.
"""

import copy
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

MARK = "rate_limited"  # extra_data key of a result held back by the limit
SEPARATOR = "\n\n---\n\n"  # between the message and the kept result's own output


@dataclass
class Decision:
    limited: bool
    note: str = ""  # why the limit could not be applied (graded in full), or ""
    results: dict = None  # the held-back results (limited only)


def parse_time(text):
    """An aware datetime from Gradescope's ISO 8601 times (``2018-07-01T14:22:32.365935-07:00``; also a
    trailing Z, a space for the T, more than 6 digits of fraction); None when it is not one. A time without
    an offset is read as UTC."""
    if not isinstance(text, str):
        return None
    m = re.fullmatch(r"\s*(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?\s*",
                     text)
    if not m:
        return None
    day, clock, frac, zone = m.groups()
    stamp = f"{day}T{clock}" + (f".{frac[:6].ljust(6, '0')}" if frac else "")
    if zone in (None, "Z"):
        zone = "+00:00"
    elif ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    try:
        return datetime.fromisoformat(stamp + zone)
    except ValueError:
        return None


def shown(when):
    """A time as the student reads it, in the offset of their submission's time."""
    offset = when.strftime("%z")
    return f"{when:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:]})"


def held_back(results):
    return isinstance(results, dict) and isinstance(results.get("extra_data"), dict) and \
        bool(results["extra_data"].get(MARK))


def previous_of(metadata):
    """[(time, results or None)] of the earlier submissions that have a readable time, oldest first."""
    out = []
    for entry in metadata.get("previous_submissions") or []:
        if not isinstance(entry, dict):
            continue
        when = parse_time(entry.get("submission_time") or entry.get("created_at"))
        if when is not None:
            results = entry.get("results")
            out.append((when, results if isinstance(results, dict) else None))
    return sorted(out, key=lambda e: e[0])


def decide(rate_limit, metadata, validate):
    """The Decision for the current submission. ``validate(results)`` raises ValueError unless an earlier
    result can stand as this one's (it must fit the current table)."""
    if not rate_limit:
        return Decision(False)
    limit, hours = int(rate_limit["submissions"]), float(rate_limit["hours"])
    if not isinstance(metadata, dict):
        return Decision(False, "rate limit not applied: the submission metadata could not be read")
    now = parse_time(metadata.get("created_at"))
    if now is None:
        return Decision(False, "rate limit not applied: the submission's created_at is missing or unreadable")
    window = timedelta(hours=hours)
    earlier = [(t, r) for t, r in previous_of(metadata) if t <= now]
    graded = [t for t, r in earlier if now - window < t and not held_back(r)]
    if len(graded) < limit:
        return Decision(False)
    # The next full grading: once enough of the graded ones have left the window.
    next_time = graded[len(graded) - limit] + window
    kept = None
    for when, results in reversed(earlier):  # the latest earlier result that fits the table
        if results is None:
            continue
        try:
            validate(results)
        except (ValueError, TypeError, KeyError):
            continue
        kept = (when, results)
        break
    if kept is None:
        return Decision(False, "rate limit not applied: no earlier result could be kept for this submission")
    when, results = kept
    data = copy.deepcopy(results)
    if held_back(data):  # itself held back: keep what it kept (its time, its output without the message)
        when = parse_time(str(data["extra_data"][MARK].get("kept_from"))) or when
        data["output"] = str(data.get("output", "")).partition(SEPARATOR)[2]
    score = data.get("score", 0)
    every = f"{hours:g} hours" if hours != 24 else "24 hours"
    message = (f"**This submission was not graded: the course allows {limit} fully graded submission"
               f"{'s' if limit != 1 else ''} in any {every}**, and you already had {len(graded)} in the "
               f"{every} before this one. Your score stays **{score:g}**, the result of your submission of "
               f"{shown(when.astimezone(now.tzinfo))}; its feedback is below. Your next submission is graded in "
               f"full from **{shown(next_time.astimezone(now.tzinfo))}** on.")
    data["output"] = message + (SEPARATOR + data["output"] if data.get("output") else "")
    data["output_format"] = "md" if data.get("output_format") in (None, "md") else data["output_format"]
    if data["output_format"] != "md":
        data["output"] = data["output"].replace("**", "")
    extra = data.get("extra_data") if isinstance(data.get("extra_data"), dict) else {}
    data["extra_data"] = {**extra, MARK: {
        "submissions": limit, "hours": hours, "graded_in_window": len(graded),
        "kept_from": when.isoformat(), "next_full_grading": next_time.isoformat()}}
    return Decision(True, results=data)


def read_metadata(path):
    """The parsed submission_metadata.json, or None when it is missing or not JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
