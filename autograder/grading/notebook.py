"""The checker's results as HTML, for a notebook (the handout's ``check()``): the score table, then the feedback
of each failing part (every part with ``verbose``): its verdict (each mistake once, with the cases it explains),
then its cases grouped by diagnosis, the first of a group in full (configuration and status, what is wrong,
the comparison table, what the code printed) with its pictures, the others one line each. A part whose every
failing case is a function not implemented or a file that could not be used is one line for the whole grading.

The items are the terminal's and Gradescope's (feedback.part_items), in the same order with the same words;
only the markup differs. Every text is escaped (student-derived text is sanitised first), so nothing a
submission prints becomes markup. Pictures (pictures.py: a wrong shape as boxes, a small value as got, expected
and their difference, where a larger one is wrong) are drawn for visible cases only (the grader keeps the
masks and arrays of a visible case's values, never of a hidden one's), with matplotlib when it is installed (the
student requirements have it), without pyplot, so the notebook's own figures and backend are left alone.
"""

import html

from ..checking.compare import sanitize
from . import feedback, pictures
from .scoretable import points

PICTURES_PER_PART = 4  # pictures per part at most (a few KB each): the first failing cases with a wrong map
STYLE = """<style>
.convgrade {font-family: sans-serif; font-size: 13px; line-height: 1.35}
.convgrade table {border-collapse: collapse; margin: 4px 0}
.convgrade th, .convgrade td {border: 1px solid #bbb; padding: 2px 6px; text-align: left}
.convgrade td.num {text-align: right}
.convgrade .pass {color: #1a7f37; font-weight: bold}
.convgrade .fail {color: #cf222e; font-weight: bold}
.convgrade .warn {color: #9a6700}
.convgrade .case {margin: 6px 0 2px 0}
.convgrade ul {margin: 2px 0 4px 0}
.convgrade pre {margin: 2px 0 4px 16px; padding: 3px 6px; background: rgba(127, 127, 127, 0.12)}
.convgrade h4 {margin: 14px 0 4px 0}
.convgrade img {display: block; margin: 4px 0 8px 16px; max-width: 100%}
.convgrade ul.verdict {margin: 4px 0 8px 0}
.convgrade ul.fold {list-style: circle; color: #444}
.convgrade .note {color: #555; font-style: italic}
</style>"""


def esc(text, limit=3000):
    return html.escape(sanitize(text, limit))


def render(data, parts, table=None, verbose=False, reveal=False, header=(), notes=(), reduced=False, footer=()):
    """The HTML of a grading: ``data`` its results (results.json's tests), ``parts`` {part id: PartResult};
    ``header``, ``notes`` and ``footer``: lines of plain text shown above the table, under it and at the end."""
    by_number = {p.number: p.id for p in (table.parts if table else [])}
    out = [STYLE, '<div class="convgrade">']
    out += [f'<p class="warn">{esc(line)}</p>' for line in header]
    out.append(score_table(data, parts, by_number))
    out += [f'<p class="warn">note: {esc(n, 1000)}</p>' for n in notes]
    if reduced:
        out.append("<p>note: isolation reduced (normal on your own machine; the checks are the same)</p>")
    once = {}  # parts whose every failing case is said once (a function not implemented, a file): one line
    for test in data["tests"]:
        result = parts.get(by_number.get(test.get("number")))
        if verbose or test["status"] != "passed":
            said = feedback.reported_once(result, reveal) if result is not None else None
            if said is not None:
                for what, detail in said:
                    once.setdefault(what, {}).setdefault(detail, []).append(test.get("number", ""))
                continue
            out.append(f"<h4>{esc(test['name'])}</h4>")
            out.append(part_html(result, reveal) if result is not None
                       else f"<pre>{esc(test.get('output', ''), 20000)}</pre>")
    out += [f'<p class="once"><b>{esc(line)}</b></p>' for line in feedback.once_lines(once)]
    out += [f"<p>{esc(line)}</p>" for line in footer]
    out.append("</div>")
    return "\n".join(out)


def score_table(data, parts, by_number):
    rows = ["<table><tr><th>#</th><th>part</th><th>score</th><th></th><th>first problem (details below)</th></tr>"]
    for test in data["tests"]:
        result = parts.get(by_number.get(test.get("number")))
        ok = test["status"] == "passed"
        first = result.first_problem(width=100) if result is not None else \
            (test.get("output", "").splitlines() or [""])[0]
        rows.append(f"<tr><td>{esc(test.get('number', ''))}</td><td>{esc(test['name'].split(' ', 1)[-1])}</td>"
                    f"<td class=\"num\">{points(test['score'])}/{points(test['max_score'])}</td>"
                    + ('<td class="pass">pass</td>' if ok else '<td class="fail">FAIL</td>')
                    + f"<td>{esc(first, 300)}</td></tr>")
    total = sum(t["max_score"] for t in data["tests"])
    rows.append(f'<tr><td></td><td><b>total</b></td><td class="num"><b>{points(data["score"])}/{points(total)}'
                "</b></td><td></td><td></td></tr></table>")
    return "\n".join(rows)


def part_html(result, reveal=False):
    """One part's feedback (feedback.part_items: the summary, the verdict, the cases grouped), each case shown in
    full followed by its pictures (pictures.py)."""
    out, bullets, drawn, kind = [], [], [0], None

    def flush():
        if bullets:
            out.append(f'<ul class="{kind}">' + "".join(bullets) + "</ul>")
            bullets.clear()

    shown = [None]  # the case shown in full whose pictures follow its own items

    def draw():
        case, shown[0] = shown[0], None
        if case is not None and not case.passed and (not case.hidden or reveal):
            flush()
            for img in pictures.case_pictures(case, PICTURES_PER_PART - drawn[0]):
                out.append(img)
                drawn[0] += img.startswith("<img")

    for item in feedback.part_items(result, reveal):
        if item[0] in ("head", "group", "fold", "break", "note"):
            draw()  # the pictures of the case before: right under its items, before the cases of one line
        if item[0] == "break":
            flush()
            continue
        if item[0] in ("verdict", "line", "fold") and (item[0] == "fold" or "\n" not in item[1]):
            if kind != item[0]:
                flush()
            kind = item[0]
            bullets.append(f"<li>{esc(item[1] + item[2]) if item[0] == 'fold' else emphasis(item[1])}</li>")
            continue
        flush()
        kind = None
        if item[0] == "head":
            shown[0] = item[3]
        if item[0] == "summary":
            out.append(f"<p><b>{esc(item[1])}</b></p>")
        elif item[0] == "group":
            out.append(f'<p class="group"><b>{esc(item[1])}</b></p>')
        elif item[0] == "head":
            status = f'<span class="{"pass" if item[2] == "passed" else "fail"}">{esc(item[2])}</span>'
            out.append(f'<div class="case">{esc(item[1])}{status}</div>')
        elif item[0] == "verdict":  # its first line in the list, the rest (source code, say) preformatted
            first, rest = item[1].split("\n", 1)
            out.append(f'<ul class="verdict"><li>{emphasis(first)}</li></ul><pre>{esc(rest)}</pre>')
        elif item[0] == "line":
            out.append(f"<pre>{esc(item[1])}</pre>")
        elif item[0] == "note":
            out.append(f'<p class="note">{esc(item[1])}</p>')
        elif item[0] == "table":
            out.append(comparison(item[1]))
        else:
            out.append(f"<div>{esc(f'your code printed ({item[1]}):')}</div><pre>{esc(item[2], 6000)}</pre>")
    flush()
    draw()
    return "\n".join(out)


def emphasis(line):
    """The cases a verdict line speaks of in bold, and a mistake's label and title, as in the Markdown."""
    m = feedback.WHICH.match(line)
    lead, line = (f"<b>{esc(m.group(1))}</b> ", line[m.end():]) if m else ("", line)
    if line.startswith(feedback.LABELS) and " [" in line:
        head, rest = line.split(" [", 1)
        return f"{lead}<b>{esc(head)}</b> {esc('[' + rest)}"
    return lead + esc(line)


def comparison(rows):
    head = "".join(f"<th>{html.escape(h)}</th>" for h in feedback.TABLE_HEAD)
    body = "".join("<tr>" + "".join(f"<td>{esc(r[k], 200)}</td>" for k in feedback.TABLE_KEYS) + "</tr>"
                   for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"
