"""What a part's feedback says first: its cases grouped by what went wrong, each group said once.

A failing case's diagnosis is the first of these that it has:

- ``file``: its file could not be used (a syntax error, a refused import) or did not import (it raised at
  module level, as an import of another file that could not be used does);
- ``unimplemented``: the function it called raised NotImplementedError;
- ``cause``: a cause in another part (diagnosis.py), with the mistake recognised if there is one;
- ``mistake`` / ``candidates``: the known mistake its value matches, or the mistakes no case tells apart;
- ``raised``: the exception it raised, by type and place (never its message: cases that raise the same
  exception at the same line with other messages are one crash);
- ``stopped``: a time-out, the memory running out, the worker dying, with where it stopped when known;
- ``wrong``: wrong values that no known mistake explains, grouped by the first value wrong and how (its
  shape, dtype or values), each case saying where in its own line, or a case on its own;
- ``skipped`` (not run), ``hidden`` (a hidden case that may show its status only, or no diagnosis);
- ``passed``.

Cases of one diagnosis are a ``Group``; ``groups`` orders them most telling first (what must be fixed
before anything else runs, a named mistake, a cause elsewhere, a crash, then the rest), and ``verdict``
says each once with the cases it explains ("cases 1-5, 7-22 (21 of 22): likely mistake: ..."), then which
forward stages were right and which cases passed. feedback.py shows a group's first case in full and the
others one line each; a file that could not be used and a function not implemented are said once, no case
listed.

A hidden case is grouped by what its part's ``hidden_feedback`` lets it show (``shows``), never more: a
case that may show its status only is never grouped by its diagnosis; one that may show its configuration
and mistake is grouped by the mistake alone. A group's words come from its first visible case where it has
one, else from what its first hidden case may show. So folding a hidden case into a group tells nothing of
it that its own lines would not.

Nothing here formats: lines of plain text, which feedback.py renders as Markdown, text or HTML.
"""

import re
from dataclasses import dataclass

from ..checking.mistakes import MISTAKES

ORDER = ("file", "unimplemented", "cause", "mistake", "candidates", "raised", "stopped", "wrong", "skipped",
         "machine", "hidden", "passed")
ONCE = ("file", "unimplemented")  # said once for the part, no case listed
HIDDEN_KIND = {"error": " (the code raised an exception)", "timeout": " (a call timed out)",
               "crash": " (the worker process died)", "memory": " (the code ran out of memory)",
               "import": " (the module could not be imported)", "missing": " (the file could not be used)",
               "skipped": " (not run)", "deadline": " (not run)",
               "machine": " (the grading machine failed, not your code)"}
UNIMPLEMENTED = re.compile(r"^(\w+) is not implemented yet")
RAISED = re.compile(r"^\S+ (raised |ran out of memory)")
NOT_IMPORTED = re.compile(r"^\S+ raised (ModuleNotFoundError|ImportError|SyntaxError) at .* in <module>$")


def hidden_level(part):
    """What the part's hidden cases show: "where", "config" or "none" (the table's ``hidden_feedback``)."""
    return getattr(part, "hidden_feedback", "where")


def shows(part, case, reveal=False):
    """What the student may read of ``case``: "all" (a visible case; every case with ``reveal``, staff only),
    else its part's hidden level: "where", "config" or "status"."""
    if reveal or not case.hidden:
        return "all"
    level = hidden_level(part)
    return "status" if level == "none" else level


@dataclass
class Group:
    kind: str  # one of ORDER
    key: tuple
    cases: list  # CaseResults, in index order

    @property
    def lead(self):
        """The case the group's words come from (and that feedback.py shows in full): its first visible one that
        meets a difficulty alone (it says which: the part's plain case passed), else its first visible one."""
        visible = [c for c in self.cases if not c.hidden]
        return next((c for c in visible if c.alone), visible[0] if visible else self.cases[0])

    @property
    def indices(self):
        return [c.index for c in self.cases]

    @property
    def once(self):
        return self.kind in ONCE


def unimplemented(case):
    """The function whose NotImplementedError failed the case, from its located line, or None."""
    m = next((UNIMPLEMENTED.match(line) for line in case.located if UNIMPLEMENTED.match(line)), None)
    return m.group(1) if m else None


def diagnosis(part, case, reveal=False):
    """(kind, key) of a case: what it is grouped by, from nothing but what it may show (module docstring)."""
    level = shows(part, case, reveal)
    if case.passed:
        return "passed", ()
    if level == "status":
        return "hidden", ("",)
    if case.kind == "machine":  # the grading machine failed it (retry.py): nothing about the student's code
        return "machine", ()
    if case.kind in ("missing", "import"):
        return "file", (case.kind,)
    imported = next((line for line in case.located if NOT_IMPORTED.match(line)), None)
    if imported and level in ("all", "where"):  # the file raised on import: every call fails the same way
        return "file", (imported,)
    if level in ("all", "where"):
        func = unimplemented(case)
        if func:
            return "unimplemented", (func,)
        if case.causes:
            return "cause", (tuple(case.causes), tuple(case.mistakes), tuple(case.candidates))
    if case.mistakes:
        return "mistake", tuple(case.mistakes)
    if case.candidates:
        return "candidates", tuple(sorted(case.candidates))
    if level == "config":
        return "hidden", (HIDDEN_KIND.get(case.kind, ""),)
    raised = next((line for line in case.located if RAISED.match(line)), None)
    if case.kind == "error" and raised:
        return "raised", (raised,)
    if case.kind in ("timeout", "memory", "crash", "protocol"):
        return "stopped", (case.kind, tuple(case.located))
    if case.kind in ("skipped", "deadline"):
        return "skipped", ()
    if case.located:
        return "wrong", (first_wrong(case.located),)
    return "wrong", ("own", case.index)


GIST = re.compile(r"^(\S+): (wrong shape|wrong dtype|wrong in|contains NaN|expected)")


def first_wrong(located):
    """What is wrong first in a case's located lines, without where: "dx: wrong in", "out: wrong shape", or the
    line itself ("conv2d_forward did not return (out, cache)"). Cases that fail the same way first are one
    group, each said where it is wrong in its own line."""
    for line in located:
        if not line.startswith("right: "):
            m = GIST.match(line)
            return f"{m.group(1)}: {m.group(2)}" if m else line
    return located[0]


def what_first(group):
    """What a ``wrong`` group's cases get wrong first: the line itself where they all say the same, else what is
    wrong without where ("dx: wrong values, in other places case by case"), with the values right and wrong where
    every case says the same."""
    firsts = {where(c)[0] if where(c) else "" for c in group.cases}
    right = {next((line for line in c.located if line.startswith("right: ")), "") for c in group.cases}
    right = list(right) if len(right) == 1 and "" not in right else []
    if len(firsts) == 1:
        head = firsts.pop()
    else:
        name, _, how = group.key[0].partition(": ")
        head = f"{name}: {PHRASES.get(how, how)}, in other places case by case" if how else group.key[0]
    return head + (f" ({right[0]})" if right else "")


PHRASES = {"wrong in": "wrong values", "wrong shape": "a wrong shape", "wrong dtype": "a wrong dtype",
           "contains NaN": "NaN or inf", "expected": "not what was expected"}


def where(case):
    """A case's located lines but the one naming the right and wrong values: where it is wrong (no values)."""
    return [line for line in case.located if not line.startswith("right: ")]


def groups(result, reveal=False):
    """The part's cases as Groups, most telling first: what keeps anything from running, then every group that
    names a mistake (a cause elsewhere with its mistake included), then the rest in ORDER, each by its first case."""
    found = {}
    for c in result.cases:
        kind, key = diagnosis(result.part, c, reveal)
        found.setdefault((kind, key), Group(kind, key, [])).cases.append(c)

    def rank(g):
        names = g.kind in ("mistake", "candidates") or g.kind == "cause" and any(g.key[1:])
        return (0 if g.once else 1 if names else 2, ORDER.index(g.kind), g.indices[0])

    return sorted(found.values(), key=rank)


def span(indices):
    """"1-5, 7, 9-22" of case indices."""
    out, run = [], []
    for i in sorted(indices):
        if run and i == run[-1] + 1:
            run.append(i)
            continue
        if run:
            out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [i]
    if run:
        out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ", ".join(out)


def which(indices, total):
    """"cases 1-5, 7-22 (21 of 22)", "case 3 (1 of 22)", "cases 1-22 (all 22)"."""
    word = "case" if len(indices) == 1 else "cases"
    count = f"all {total}" if len(indices) == total and total > 1 else f"{len(indices)} of {total}"
    return f"{word} {span(indices)} ({count})"


# ----------------------------------------------------------------- the words of a group
def paragraph(part, name, label, said, facts):
    """[lines] of a mistake: its paragraph the first time in the part, then its title only. Where the case says
    what its value is in its own numbers (``facts``: the evidence's "said", a structural finding such as "dx is
    the expected value times 0.5 = 1/N"), that line names it and the paragraph, which speaks of it, follows."""
    m = MISTAKES[name]
    fact = facts.get(name)
    if name in said:
        return [f"{label}: {m.title} [{name}]" + (f": {fact}" if fact else "") + " (as above)"]
    said.add(name)
    if fact:
        return [f"{label}: {m.title} [{name}]: {fact}", m.text_for(part)]
    return [m.line(part, label)]


def mistake_words(part, mistakes, candidates, said, facts=None):
    facts = facts or {}
    out = [line for n in mistakes if n in MISTAKES for line in paragraph(part, n, "likely mistake", said, facts)]
    known = [n for n in candidates if n in MISTAKES]
    if known:
        out.append(f"these values fit {len(known)} known mistakes and no case tells them apart; one of them is "
                   "likely:")
        out += [line for n in known for line in paragraph(part, n, "possible mistake", said, facts)]
    return out


def facts_of(case, level):
    """What a visible case's evidence says its value is, by mistake (structural findings carry it); a hidden case
    says its own where it may (its located lines), never here."""
    said = case.evidence.get("said") if level == "all" and isinstance(case.evidence, dict) else None
    return {k: v for k, v in (said or {}).items() if isinstance(k, str) and isinstance(v, str)}


def decided(group, part, reveal):
    """The notes of the group's cases whose candidates another case decided: "(the values of cases 1, 3 also
    fit 'X'; case 2 fits only the one above)"."""
    notes = {}
    for c in group.cases:
        if shows(part, c, reveal) == "status":
            continue
        for _, others, where in (n for n in getattr(c, "notes", []) if n[0] == "decided"):
            notes.setdefault((tuple(others), where), []).append(c.index)
    out = []
    for (others, where), indices in notes.items():
        titles = " or ".join(f"'{MISTAKES[o].title}'" for o in others if o in MISTAKES)
        cases = f"case {indices[0]}'s values" if len(indices) == 1 else f"the values of cases {span(indices)}"
        out.append(f"({cases} also fit {titles}; {where} fits only the one above)")
    return out


def words(group, part, reveal, said):
    """The lines that say what went wrong in the group: from its lead's evidence, as far as the lead may show."""
    c, kind = group.lead, group.kind
    level = shows(part, c, reveal)
    if kind == "file":
        if level == "all" and c.lines:
            return list(c.lines)
        return [group.key[0] if NOT_IMPORTED.match(group.key[0]) else HIDDEN_KIND[c.kind].strip(" ()")]
    if kind == "unimplemented":
        own = [line for line in c.lines if "not implemented yet" in line] if level == "all" else []
        return [own[0] if own else next(line for line in c.located if UNIMPLEMENTED.match(line))]
    if kind == "cause":  # the mistake first (what is wrong here), then where to start (a part it builds on)
        return mistake_words(part, c.mistakes, c.candidates, said, facts_of(c, level)) + list(c.causes)
    if kind in ("mistake", "candidates"):
        return mistake_words(part, c.mistakes, c.candidates, said, facts_of(c, level))
    if kind == "raised":
        return [group.key[0]]
    if kind == "stopped":
        said_ = c.lines[:1] if level == "all" else [HIDDEN_KIND.get(c.kind, " (failed)").strip(" ()")]
        return ["; ".join(said_ + [line for line in c.located if line not in said_])]
    if kind == "skipped":
        return [c.lines[0] if level == "all" and c.lines else "not run"]
    if kind == "machine":
        return [c.lines[0] if c.lines else HIDDEN_KIND["machine"].strip(" ()")]
    if kind == "hidden":
        return ["FAILED" + group.key[0]]
    if kind == "wrong":
        if c.located and len(group.cases) > 1:
            return [f"{what_first(group)}: no known mistake fits"]
        if c.located:
            return ["; ".join(c.located)]
        return [c.lines[0] if level == "all" and c.lines else "FAILED"]
    return []


def title(group, part, reveal=False):
    """A group's name in a few words (the score table's first problem, a group's heading): the mistake's title
    (with its name), else the group's first line."""
    c, kind = group.lead, group.kind
    names = [f"{MISTAKES[m].title} [{m}]" for m in (c.mistakes or c.candidates) if m in MISTAKES]
    if kind in ("mistake", "candidates") and names:
        return " or ".join(names)
    if kind == "wrong" and len(group.cases) > 1:
        return f"{what_first(group)}: no known mistake fits"
    return words(group, part, reveal, set())[0]


def verdict(result, found, reveal=False):
    """The verdict's lines: each failing group once with the cases it explains, the forward right where it is
    (its share earned), what passed."""
    part, total, said, out = result.part, len(result.cases), set(), []
    for g in found:
        if g.kind == "passed":
            continue
        lines = words(g, part, reveal, said)
        hidden = " (hidden)" if all(c.hidden for c in g.cases) else ""
        out.append(f"{which(g.indices, total)}{hidden}: {lines[0]}")
        out += lines[1:] + (decided(g, part, reveal) if g.kind in ("mistake", "candidates", "cause") else [])
    forward = [c.index for c in result.cases if not c.passed and ("forward", True) in c.stages]
    if forward:
        out.append(f"the forward is right on {which(forward, total)}, which earns its share of those cases")
    passed = [c.index for c in result.cases if c.passed]
    if passed and len(passed) < total:
        out.append(f"passed: {which(passed, total)}")
    return out


def agreed_advice(result, reveal=False):
    """The general advice the part's cases agree with: given on every failing case whose values were judged
    (among those the student reads in full: whether a hidden case got it depends on where it is wrong), so no
    failing case contradicts it (a "stride > 1" hint never where a stride-1 case fails too)."""
    judged = [c for c in result.cases if not c.passed and c.kind == "wrong" and shows(result.part, c, reveal) == "all"]
    if not judged:
        return set()
    return set.intersection(*(set(c.advice) for c in judged))
