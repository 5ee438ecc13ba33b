"""Pictures of a visible case's wrong values, for the notebook's HTML (notebook.py): inline PNGs drawn with
matplotlib's Figure (never pyplot, so a notebook's own figures and backend are left alone), or None without
matplotlib.

A picture is drawn only where it teaches something the words do not:

- a wrong shape: the two shapes as boxes side by side, drawn to scale (rows x columns of the last two axes);
- a small value wrong in some of its elements: one plane of it (the first with a wrong element) as what the
  code returned, what was expected and their difference, side by side, each element's value written in it
  and the wrong ones outlined in red;
- a larger one: where its wrong elements are, plane by plane (red on grey).

No picture where every value is wrong (the picture would be one colour: ``all_wrong`` says so in words), where
one element is wrong (the first wrong index says it) or for a 1-D value. Only visible cases keep the masks and
arrays drawn here (layer.py), never a hidden case.
"""

import base64
import html
import io
import re

import numpy as np

from ..checking.regions import describe, layout_of

SHOWN_ROWS, SHOWN_COLS = 3, 6  # planes of a 4-D mask drawn: the first samples (filters) x channels
SMALL = 12  # a plane at most this many rows and columns is drawn with its values
WRITTEN = 8  # ... and each element's value written in it up to this size
TITLE, LABEL = 12, 10  # font sizes (points): readable at the size the notebook shows the image
SHAPE = re.compile(r"^\((\d+(?:, \d+)*),?\)$")


def figure_class():
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    return Figure


def shape_of(cell):
    """The shape a comparison row's cell gives ("(2, 3, 5, 5)"), or None."""
    m = SHAPE.match(str(cell))
    return tuple(int(v) for v in m.group(1).split(", ")) if m else None


def case_pictures(case, limit):
    """[html] of the pictures of one visible case, at most ``limit``: a wrong shape, a small wrong value, where a
    larger one is wrong; and a line for a value wrong everywhere (no picture)."""
    out, shapes = [], set()
    for row in case.rows:
        if len([o for o in out if o.startswith("<img")]) >= limit:
            break
        name = row["value"]
        got, expected = shape_of(row["got"]), shape_of(row["expected"])
        if got is not None and expected is not None and got != expected:
            if (got, expected) in shapes:  # out and indices of the same wrong size: one picture says it
                continue
            shapes.add((got, expected))
            img = shape_boxes(name, got, expected)
        elif name in case.wrong:
            mask = np.asarray(case.wrong[name], dtype=bool)
            if mask.all():
                out.append(all_wrong(name, mask))
                continue
            if mask.sum() < 2:
                continue
            pair = case.arrays.get(name) if hasattr(case, "arrays") else None
            plane = first_plane(mask)
            if pair is not None and max(mask.shape[-2:]) <= SMALL and plane is not None:
                img = values(name, pair[0], pair[1], mask, plane)
            else:
                img = where(name, mask)
        else:
            continue
        if img:
            out.append(img)
    return out


def all_wrong(name, mask):
    return (f'<p class="note">no picture of {html.escape(name)}: every one of its {mask.size} values is wrong '
            "(a picture would be all red)</p>")


def png(fig, alt):
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" title="{html.escape(alt)}" src="data:image/png;base64,{data}">'


# ----------------------------------------------------------------- a wrong shape
def shape_boxes(name, got, expected):
    """The returned and the expected shape as two boxes to scale (the last two axes: rows x columns), the full
    shapes in their titles."""
    Figure = figure_class()
    if Figure is None:
        return None
    from matplotlib.patches import Rectangle

    def plane(shape):
        return (shape[-2] if len(shape) >= 2 else 1), (shape[-1] if shape else 1)

    (gh, gw), (eh, ew) = plane(got), plane(expected)
    top, wide = max(gh, eh, 1), max(gw, ew, 1)
    fig = Figure(figsize=(7.5, 3.6), dpi=72)
    for i, (label, shape, (h, w), colour) in enumerate((("your " + name, got, (gh, gw), "#d62728"),
                                                         ("expected " + name, expected, (eh, ew), "#2ca02c"))):
        ax = fig.add_subplot(1, 2, i + 1)
        ax.add_patch(Rectangle((0, top - h), w, h, facecolor=colour, alpha=0.25, edgecolor=colour, linewidth=2))
        if max(h, w) <= 24:  # one cell per element
            for y in range(1, h):
                ax.plot([0, w], [top - y, top - y], color=colour, linewidth=0.5, alpha=0.6)
            for x in range(1, w):
                ax.plot([x, x], [top - h, top], color=colour, linewidth=0.5, alpha=0.6)
        if i == 0:  # the expected size drawn over yours: the rows or columns too many or missing stand out
            ax.add_patch(Rectangle((0, top - eh), ew, eh, fill=False, edgecolor="#2ca02c", linewidth=2,
                                   linestyle="--"))
        ax.text(w / 2, top - h / 2, f"{h} x {w}", ha="center", va="center", fontsize=TITLE,
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
        ax.set_xlim(-0.5, wide + 0.5)
        ax.set_ylim(-0.5, top + 0.5)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(f"{label}\n{shape}", fontsize=TITLE)
    fig.suptitle(f"{name}: wrong shape (rows x columns of the last two axes, to scale; expected: dashed)",
                 fontsize=TITLE)
    fig.tight_layout()
    return png(fig, f"{name}: wrong shape {got}, expected {expected}")


# ----------------------------------------------------------------- a small value: got, expected, difference
def first_plane(mask):
    """The index of the first 2-D plane of ``mask`` holding a wrong element (() for a 2-D mask), or None."""
    if mask.ndim < 2:
        return None
    planes = mask.reshape(-1, *mask.shape[-2:])
    hit = np.flatnonzero(planes.any(axis=(1, 2)))
    return tuple(int(i) for i in np.unravel_index(hit[0], mask.shape[:-2])) if hit.size else None


def values(name, got, expected, mask, plane):
    """One plane of a small value: got, expected and got - expected side by side, values written in small
    planes, wrong elements outlined in red."""
    Figure = figure_class()
    if Figure is None:
        return None
    from matplotlib.patches import Rectangle

    g, e, bad = (np.asarray(a, dtype=np.float64)[plane] for a in (got, expected, mask))
    bad = bad.astype(bool)
    h, w = g.shape
    finite = np.isfinite(g)
    lo = float(min(e.min(), g[finite].min() if finite.any() else e.min()))
    hi = float(max(e.max(), g[finite].max() if finite.any() else e.max()))
    diff = np.where(bad, np.where(finite, g - e, np.nan), 0.0)  # right elements: 0, not rounding noise
    span = float(np.nanmax(np.abs(diff))) if np.isfinite(diff).any() else 1.0
    cell = 0.62 if max(h, w) <= WRITTEN else 0.32
    fig = Figure(figsize=(3 * (w * cell + 0.9), h * cell + 1.7), dpi=72)
    where_ = f"{name}[{', '.join(map(str, plane))}]" if plane else name
    panels = ((f"your {where_}", g, "viridis", lo, hi), (f"expected {where_}", e, "viridis", lo, hi),
              ("yours - expected", diff, "RdBu_r", -span or -1.0, span or 1.0))
    for k, (label, data, cmap, vmin, vmax) in enumerate(panels):
        ax = fig.add_subplot(1, 3, k + 1)
        ax.imshow(data, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_xticks(range(w))
        ax.set_yticks(range(h))
        ax.tick_params(labelsize=LABEL - 2, length=0)
        ax.set_title(label, fontsize=LABEL + 1)
        for i, j in zip(*np.nonzero(bad)):
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="#d62728", linewidth=2))
        if max(h, w) <= WRITTEN:
            for i in range(h):
                for j in range(w):
                    v = data[i, j]
                    shade = (v - vmin) / ((vmax - vmin) or 1.0) if np.isfinite(v) else 0.5
                    light = shade > 0.55 if k < 2 else abs(shade - 0.5) < 0.3  # viridis: light above; RdBu: middle
                    text = "" if k == 2 and not bad[i, j] else ("nan" if not np.isfinite(v) else f"{v:.2g}")
                    ax.text(j, i, text, ha="center", va="center", fontsize=LABEL - 2,
                            color="black" if light else "white")
    shown = f"plane {where_} shown" if plane else "all of it shown"
    fig.suptitle(f"{name}: {int(mask.sum())} of {mask.size} values wrong; {shown}, wrong ones outlined in red",
                 fontsize=TITLE)
    fig.tight_layout()
    region = describe(mask, None, layout_of(name, mask.ndim))
    alt = f"{name}: wrong in {region.text}" if region is not None else f"{name}: wrong elements"
    return png(fig, alt)


# ----------------------------------------------------------------- a larger value: where it is wrong
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


def where(name, mask):
    """Where ``name``'s wrong elements are (red on grey, one panel per plane, the first planes only)."""
    Figure = figure_class()
    if Figure is None:
        return None
    from matplotlib.colors import ListedColormap

    layout = layout_of(name, mask.ndim)
    grid, left = planes(mask, layout)
    if not grid:
        return None
    rows, cols = len(grid), max(len(r[1]) for r in grid)
    h, w = grid[0][1][0][1].shape
    cell = 1.5 if max(h, w) <= 16 else 2.0
    aspect = w / h if h else 1.0
    fig = Figure(figsize=(0.6 + cols * cell * min(max(aspect, 0.5), 2.5), 1.0 + rows * (cell + 0.3)), dpi=72)
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
                ax.set_title(label, fontsize=LABEL)
    fig.suptitle(f"{name}: wrong elements in red{left}", fontsize=TITLE)
    fig.tight_layout()
    region = describe(mask, None, layout)
    alt = f"{name}: wrong in {region.text}" if region is not None else f"{name}: wrong elements"
    return png(fig, alt)
