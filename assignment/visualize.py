#!/usr/bin/env python3
"""Draw the lecture's pictures with YOUR code (PNG files, default folder ./figures).

    python visualize.py [--out FOLDER]

    toeplitz.png        the Toeplitz matrix of a 2x2 kernel on a 4x4 image (conv2d_toeplitz)
    receptive_field.png the 3x3 stack with dilations 1, 2, 4: receptive fields 3, 7, 15
                        (conv2d_forward / conv2d_backward, and receptive_field)
    max_unpool.png      max pooling, then max unpooling (max_pool2d_forward, max_unpool2d_forward)
    checkerboard.png    a stride-2 transposed convolution of ones with a 3x3 kernel of ones:
                        the overlaps of the scattered kernels make a checkerboard
                        (conv_transpose2d_forward)

A picture whose functions are not implemented yet is skipped with a one-line
message. The pictures are only as right as your code: if one looks wrong,
`python check.py` says where.
"""

import argparse
import os
import sys
import traceback
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


# ----------------------------------------------------------------- the figures
def fig_toeplitz(plt):
    from toeplitz import conv2d_toeplitz

    w = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
    T = np.asarray(conv2d_toeplitz(w, (1, 4, 4)))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), gridspec_kw={"width_ratios": [1, 4]}, layout="constrained")
    show_values(axes[0], w[0, 0], "kernel w (2x2)")
    im = axes[1].imshow(T, cmap="viridis")
    axes[1].set_title(f"T = conv2d_toeplitz(w, (1, 4, 4)): shape {T.shape}\n"
                      "row = output pixel (3x3), column = input pixel (4x4)")
    axes[1].set_xlabel("input pixel (row-major)")
    axes[1].set_ylabel("output pixel (row-major)")
    fig.colorbar(im, ax=axes[1], fraction=0.025)
    return fig


def fig_receptive_field(plt):
    """Backpropagate one output unit through 3x3 convolutions with dilations 1, 2, 4."""
    dilations, size = [1, 2, 4], 21
    rf, rf_error = None, None
    try:
        from dilated import receptive_field

        rf = [int(r) for r in receptive_field([3, 3, 3], dilations=dilations)]
    except NotImplementedError as exc:
        rf_error = exc
    maps, conv_error = [], None
    try:
        from conv import conv2d_backward, conv2d_forward

        rng = np.random.default_rng(0)
        x = rng.random((1, 1, size, size))
        w = np.ones((1, 1, 3, 3))
        for depth in range(1, 4):
            h, caches = x, []
            for d in dilations[:depth]:  # padding d keeps the size: 21 -> 21
                h, cache = conv2d_forward(h, w, None, stride=1, padding=d, dilation=d)
                caches.append(cache)
            dout = np.zeros_like(h)
            dout[0, 0, size // 2, size // 2] = 1.0
            for cache in reversed(caches):
                dout = conv2d_backward(dout, cache)[0]
            maps.append(np.asarray(dout)[0, 0])
    except NotImplementedError as exc:
        conv_error = exc
    if rf is None and not maps:
        raise conv_error or rf_error
    if not maps:  # receptive_field alone: draw its squares
        note(f"receptive_field.png: squares from receptive_field() only ({short(conv_error)})")
        for r in rf:
            m = np.zeros((size, size))
            lo = size // 2 - r // 2
            m[lo:lo + r, lo:lo + r] = 1.0
            maps.append(m)
    elif rf is None:
        note(f"receptive_field.png: without receptive_field()'s numbers ({short(rf_error)})")
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.9), layout="constrained")
    for i, (ax, m) in enumerate(zip(axes, maps)):
        rows = np.flatnonzero(np.any(m != 0, axis=1))
        seen = int(rows[-1] - rows[0] + 1) if rows.size else 0
        ax.imshow(m, cmap="magma")
        title = f"after layer {i + 1} (3x3, dilation {dilations[i]})"
        if conv_error is None:
            title += f"\ngradient of the centre unit: {seen} x {seen} pixels"
        if rf is not None:
            title += f"\nreceptive_field(): {rf[i]}"
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Dilated 3x3 stack: the receptive field grows 3, 7, 15 (exponentially, no extra weights)")
    return fig


def fig_max_unpool(plt):
    from pooling import max_pool2d_forward
    from upsample import max_unpool2d_forward

    x = np.random.default_rng(1).standard_normal((1, 1, 8, 8))
    pooled, indices, _ = max_pool2d_forward(x, kernel_size=2, stride=2)
    unpooled, _ = max_unpool2d_forward(pooled, indices, kernel_size=2, stride=2)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.9), layout="constrained")
    vmax = float(np.max(np.abs(x)))
    for ax, a, t in zip(axes, (x, pooled, unpooled),
                        ("input (8x8)", "max_pool2d_forward, 2x2 / 2 (4x4)",
                         "max_unpool2d_forward (8x8):\neach maximum back in its place, zeros elsewhere")):
        a = np.asarray(a)[0, 0]
        ax.imshow(a, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        ax.set_title(t, fontsize=10)
        step = 2 if a.shape[0] == 8 else 1  # the 2x2 pooling windows
        ax.set_xticks(np.arange(-0.5, a.shape[1], step), labels=[])
        ax.set_yticks(np.arange(-0.5, a.shape[0], step), labels=[])
        ax.tick_params(length=0)
        ax.grid(color="0.3", linewidth=0.8)
    fig.suptitle("Max pooling remembers where each maximum was; max unpooling puts it back")
    return fig


def fig_checkerboard(plt):
    from transposed import conv_transpose2d_forward

    x = np.ones((1, 1, 4, 4))
    w = np.ones((1, 1, 3, 3))
    out, _ = conv_transpose2d_forward(x, w, None, stride=2)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.8), gridspec_kw={"width_ratios": [1, 2]}, layout="constrained")
    show_values(axes[0], x[0, 0], "input: ones (4x4)")
    show_values(axes[1], np.asarray(out)[0, 0],
                f"conv_transpose2d_forward(x, ones 3x3, stride=2): {tuple(np.asarray(out).shape[2:])}\n"
                "kernel copies overlap unevenly: a checkerboard")
    return fig


FIGURES = [("toeplitz.png", fig_toeplitz), ("receptive_field.png", fig_receptive_field),
           ("max_unpool.png", fig_max_unpool), ("checkerboard.png", fig_checkerboard)]


# ----------------------------------------------------------------- helpers
def show_values(ax, a, title):
    a = np.asarray(a)
    ax.imshow(a, cmap="viridis")
    if a.size <= 120:
        for (i, j), v in np.ndenumerate(a):
            ax.text(j, i, f"{v:g}", ha="center", va="center", color="white", fontsize=9)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def short(exc):
    """A not-implemented message without the long hint."""
    text = str(exc) or type(exc).__name__
    return text.split(" (", 1)[0]


def note(line):
    print(line)


def where(exc):
    """'conv.py, line 12' for the deepest frame in one of your files, else ''."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if Path(frame.filename).resolve().parent == HERE and Path(frame.filename).name != "visualize.py":
            return f" ({Path(frame.filename).name}, line {frame.lineno})"
    return ""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="figures", help="folder for the PNG files (default: ./figures)")
    args = parser.parse_args(argv)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("visualize.py needs matplotlib:  python -m pip install -r requirements.txt", file=sys.stderr)
        return 1
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    out = Path(args.out)
    written = 0
    for name, draw in FIGURES:
        try:
            fig = draw(plt)
        except NotImplementedError as exc:
            note(f"skipped {name}: {short(exc)}")
            continue
        except Exception as exc:  # a bug in the code being drawn: one line, no traceback
            note(f"could not draw {name}: {type(exc).__name__}: {str(exc)[:200]}{where(exc)}"
                 " (python check.py explains failures)")
            plt.close("all")
            continue
        out.mkdir(parents=True, exist_ok=True)
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        written += 1
        note(f"wrote {out / name}")
    if not written:
        note("no figures yet: implement the functions named above, then run this again.")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.exit(main())
