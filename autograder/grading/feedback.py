"""What a student reads about one part: the evidence of each case, rendered as Markdown (Gradescope)
or plain text (the terminal and check.py).

A checker returns the evidence of each case (checking/evidence.py: the problems, the credit earned, the
mistake recognised, general advice, a comparison row per wrong value, explanations such as the
output-size formula, and what the student's code printed); the grader keeps it in a CaseResult.
``render`` turns the cases of a part into text:

- a visible case shows everything, its printed output included (capped, fenced, sanitised), passed
  or not;
- a hidden case shows its configuration (shapes and options, never values), its status and the name
  of the mistake recognised, unless its part says ``hidden_feedback: none`` (exam-like use): then
  only its status. It never shows the student's printed output or exception text (``reveal``:
  course staff only, everything).

Text that came out of student code is sanitised (compare.sanitize), and in Markdown put inside a
fence it cannot close (``fence``); every other line is escaped, so nothing a student writes becomes
markup.
"""

import re

from ..checking.compare import sanitize
from ..checking.text import one_line
from ..checking.mistakes import MISTAKES

PRINTED_PER_PART = 6000  # characters of printed output shown per part (each call is capped by the sandbox too)


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


# ----------------------------------------------------------------- rendering
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


def shows_config(part):
    return getattr(part, "hidden_feedback", "config") != "none"


def named(result, reveal=False):
    """The mistakes the student is told about in this part (names, in order of first appearance)."""
    seen = []
    for c in result.cases:
        if c.hidden and not reveal and not shows_config(result.part):
            continue
        for m in c.mistakes:
            if m not in seen:
                seen.append(m)
    return seen


def mistake_lines(case, md=False):
    """The lines naming the case's mistakes (in Markdown: bold), else its general advice."""
    found = [MISTAKES[m] for m in case.mistakes if m in MISTAKES]
    if not found:
        return [md_escape(a) for a in case.advice] if md else list(case.advice)
    if md:
        return [f"**{md_escape('likely mistake: ' + m.title)}** {md_escape(f'[{m.name}]: {m.text}')}" for m in found]
    return [m.line() for m in found]


def render(result, reveal=False, fmt="text"):
    """The feedback of a PartResult (see the module docstring); fmt: "md" or "text"."""
    md = fmt == "md"
    out = [f"**{md_escape(summary_line(result))}**" if md else summary_line(result)]
    budget = [PRINTED_PER_PART]
    for c in result.cases:
        out += render_case(result.part, c, reveal, md, budget)
    return ("\n\n" if md else "\n").join(out)


HIDDEN_KIND = {"error": " (the code raised an exception)", "timeout": " (a call timed out)",
               "crash": " (the worker process died)", "memory": " (the code ran out of memory)",
               "import": " (the module could not be imported)", "missing": " (the file could not be used)",
               "skipped": " (not run)"}


def render_case(part, c, reveal, md, budget):
    status = status_of(c)
    full = reveal or not c.hidden
    if c.hidden and not full and not shows_config(part):
        head = f"case {c.index} (hidden): {status}"
        return [md_escape(head) if md else head]
    if not full and not c.passed:
        status += HIDDEN_KIND.get(c.kind, "")  # what kind of failure, never its text
    tag = " (hidden)" if c.hidden else ""
    head = f"case {c.index}{tag}: {c.label}: "
    if md:
        blocks = [md_escape(head) + (f"**{md_escape(status)}**" if not c.passed else md_escape(status))]
    else:
        blocks = [head + status]
    if not full:  # a hidden case: configuration, status, the mistake recognised; nothing the student wrote
        named_lines = mistake_lines(c, md) if c.mistakes else []
        if md:
            return blocks + (["\n".join("- " + t for t in named_lines)] if named_lines else [])
        return blocks + [f"    {t}" for t in named_lines]
    lines = [*c.lines, *c.info] if not c.passed else list(c.info)
    if md:
        if c.rows and not c.passed:
            blocks.append(table(c.rows))
        single = ["- " + md_escape(sanitize(t, 3000)) for t in lines if "\n" not in t]
        single += ["- " + t for t in (mistake_lines(c, md=True) if not c.passed else [])]
        if single:
            blocks.append("\n".join(single))
        blocks += [fence(sanitize(t, 3000)) for t in lines if "\n" in t]
    else:
        lines += mistake_lines(c) if not c.passed else []
        blocks += [f"    {sanitize(t, 3000)}".replace("\n", "\n    ") for t in lines]
    for func, text in c.printed:
        if budget[0] <= 0:
            note = "(more printed output not shown)"
            blocks.append(md_escape(note) if md else f"    {note}")
            break
        shown = sanitize(text.rstrip("\n"), min(budget[0], 2000))
        budget[0] -= len(shown)
        if md:
            blocks += [md_escape(f"your code printed ({func}):"), fence(shown)]
        else:
            blocks += [f"    your code printed ({func}):", indent_block(shown)]
    return blocks


def table(rows):
    head = "| value | got | expected | max abs error | max rel error | first wrong index |\n" \
           "| --- | --- | --- | ---: | ---: | --- |"
    keys = ("value", "got", "expected", "abs", "rel", "first")
    body = ["| " + " | ".join(md_escape(one_line(r[k], 200), inline=True) for k in keys) + " |" for r in rows]
    return "\n".join([head, *body])


def first_problem(result, width=60):
    """One short line for the score table: the first failing case and what is wrong with it."""
    for c in result.cases:
        if c.passed:
            continue
        names = [MISTAKES[m].title for m in c.mistakes if m in MISTAKES]
        if c.hidden:
            what = f": {names[0]}" if names and shows_config(result.part) else ""
            return shorten(f"case {c.index} (hidden) failed{what}", width)
        if names:
            return shorten(f"case {c.index}: {names[0]}", width)
        text = c.lines[0] if c.lines else "failed"
        return shorten(f"case {c.index}: {sanitize(text, 500)}", width)
    return ""


def shorten(text, width):
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def overview(lines, results):
    """The top-level summary of a grading in Markdown: ``lines`` (plain text), then the mistakes named to
    the student, part by part (``results``: PartResults)."""
    out = [md_escape(line) for line in lines]
    named_parts = [(r, named(r)) for r in results]
    listed = [f"- {md_escape(f'{r.part.number} {r.part.title}')}: "
              + "; ".join(md_escape(f"{MISTAKES[m].title} [{m}]") for m in names)
              for r, names in named_parts if names]
    if listed:
        out.append("**Mistakes recognised** (the feedback of each part says where and how to fix them):\n"
                   + "\n".join(listed))
    return "\n\n".join(out)
