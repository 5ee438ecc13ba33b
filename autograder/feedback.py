"""What a student reads about one part: the evidence of each case, rendered as Markdown (Gradescope)
or plain text (the terminal and check.py).

A checker returns a ``Report`` per case: the problems, the credit earned, the mistake recognised
(mistakes.py), general advice, a comparison row per wrong value, explanations (the output-size
formula, the expected shapes after a crash) and what the student's code printed. ``render`` turns
the cases of a part into text:

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
from dataclasses import dataclass, field

import numpy as np

from .compare import fmt, sanitize, type_name
from .text import one_line

PRINTED_PER_PART = 6000  # characters of printed output shown per part (each call is capped by the sandbox too)


@dataclass
class Report:
    """What a checker found in one case. ``lines`` empty: the case passed."""

    lines: list = field(default_factory=list)
    credit: float = None  # share of the case earned (0..1); None: 1 without problems, else 0
    kind: str = ""  # the failed call's CallError kind (error | timeout | crash | import), if one failed
    mistakes: list = field(default_factory=list)  # names of the recognised mistakes (mistakes.MISTAKES)
    advice: list = field(default_factory=list)  # general advice lines, shown only without a mistake
    rows: list = field(default_factory=list)  # one comparison row (dict) per wrong value
    info: list = field(default_factory=list)  # explanations: size formula, expected shapes
    printed: list = field(default_factory=list)  # [(function, text)] the student's calls printed
    stages: list = field(default_factory=list)  # [(stage, passed)] of a part graded forward + backward

    @property
    def earned(self):
        if self.credit is not None:
            return float(self.credit)
        return 0.0 if self.lines else 1.0

    def printed_by(self, func, text):
        if text and text.strip():
            self.printed.append((func, text))


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


# ----------------------------------------------------------------- evidence
def mismatch_row(name, got, expected, rtol):
    """One row of the comparison table: got vs expected shape, max abs/rel error, first bad index."""
    row = {"value": name, "got": type_name(got), "expected": type_name(expected), "abs": "", "rel": "",
           "first": ""}
    if isinstance(got, np.ndarray) and isinstance(expected, np.ndarray):
        row["got"], row["expected"] = str(tuple(got.shape)), str(tuple(expected.shape))
        if got.shape == expected.shape and got.dtype.kind in "fiub" and got.size:
            with np.errstate(all="ignore"):
                g, e = got.astype(np.float64), expected.astype(np.float64)
                diff = np.abs(g - e)
                bad = ~(diff <= 1e-9 + rtol * np.abs(e)) | (np.isnan(g) != np.isnan(e))
                if bad.any():
                    row["first"] = str(tuple(int(i) for i in np.argwhere(bad)[0]))
                    finite = np.isfinite(diff)
                    if finite.any():
                        row["abs"] = fmt(diff[finite].max())
                        rel = diff / np.maximum(np.abs(e), 1e-12)
                        row["rel"] = fmt(rel[bad & finite].max()) if (bad & finite).any() else ""
                    else:
                        row["abs"] = "NaN/inf"
    return row


SHAPE_ERROR = re.compile(r"broadcast|shape|reshape|out of bounds|index \d+ is out|size \d+|"
                         r"cannot reshape|dimension|too many indices", re.I)


def is_shape_error(message):
    """A ValueError/IndexError about shapes or indices (what a wrong output size usually raises)."""
    head = message.split(":", 1)[0]
    return head in ("IndexError", "ValueError", "AxisError") and bool(SHAPE_ERROR.search(message)) \
        or head == "IndexError"


def call_error_text(err, limits):
    """The line of a failed call (CallError): the exception and where, a timeout, a crash."""
    msg = one_line(str(err), 1500)  # exception text of student code: one line, it cannot forge grader lines
    if err.kind == "timeout":
        return f"{msg} ({limits.call_timeout:g} s per call; an infinite loop, or a very slow implementation?)"
    if err.kind == "error":
        where = f" (at {one_line(err.where, 200)})" if err.where else ""
        if msg.startswith("NotImplementedError"):
            return msg.split(":", 1)[-1].strip() or "not implemented yet (NotImplementedError)"
        return f"your code raised {msg}{where}"
    return msg


def import_cause(lines, problems):
    """A line naming the student file that made an import fail (``No module named 'pooling'`` when
    pooling.py has a syntax error), from locate's per-file ``problems``; None when there is none."""
    for line in lines:
        for name in re.findall(r"No module named '([A-Za-z_]\w*)'", line):
            if name in problems:
                return f"this import failed because {name}.py could not be used (fix it first): {problems[name]}"
    return None


def expected_shapes(values):
    shown = [f"{k} {tuple(v.shape)}" for k, v in values.items() if isinstance(v, np.ndarray)]
    shown += [f"{k} None" for k, v in values.items() if v is None]
    return ", ".join(shown)


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
    from .mistakes import MISTAKES

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
               "crash": " (the worker process died)", "import": " (the module could not be imported)",
               "missing": " (the file could not be used)", "skipped": " (not run)"}


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
    body = ["| " + " | ".join(md_escape(str(r[k]), inline=True) for k in keys) + " |" for r in rows]
    return "\n".join([head, *body])


def first_problem(result, width=60):
    """One short line for the score table: the first failing case and what is wrong with it."""
    for c in result.cases:
        if c.passed:
            continue
        from .mistakes import MISTAKES

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
    from .mistakes import MISTAKES

    out = [md_escape(line) for line in lines]
    named_parts = [(r, named(r)) for r in results]
    listed = [f"- {md_escape(f'{r.part.number} {r.part.title}')}: "
              + "; ".join(md_escape(f"{MISTAKES[m].title} [{m}]") for m in names)
              for r, names in named_parts if names]
    if listed:
        out.append("**Mistakes recognised** (the feedback of each part says where and how to fix them):\n"
                   + "\n".join(listed))
    return "\n\n".join(out)
