"""What a student reads about one part, rendered as Markdown (Gradescope) or plain text (the terminal, check.py,
PrairieLearn), line for line the same text; notebook.py renders the same items as HTML.

A checker returns the evidence of each case (checking/evidence.py: the problems, the credit earned, the
mistake recognised, general advice, a comparison row per wrong value, where the wrong values are,
explanations such as the output-size formula, and what the student's code printed); the grader keeps it
in a CaseResult and adds what only all parts together tell (diagnosis.py: a cause in another part, a
mistake decided by another case). ``part_items`` turns a part into items, then ``render`` formats them:

- the summary line (cases passed, points);
- the verdict (verdict.py): each diagnosis once, with the cases it explains ("cases 1-5, 7-22 (21 of 22):
  likely mistake: ..."), a crash once per place, the forward right where it is, what passed;
- the cases, grouped by diagnosis: the first case of a group in full (its configuration and status, the
  difficulty it meets alone where the part's plain case passed, its problems, the comparison table,
  explanations, a hint every failing case agrees with, what it printed), the others one line each
  (configuration and status; with no mistake named, where each is wrong). A file that could not be used and
  a function not implemented are said once in the verdict, no case listed.

- A visible case shows everything, its printed output included (capped, fenced, sanitised), passed or not
  (a case folded into one line shows it under that line).
- A hidden case shows what its part's ``hidden_feedback`` allows (``reveal``: course staff only, all):
  ``where`` (the default): its configuration (shapes and options), its status, the mistake recognised, a
  cause in another part, and where it fails: the exception's type and the student's file, function and
  line, which output or gradient is wrong, in shape or in values, and where in the array (evidence.py's
  ``located``); ``config``: configuration, status and the mistake; ``none``: only its status. Never a
  value, the exception's message or what the code printed. Grouping never shows it more (verdict.py).

Text that came out of student code is sanitised (compare.sanitize), and in Markdown put inside a
fence it cannot close (``fence``); every other line is escaped, so nothing a student writes becomes
markup.
"""

import re

from ..checking.compare import sanitize
from ..checking.text import one_line
from ..checking.mistakes import MISTAKES
from . import verdict
from .verdict import HIDDEN_KIND, hidden_level, shows  # noqa: F401 (hidden_level: part of this module's interface)

FOLDS_PER_GROUP = 5  # cases of a group listed one line each; the rest in one line (the verdict names them all)
PRINTED_PER_PART = 6000  # characters of printed output shown per part (each call is capped by the sandbox too)
TABLE_HEAD = ("value", "got", "expected", "max abs error", "max rel error", "first wrong index")
TABLE_KEYS = ("value", "got", "expected", "abs", "rel", "first")


# ----------------------------------------------------------------- student text
def fence(text, lang="text"):
    """A Markdown code fence around ``text`` that the text cannot close (longer than any run of
    backticks or tildes in it)."""
    longest = max((len(m) for m in re.findall(r"`+|~+", text)), default=0)
    mark = "`" * max(3, longest + 1)
    return f"{mark}{lang}\n{text}\n{mark}"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~{}])")
_MD_LINE_START = re.compile(r"^(\s*)([#+\-=>!])")
_MD_ORDERED = re.compile(r"^(\s*\d+)([.)])")


def md_escape(text, inline=False):
    """Plain text that renders as itself in Markdown: no emphasis, links, HTML, tables or headings
    (``inline``: inside a table cell, where a line start cannot open a block)."""
    out = []
    for line in str(text).split("\n"):
        line = _MD_SPECIAL.sub(r"\\\1", line)
        if not inline:
            line = _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), line)
            line = _MD_ORDERED.sub(lambda m: m.group(1) + "\\" + m.group(2), line)
        out.append(line)
    return "\n".join(out)


def indent_block(text, prefix="        | "):
    """Printed output in the terminal: every line behind a bar, so it cannot pass for the grader's."""
    return "\n".join(prefix + line for line in text.split("\n"))


# ----------------------------------------------------------------- what a case says
def status_of(case):
    if case.passed:
        return "passed"
    stages = [name for name, ok in case.stages if ok]
    if stages and case.credit > 0:
        return f"FAILED ({', '.join(stages)} passed: {case.credit:g} of the case's credit)"
    return "FAILED"


def summary_line(result):
    n = len(result.cases)
    partial = sum(1 for c in result.cases if not c.passed and c.credit > 0)
    extra = f", {partial} in part" if partial else ""
    return f"{result.passed} of {n} cases passed{extra} ({result.score:g} / {result.part.weight:g} points)"


def named(result, reveal=False):
    """The mistakes the student is told about in this part, candidates included (in order of first
    appearance)."""
    seen = []
    for c in result.cases:
        if shows(result.part, c, reveal) == "status":
            continue
        for m in [*c.mistakes, *c.candidates]:
            if m not in seen:
                seen.append(m)
    return seen


def head(part, c, reveal):
    """("head", text, status, case) of a case: its configuration (where it may show it) and its status."""
    level = shows(part, c, reveal)
    status = status_of(c)
    if level not in ("all", "status") and not c.passed:
        status += HIDDEN_KIND.get(c.kind, "")  # what kind of failure, never its text
    label = "" if level == "status" else f"{c.label}: "
    return "head", f"case {c.index}{' (hidden)' if c.hidden else ''}: {label}", status, c


def hints(part, c, agreed, said):
    """The general advice of a case in full that names no mistake: only advice every failing case agrees with
    (verdict.agreed_advice), each once per part."""
    if c.mistakes or c.candidates:
        return []
    out = []
    for a in c.advice:
        m = MISTAKES.get(a)
        if m is None:
            out.append(a)
        elif a in agreed and a not in said:
            said.add(a)
            out.append(m.line(part))
    return out


def case_items(part, c, reveal, said, budget, agreed=frozenset(), causes=True):
    """The items of one case shown in full: ("head", text, status, case), ("line", text), ("table", rows),
    ("printed", func, text). A hidden case shows what its level allows (module docstring). ``causes``: False
    where the verdict just said them (the case leads a group of a cause in another part)."""
    items = [head(part, c, reveal)]
    level = shows(part, c, reveal)
    cause = list(c.causes) if causes else []
    if level != "all":  # configuration and status; with "where", where it fails (no values)
        lines = [*cause, *c.located] if level == "where" and not c.passed else []
        return items + [("line", t) for t in lines]
    if not c.passed:
        items += [("line", t) for t in [*cause, *c.alone, *c.lines]]
        if c.rows:
            items.append(("table", c.rows))
        items += [("line", t) for t in [*c.info, *hints(part, c, agreed, said)]]
    else:
        items += [("line", t) for t in c.info]
    return items + printed_items(c, budget)


def printed_items(c, budget):
    """("printed", func, text) of what a visible case's calls printed, within what is left of the part's
    ``budget`` (a one-element list)."""
    items = []
    for func, text_ in c.printed:
        if budget[0] <= 0:
            items.append(("line", "(more printed output not shown)"))
            break
        shown = sanitize(text_.rstrip("\n"), min(budget[0], 2000))
        budget[0] -= len(shown)
        items.append(("printed", func, shown))
    return items


def part_items(result, reveal=False):
    """The items of a part: ("summary", text), the verdict's ("verdict", text) lines, then each group of cases
    listed (verdict.py): a heading ("group", text) where several groups are listed, its lead case in full
    (case_items), the others one line each ("fold", text, status, case) with what a visible one printed; then passed
    cases with printed output or notes."""
    part, total = result.part, len(result.cases)
    found = verdict.groups(result, reveal)
    items = [("summary", summary_line(result))] + [("verdict", t) for t in verdict.verdict(result, found, reveal)]
    listed = [g for g in found if not g.once and g.kind != "passed"]
    agreed, said, budget = verdict.agreed_advice(result, reveal), set(), [PRINTED_PER_PART]
    headed = sum(len(g.cases) > 1 for g in listed) > 1  # several groups of several cases: each says which
    for g in listed:
        items.append(("break",))  # the folded cases of the next group are a list of their own
        if headed and len(g.cases) > 1:
            items.append(("group", f"{verdict.which(g.indices, total)}: {verdict.title(g, part, reveal)}"))
        full = case_items(part, g.lead, reveal, said, budget, agreed, causes=g.kind != "cause")
        # a case with nothing to show but its heading, or hidden and alone in its group (the verdict said all it
        # may show), is one line too
        alone = len(full) == 1 or (len(g.cases) == 1 and shows(part, g.lead, reveal) != "all")
        if not alone:
            items += full
        rest = [c for c in g.cases if c is not g.lead or alone]
        quiet = [c for c in rest if not (c.printed and shows(part, c, reveal) == "all")]
        folded_away = quiet[FOLDS_PER_GROUP:] if len(quiet) > FOLDS_PER_GROUP + 1 else []
        for c in rest:
            if c in folded_away:
                continue
            _, label, status, _ = head(part, c, reveal)
            level = shows(part, c, reveal)
            if g.kind == "wrong" and level in ("all", "where") or g.kind == "mistake" and level == "where":
                status += "".join(f"; {line}" for line in verdict.where(c))  # where, never a value
            elif g.kind == "mistake" and level == "all":  # its own fact, where it differs
                own, lead = verdict.facts_of(c, "all"), verdict.facts_of(g.lead, "all")
                status += "".join(f"; {own[m]}" for m in c.mistakes if own.get(m) and own[m] != lead.get(m))
            items.append(("fold", label, status, c))
            if level == "all":  # what it printed, under its one line (a visible case shows it)
                items += printed_items(c, budget)
        if folded_away:  # the verdict lists every case of the group: one line for the ones not listed here
            hidden = " (hidden)" if all(c.hidden for c in folded_away) else ""
            items.append(("fold", f"{verdict.which([c.index for c in folded_away], total)}{hidden}",
                          ": FAILED in the same way", None))
    for c in result.cases:
        if c.passed and shows(part, c, reveal) == "all" and (c.printed or c.info):
            items += case_items(part, c, reveal, said, budget, agreed)
    return items


def reported_once(result, reveal=False):
    """[(what, detail)] of a part whose every failing case is said once for the part (a file that could not be
    used, a function not implemented: ("not implemented yet", function) or ("could not be used", the file's
    problem)), else None: the score table folds such parts into one line."""
    found = [g for g in verdict.groups(result, reveal) if g.kind != "passed"]
    if not found or not all(g.once for g in found):
        return None
    return [("not implemented yet", verdict.unimplemented(g.lead)) if g.kind == "unimplemented"
            else ("could not be used", verdict.words(g, result.part, reveal, set())[0].split("\n")[0])
            for g in found]


def once_lines(once):
    """The parts said once (reported_once) of a grading, {what: {detail: [part numbers]}}, in a line per kind:
    "not implemented yet: conv2d_forward (1.1, 1.2, 3.1), im2col (4.2)"; "could not be used: ... (1.1, 1.2)"."""
    out = []
    for what, details in once.items():
        listed = [f"{detail} ({', '.join(numbers)})" for detail, numbers in details.items()]
        out.append(f"{what}: " + ("; " if what == "could not be used" else ", ").join(listed))
    return out


# ----------------------------------------------------------------- rendering
def render(result, reveal=False, fmt="text"):
    """The feedback of a PartResult (see the module docstring); fmt: "md" or "text"."""
    items = part_items(result, reveal)
    return "\n\n".join(markdown(items)) if fmt == "md" else "\n".join(text(items))


def text(items):
    """Plain text: the summary, the verdict indented, each case's heading, its lines indented, printed output
    behind bars, a case of one line as its heading."""
    out = []
    for item in items:
        if item[0] == "break":  # a blank line before each group of cases
            out.append("")
            continue
        if item[0] in ("summary", "group", "note"):
            out.append(sanitize(item[1], 3000))
        elif item[0] == "verdict":
            out.append("  " + sanitize(item[1], 3000).replace("\n", "\n  "))
        elif item[0] == "head":
            out.append(item[1] + item[2])
        elif item[0] == "fold":
            out.append("  " + item[1] + item[2])
        elif item[0] == "line":
            out.append("    " + sanitize(item[1], 3000).replace("\n", "\n    "))
        elif item[0] == "table":
            out += ["    " + row for row in text_table(item[1])]
        else:
            out += [f"    your code printed ({item[1]}):", indent_block(item[2])]
    return out


BULLET = {"verdict": "- ", "line": "- ", "fold": "* "}  # a new marker starts a new list (CommonMark)
FOLDS = ("* ", "+ ")  # the folded cases of one group and of the next: two lists, not one


def markdown(items):
    """Markdown blocks: the summary in bold, the verdict and each case's one-line lines as lists, a case's
    heading with its status in bold when it failed, a line of several lines in a fence, the comparison table,
    printed output fenced, the cases of one line as a list of their own."""
    blocks, bullets, kind, folds = [], [], None, 0

    def flush():
        if bullets:
            blocks.append("\n".join(bullets))
            bullets.clear()

    for item in items:
        if item[0] == "break":
            folds += kind == "fold"
            continue
        if item[0] in BULLET and (item[0] == "fold" or "\n" not in item[1]):
            if kind != item[0]:
                flush()
            kind = item[0]
            text_ = md_escape(item[1] + item[2]) if item[0] == "fold" else emphasis(sanitize(item[1], 3000))
            bullets.append((FOLDS[folds % 2] if item[0] == "fold" else BULLET[item[0]]) + text_)
            continue
        flush()
        kind = None
        if item[0] == "verdict":  # its first line in the list, the rest (source code, say) fenced
            first, rest = item[1].split("\n", 1)
            blocks += [BULLET["verdict"] + emphasis(sanitize(first, 3000)), fence(sanitize(rest, 3000))]
        elif item[0] == "summary":
            blocks.append(f"**{md_escape(item[1])}**")
        elif item[0] == "group":
            blocks.append(f"**{md_escape(sanitize(item[1], 3000))}**")
        elif item[0] == "head":
            blocks.append(md_escape(item[1]) + (md_escape(item[2]) if item[2] == "passed" else strong(item[2])))
        elif item[0] in ("line", "note"):
            blocks.append(fence(sanitize(item[1], 3000)) if "\n" in item[1] else md_escape(item[1]))
        elif item[0] == "table":
            blocks.append(md_table(item[1]))
        else:
            blocks += [md_escape(f"your code printed ({item[1]}):"), fence(item[2])]
    flush()
    return blocks


def strong(status):
    return md_escape(status) if status == "passed" else f"**{md_escape(status)}**"


LABELS = ("likely mistake: ", "possible mistake: ")
TAG = re.compile(r" \[\w+\]")  # a mistake's name after its title, left out where room is short
WHICH = re.compile(r"^(cases? [\d, -]+ \((?:\d+ of \d+|all \d+)\)(?: \(hidden\))?:) ")


def emphasis(line):
    """The cases a verdict line speaks of in bold, and a mistake's label and title; the rest escaped."""
    m = WHICH.match(line)
    lead, line = (f"**{md_escape(m.group(1))}** ", line[m.end():]) if m else ("", line)
    if line.startswith(LABELS) and " [" in line:
        head_, rest = line.split(" [", 1)
        return f"{lead}**{md_escape(head_)}** {md_escape('[' + rest)}"
    return lead + md_escape(line)


def md_table(rows):
    head_ = "| " + " | ".join(TABLE_HEAD) + " |\n| --- | --- | --- | ---: | ---: | --- |"
    body = ["| " + " | ".join(md_escape(one_line(r[k], 200), inline=True) for k in TABLE_KEYS) + " |"
            for r in rows]
    return "\n".join([head_, *body])


def text_table(rows):
    """The comparison table in columns of plain text (the same cells as md_table)."""
    cells = [list(TABLE_HEAD)] + [[one_line(r[k], 200) for k in TABLE_KEYS] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(TABLE_HEAD))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in cells]


def first_problem(result, width=60):
    """One short line for the score table: the part's first failing group, the cases it explains and what is
    wrong with them (verdict.title, as far as its cases may show)."""
    found = [g for g in verdict.groups(result) if g.kind != "passed"]
    if not found:
        return ""
    g = found[0]
    where = f"{'case' if len(g.cases) == 1 else 'cases'} {verdict.span(g.indices)}"
    where = "every case" if len(g.cases) == len(result.cases) > 1 else where
    where += " (hidden)" if all(c.hidden for c in g.cases) else ""
    return shorten(f"{where}: " + TAG.sub("", verdict.title(g, result.part)), width)


def shorten(text_, width):
    text_ = " ".join(str(text_).split())
    return text_ if len(text_) <= width else text_[: width - 1].rstrip() + "…"


def overview(lines, results, fmt="md"):
    """The top-level summary of a grading: ``lines`` (plain text), then the mistakes named to the student, part
    by part (``results``: PartResults); fmt: "md" (Gradescope) or "text" (PrairieLearn), the same words."""
    esc = md_escape if fmt == "md" else (lambda s: sanitize(s, 3000))
    out = [esc(line) for line in lines]
    named_parts = [(r, named(r)) for r in results]
    listed = [f"- {esc(f'{r.part.number} {r.part.title}')}: "
              + "; ".join(esc(f"{MISTAKES[m].title} [{m}]" + possibly(r, m)) for m in names)
              for r, names in named_parts if names]
    if listed:
        head = "**Mistakes recognised**" if fmt == "md" else "Mistakes recognised"
        out.append(f"{head} (the feedback of each part says where and how to fix them):\n" + "\n".join(listed))
    return "\n\n".join(out)


def possibly(result, name):
    """" (possibly)" for a mistake that the part's cases only name as one of several candidates."""
    return "" if any(name in c.mistakes for c in result.cases) else " (possibly)"
