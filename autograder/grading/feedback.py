"""What a student reads about one part: the evidence of each case, rendered as Markdown (Gradescope)
or plain text (the terminal and check.py), line for line the same text.

A checker returns the evidence of each case (checking/evidence.py: the problems, the credit earned, the
mistake recognised, general advice, a comparison row per wrong value, where the wrong values are,
explanations such as the output-size formula, and what the student's code printed); the grader keeps it
in a CaseResult and adds what only all parts together tell (diagnosis.py: a cause in another part, a
mistake decided by another case). ``render`` turns the cases of a part into items (a heading, lines, the
comparison table, printed output), then formats them; the two formats differ only in markup.

- A visible case shows everything, its printed output included (capped, fenced, sanitised), passed or not.
- A hidden case shows what its part's ``hidden_feedback`` allows (``reveal``: course staff only, all):
  ``where`` (the default): its configuration (shapes and options), its status, the mistake recognised, a
  cause in another part, and where it fails: the exception's type and the student's file, function and
  line, which output or gradient is wrong, in shape or in values, and where in the array (evidence.py's
  ``located``); ``config``: configuration, status and the mistake; ``none``: only its status. Never a
  value, the exception's message or what the code printed.
- A mistake's paragraph is shown once per part; a later case names it and refers to the first.

Text that came out of student code is sanitised (compare.sanitize), and in Markdown put inside a
fence it cannot close (``fence``); every other line is escaped, so nothing a student writes becomes
markup.
"""

import re

from ..checking.compare import sanitize
from ..checking.text import one_line
from ..checking.mistakes import MISTAKES

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


def hidden_level(part):
    """What the part's hidden cases show: "where", "config" or "none" (the table's ``hidden_feedback``)."""
    return getattr(part, "hidden_feedback", "where")


def shows_config(part):
    return hidden_level(part) != "none"


def named(result, reveal=False):
    """The mistakes the student is told about in this part, candidates included (in order of first
    appearance)."""
    seen = []
    for c in result.cases:
        if c.hidden and not reveal and not shows_config(result.part):
            continue
        for m in [*c.mistakes, *c.candidates]:
            if m not in seen:
                seen.append(m)
    return seen


def mistake_lines(part, case, said):
    """The lines naming the case's mistake (or its candidates, or else its general advice). ``said``: {name:
    case index} of the paragraphs shown already in this part: a later case refers to the first."""
    def paragraph(name, label):
        m = MISTAKES[name]
        if name in said:
            return f"{label}: {m.title} [{name}]: the same mistake as case {said[name]}"
        said[name] = case.index
        return m.line(part, label)

    out = [paragraph(n, "likely mistake") for n in case.mistakes if n in MISTAKES]
    for _, others, where in (n for n in getattr(case, "notes", []) if n[0] == "decided"):
        titles = " or ".join(f"'{MISTAKES[o].title}'" for o in others if o in MISTAKES)
        out.append(f"(this case's values also fit {titles}; {where} fits only the one above)")
    candidates = [n for n in case.candidates if n in MISTAKES]
    if candidates:
        out.append(f"these values fit {len(candidates)} known mistakes and no case tells them apart; "
                   "one of them is likely:")
        out += [paragraph(n, "possible mistake") for n in candidates]
    if not out:
        for a in case.advice:
            m = MISTAKES.get(a)
            if m is None:
                out.append(a)
            elif a in said:
                out.append(f"hint (general advice, not a diagnosis): the same hint as case {said[a]}")
            else:
                said[a] = case.index
                out.append(m.line(part))
    return out


def said_before(case, said):
    """A case's lines, or a reference to an earlier case of the part with the same problem of its file (a
    file that could not be used or imported says the same on every case)."""
    if case.kind not in ("missing", "import") or not case.lines:
        return list(case.lines)
    key = ("file",) + tuple(case.lines)
    if key in said:
        return [f"the same problem as case {said[key]}{HIDDEN_KIND[case.kind]}"]
    said[key] = case.index
    return list(case.lines)


HIDDEN_KIND = {"error": " (the code raised an exception)", "timeout": " (a call timed out)",
               "crash": " (the worker process died)", "memory": " (the code ran out of memory)",
               "import": " (the module could not be imported)", "missing": " (the file could not be used)",
               "skipped": " (not run)", "machine": " (the grading machine failed, not your code)"}


def case_items(part, c, reveal, said, budget):
    """The items of one case: ("head", text, status), ("line", text), ("table", rows), ("printed", func, text)."""
    status = status_of(c)
    full = reveal or not c.hidden
    level = hidden_level(part)
    if not full and level == "none":
        return [("head", f"case {c.index} (hidden): ", status)]
    if not full and not c.passed:
        status += HIDDEN_KIND.get(c.kind, "")  # what kind of failure, never its text
    items = [("head", f"case {c.index}{' (hidden)' if c.hidden else ''}: {c.label}: ", status)]
    if not full:  # configuration, status, the mistake recognised; with "where", where it fails (no values)
        if c.passed:
            return items
        lines = [*c.causes, *c.located] if level == "where" else []
        return items + [("line", t) for t in lines + mistake_lines(part, c, said)]
    if not c.passed:
        items += [("line", t) for t in [*c.causes, *c.alone, *said_before(c, said)]]
        if c.rows:
            items.append(("table", c.rows))
        items += [("line", t) for t in [*c.info, *mistake_lines(part, c, said)]]
    else:
        items += [("line", t) for t in c.info]
    for func, text in c.printed:
        if budget[0] <= 0:
            items.append(("line", "(more printed output not shown)"))
            break
        shown = sanitize(text.rstrip("\n"), min(budget[0], 2000))
        budget[0] -= len(shown)
        items.append(("printed", func, shown))
    return items


# ----------------------------------------------------------------- rendering
def render(result, reveal=False, fmt="text"):
    """The feedback of a PartResult (see the module docstring); fmt: "md" or "text"."""
    md = fmt == "md"
    said, budget = {}, [PRINTED_PER_PART]
    out = [f"**{md_escape(summary_line(result))}**" if md else summary_line(result)]
    for c in result.cases:
        items = case_items(result.part, c, reveal, said, budget)
        out += markdown(items, c.passed) if md else text(items)
    return ("\n\n" if md else "\n").join(out)


def text(items):
    """Plain text: a case's heading, then its lines indented, printed output behind bars."""
    out = []
    for item in items:
        if item[0] == "head":
            out.append(item[1] + item[2])
        elif item[0] == "line":
            out.append("    " + sanitize(item[1], 3000).replace("\n", "\n    "))
        elif item[0] == "table":
            out += ["    " + row for row in text_table(item[1])]
        else:
            out += [f"    your code printed ({item[1]}):", indent_block(item[2])]
    return out


def markdown(items, passed):
    """Markdown blocks: the heading (status in bold when it failed), one-line lines as a list, a line of several
    lines in a fence, the comparison table, printed output fenced."""
    blocks, bullets = [], []

    def flush():
        if bullets:
            blocks.append("\n".join(bullets))
            bullets.clear()

    for item in items:
        if item[0] == "line" and "\n" not in item[1]:
            bullets.append("- " + emphasis(sanitize(item[1], 3000)))
            continue
        flush()
        if item[0] == "head":
            blocks.append(md_escape(item[1]) + (md_escape(item[2]) if passed else f"**{md_escape(item[2])}**"))
        elif item[0] == "line":
            blocks.append(fence(sanitize(item[1], 3000)))
        elif item[0] == "table":
            blocks.append(md_table(item[1]))
        else:
            blocks += [md_escape(f"your code printed ({item[1]}):"), fence(item[2])]
    flush()
    return blocks


LABELS = ("likely mistake: ", "possible mistake: ")


def emphasis(line):
    """A mistake's label and title in bold; the rest escaped."""
    if line.startswith(LABELS) and " [" in line:
        head, rest = line.split(" [", 1)
        return f"**{md_escape(head)}** {md_escape('[' + rest)}"
    return md_escape(line)


def md_table(rows):
    head = "| " + " | ".join(TABLE_HEAD) + " |\n| --- | --- | --- | ---: | ---: | --- |"
    body = ["| " + " | ".join(md_escape(one_line(r[k], 200), inline=True) for k in TABLE_KEYS) + " |"
            for r in rows]
    return "\n".join([head, *body])


def text_table(rows):
    """The comparison table in columns of plain text (the same cells as md_table)."""
    cells = [list(TABLE_HEAD)] + [[one_line(r[k], 200) for k in TABLE_KEYS] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(TABLE_HEAD))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in cells]


def first_problem(result, width=60):
    """One short line for the score table: the first failing case and what is wrong with it."""
    for c in result.cases:
        if c.passed:
            continue
        names = [MISTAKES[m].title for m in [*c.mistakes, *c.candidates] if m in MISTAKES]
        level = hidden_level(result.part)
        if c.hidden:
            what = ""
            if c.causes and level == "where":
                what = f": {c.causes[0]}"
            elif names and level != "none":
                what = f": {' or '.join(names)}" if c.candidates else f": {names[0]}"
            elif c.located and level == "where":
                what = f": {c.located[0]}"
            return shorten(f"case {c.index} (hidden) failed{what}", width)
        if c.causes:
            return shorten(f"case {c.index}: {c.causes[0]}", width)
        if names:
            return shorten(f"case {c.index}: {' or '.join(names) if c.candidates else names[0]}", width)
        text_ = c.lines[0] if c.lines else "failed"
        return shorten(f"case {c.index}: {sanitize(text_, 500)}", width)
    return ""


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
