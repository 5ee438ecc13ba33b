"""The checker's results as HTML, for a notebook (the handout's ``check()``): the score table, then the feedback
of each failing part (every part with ``verbose``), case by case: its configuration and status, what is wrong,
the comparison table, the mistake recognised, what the code printed, and a small picture of where a wrong
value's wrong elements are (red), worth more than the first wrong index when a map is wrong in a band, a border
or a checkerboard.

The items are the terminal's and Gradescope's (feedback.case_items), in the same order with the same words;
only the markup differs. Every text is escaped (student-derived text is sanitised first), so nothing a
submission prints becomes markup. A picture is drawn for visible cases only (the grader keeps a mask of the
wrong elements of a visible case's value, never of a hidden one's), with matplotlib when it is installed (the
student requirements have it), without pyplot, so the notebook's own figures and backend are left alone.
"""

import base64
import html
import io

from ..checking.compare import sanitize
from ..checking.regions import describe, layout_of
from . import feedback
from .scoretable import points

PICTURES_PER_PART = 4  # pictures per part at most (a few KB each): the first failing cases with a wrong map
SHOWN_ROWS, SHOWN_COLS = 3, 6  # planes of a 4-D value drawn: the first samples (filters) x channels
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
.convgrade img {display: block; margin: 4px 0 8px 16px}
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
    for test in data["tests"]:
        result = parts.get(by_number.get(test.get("number")))
        if verbose or test["status"] != "passed":
            out.append(f"<h4>{esc(test['name'])}</h4>")
            out.append(part_html(result, reveal) if result is not None
                       else f"<pre>{esc(test.get('output', ''), 20000)}</pre>")
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
    """One part's feedback: its summary line, then every case (feedback.case_items) and its pictures."""
    said, budget = {}, [feedback.PRINTED_PER_PART]
    out = [f"<p><b>{esc(feedback.summary_line(result))}</b></p>"]
    drawn = 0
    for c in result.cases:
        out.append(case_html(feedback.case_items(result.part, c, reveal, said, budget), c.passed))
        if c.passed or (c.hidden and not reveal):
            continue
        for name, mask in getattr(c, "wrong", {}).items():
            if drawn < PICTURES_PER_PART and (img := picture(name, mask)):
                out.append(img)
                drawn += 1
    return "\n".join(out)


def case_html(items, passed):
    """A case's items as HTML: the heading with its status, one-line lines as a list, a line of several lines
    and printed output preformatted, the comparison table."""
    out, bullets = [], []

    def flush():
        if bullets:
            out.append("<ul>" + "".join(bullets) + "</ul>")
            bullets.clear()

    for item in items:
        if item[0] == "line" and "\n" not in item[1]:
            bullets.append(f"<li>{emphasis(item[1])}</li>")
            continue
        flush()
        if item[0] == "head":
            status = f'<span class="{"pass" if passed else "fail"}">{esc(item[2])}</span>'
            out.append(f'<div class="case">{esc(item[1])}{status}</div>')
        elif item[0] == "line":
            out.append(f"<pre>{esc(item[1])}</pre>")
        elif item[0] == "table":
            out.append(comparison(item[1]))
        else:
            out.append(f"<div>{esc(f'your code printed ({item[1]}):')}</div><pre>{esc(item[2], 6000)}</pre>")
    flush()
    return "\n".join(out)


def emphasis(line):
    """A mistake's label and title in bold, as in the Markdown."""
    if line.startswith(feedback.LABELS) and " [" in line:
        head, rest = line.split(" [", 1)
        return f"<b>{esc(head)}</b> {esc('[' + rest)}"
    return esc(line)


def comparison(rows):
    head = "".join(f"<th>{html.escape(h)}</th>" for h in feedback.TABLE_HEAD)
    body = "".join("<tr>" + "".join(f"<td>{esc(r[k], 200)}</td>" for k in feedback.TABLE_KEYS) + "</tr>"
                   for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


# ----------------------------------------------------------------- pictures
def planes(mask, layout):
    """([(row label, [(column label, 2-D plane)])] of the first planes of a 2-, 3- or 4-D mask, and a note of
    what is left out)."""
    if mask.ndim == 2:
        return [("", [("", mask)])], ""
    outer, inner = ("filter", "channel") if layout == "weight" else ("sample", "channel")
    if mask.ndim == 3:
        n = min(mask.shape[0], SHOWN_COLS)
        left = f" (the first {n} of {mask.shape[0]} {outer}s)" if n < mask.shape[0] else ""
        return [("", [(f"{outer} {i}", mask[i]) for i in range(n)])], left
    if mask.ndim != 4:
        return [], ""
    n, c = min(mask.shape[0], SHOWN_ROWS), min(mask.shape[1], SHOWN_COLS)
    left = "; ".join(x for x in (f"the first {n} of {mask.shape[0]} {outer}s" if n < mask.shape[0] else "",
                                 f"the first {c} of {mask.shape[1]} {inner}s" if c < mask.shape[1] else "") if x)
    grid = [(f"{outer} {i}", [(f"{inner} {j}", mask[i, j]) for j in range(c)]) for i in range(n)]
    return grid, f" ({left})" if left else ""


def picture(name, mask):
    """An <img> of where ``name``'s wrong elements are (red on grey, one small panel per plane), inlined as a
    base64 PNG; None without matplotlib or for a mask with nothing to draw."""
    try:
        from matplotlib.colors import ListedColormap
        from matplotlib.figure import Figure
    except ImportError:
        return None
    layout = layout_of(name, mask.ndim)
    grid, left = planes(mask, layout)
    if not grid:
        return None
    rows, cols = len(grid), max(len(r[1]) for r in grid)
    h, w = grid[0][1][0][1].shape
    cell = 1.15 if max(h, w) <= 16 else 1.6
    aspect = w / h if h else 1.0
    fig = Figure(figsize=(0.4 + cols * cell * min(max(aspect, 0.5), 2.5), 0.55 + rows * cell), dpi=72)
    cmap = ListedColormap(["#e6e6e6", "#d62728"])
    for i, (row_label, cells) in enumerate(grid):
        for j, (col_label, plane) in enumerate(cells):
            ax = fig.add_subplot(rows, cols, i * cols + j + 1)
            ax.imshow(plane.astype(int), cmap=cmap, vmin=0, vmax=1, interpolation="nearest", aspect="equal")
            ax.set_xticks([])
            ax.set_yticks([])
            if plane.shape[0] <= 24 and plane.shape[1] <= 24:  # pixel boundaries on small planes
                ax.set_xticks([x - 0.5 for x in range(1, plane.shape[1])], minor=True)
                ax.set_yticks([y - 0.5 for y in range(1, plane.shape[0])], minor=True)
                ax.grid(which="minor", color="white", linewidth=0.5)
                ax.tick_params(which="minor", length=0)
            label = ", ".join(x for x in (row_label, col_label) if x)
            if label:
                ax.set_title(label, fontsize=7)
    fig.suptitle(f"{name}: wrong elements in red{left}", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    region = describe(mask, None, layout)
    alt = f"{name}: wrong in {region.text}" if region is not None else f"{name}: wrong elements"
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" title="{html.escape(alt)}" src="data:image/png;base64,{data}">'
