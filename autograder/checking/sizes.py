"""The geometry of one case and its output-size formula, with the case's own numbers.

A part's ``size:`` in the case table names the formula its output follows (``KINDS``). The mistakes
catalogue (mistakes.py) compares a wrong output size with the sizes known mistakes produce; the
feedback (feedback.py) shows the formula, filled in, when a visible case returns a wrong shape or
crashes on a shape error.
"""

from dataclasses import dataclass

from .inputs import pair

KINDS = ("conv", "pool", "tconv", "scale", "unpool", "dilate", "fold")


@dataclass
class Geometry:
    """Per-axis (H, W) pairs of one case: input size, kernel, stride, padding, dilation, output_padding."""

    kind: str
    size: tuple = None  # input (H, W): the array the window slides over
    kernel: tuple = (1, 1)
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    dilation: tuple = (1, 1)
    output_padding: tuple = (0, 0)
    output_size: tuple = None  # max_unpool's explicit size

    @property
    def overlaps(self):
        """The windows overlap: a stride smaller than the effective kernel along an axis."""
        return any(self.stride[a] < self.dilation[a] * (self.kernel[a] - 1) + 1 for a in range(2))

    def conv_out(self, axis, *, size=None, kernel=None, stride=None, padding=None, dilation=None, span=None):
        """floor((n + 2p - d(k-1) - 1) / s) + 1 along ``axis``, any term replaced; ``span``: the effective
        kernel size instead of d(k-1)+1."""
        n = self.size[axis] if size is None else size
        k = self.kernel[axis] if kernel is None else kernel
        s = self.stride[axis] if stride is None else stride
        p = self.padding[axis] if padding is None else padding
        d = self.dilation[axis] if dilation is None else dilation
        eff = d * (k - 1) + 1 if span is None else span
        return (n + 2 * p - eff) // s + 1


def geometry(run):
    """The Geometry of a case (a layer.CaseRun), for its part's ``size`` kind; None when it has none."""
    kind = getattr(run.part, "size", "")
    if kind not in KINDS:
        return None
    opts, inputs = run.options, run.inputs
    w = inputs.get("w")
    x = inputs.get("x")
    if "input_size" in opts:  # conv2d_toeplitz: (C, H, W)
        size = tuple(int(v) for v in opts["input_size"][1:])
    elif "output_size" in opts and kind == "fold":  # col2im: the image the patches come from
        size = pair(opts["output_size"])
    elif x is not None and getattr(x, "ndim", 0) == 4:
        size = tuple(x.shape[2:])
    else:
        size = None
    if w is not None and getattr(w, "ndim", 0) == 4:
        kernel = tuple(w.shape[2:])
    elif "kernel_size" in opts:
        kernel = pair(opts["kernel_size"])
    else:
        kernel = (1, 1)
    default_stride = kernel if kind in ("pool", "unpool") else (1, 1)
    stride = pair(opts["stride"]) if opts.get("stride") is not None else default_stride
    if kind == "scale":
        stride = pair(opts.get("scale_factor", 1))
    out_size = pair(opts["output_size"]) if kind == "unpool" and opts.get("output_size") is not None else None
    return Geometry(kind, size, kernel, stride, pair(opts.get("padding", 0)), pair(opts.get("dilation", 1)),
                    pair(opts.get("output_padding", 0)), out_size)


def expected_size(g):
    """The (H, W) the formula of ``g`` gives."""
    if g.kind in ("conv", "pool"):
        return tuple(g.conv_out(a) for a in range(2))
    if g.kind == "tconv":
        return tuple((g.size[a] - 1) * g.stride[a] - 2 * g.padding[a] + g.dilation[a] * (g.kernel[a] - 1)
                     + g.output_padding[a] + 1 for a in range(2))
    if g.kind == "scale":
        return tuple(g.size[a] * g.stride[a] for a in range(2))
    if g.kind == "unpool":
        if g.output_size is not None:
            return g.output_size
        return tuple((g.size[a] - 1) * g.stride[a] - 2 * g.padding[a] + g.kernel[a] for a in range(2))
    if g.kind == "dilate":
        return tuple(g.dilation[a] * (g.kernel[a] - 1) + 1 for a in range(2))
    if g.kind == "fold":
        return g.size
    return None


# The docstrings' names per axis: input size, kernel, stride, padding, dilation, output (a transposed
# convolution's docstring spells its options out).
AXES = (("H", "KH", "sh", "ph", "dh", "Ho"), ("W", "KW", "sw", "pw", "dw", "Wo"))
TCONV_AXES = (("H", "KH", "stride_h", "pad_h", "dil_h", "Ho"), ("W", "KW", "stride_w", "pad_w", "dil_w", "Wo"))


def formula_lines(run):
    """The output-size formula of a case with its numbers, one line per axis (empty when unknown)."""
    g = geometry(run)
    if g is None or (g.size is None and g.kind != "dilate"):
        return []
    lines = []
    if g.kind == "fold":
        blocks = [g.conv_out(a) for a in range(2)]
        return [f"output size: output_size = {g.size}; the columns hold L = Ho*Wo = {blocks[0]}*{blocks[1]} = "
                f"{blocks[0] * blocks[1]} blocks, Ho = (H + 2*ph - dh*(KH - 1) - 1) // sh + 1 (Wo alike)"]
    for a, (n, k, s, p, d, o) in enumerate(TCONV_AXES if g.kind == "tconv" else AXES):
        if g.kind in ("conv", "pool"):
            out = g.conv_out(a)
            dil = f"{d}*({k} - 1) - 1" if g.kind == "conv" else k
            dil_n = f"{g.dilation[a]}*({g.kernel[a]} - 1) - 1" if g.kind == "conv" else g.kernel[a]
            q = g.size[a] + 2 * g.padding[a] - g.dilation[a] * (g.kernel[a] - 1) - 1
            line = (f"{o} = ({n} + 2*{p} - {dil}) // {s} + 1 = ({g.size[a]} + 2*{g.padding[a]} - {dil_n})"
                    f" // {g.stride[a]} + 1 = {out}")
            others = {"ceil": -(-q // g.stride[a]) + 1, "round": round(q / g.stride[a]) + 1}
            differ = [f"{k} would give {v}" for k, v in others.items() if v != out]
            if differ:
                line += f" (rounded down: {', '.join(differ)})"
            lines.append(line)
        elif g.kind == "tconv":
            out = expected_size(g)[a]
            op = f"output_padding_{n.lower()}"
            lines.append(f"{o} = ({n} - 1)*{s} - 2*{p} + {d}*({k} - 1) + {op} + 1 = "
                         f"({g.size[a]} - 1)*{g.stride[a]} - 2*{g.padding[a]} + {g.dilation[a]}*({g.kernel[a]} - 1) "
                         f"+ {g.output_padding[a]} + 1 = {out}")
        elif g.kind == "scale":
            lines.append(f"{o} = {n} * {s} = {g.size[a]} * {g.stride[a]} = {g.size[a] * g.stride[a]}")
        elif g.kind == "unpool":
            if g.output_size is not None:
                lines.append(f"{o} = output_size[{a}] = {g.output_size[a]}")
            else:
                lines.append(f"{o} = ({n} - 1)*stride - 2*padding + kernel_size = ({g.size[a]} - 1)*{g.stride[a]} - "
                             f"2*{g.padding[a]} + {g.kernel[a]} = {expected_size(g)[a]}")
        elif g.kind == "dilate":
            lines.append(f"{k}_dilated = {d}*({k} - 1) + 1 = {g.dilation[a]}*({g.kernel[a]} - 1) + 1 = "
                         f"{expected_size(g)[a]}")
    return ["output size: " + "; ".join(lines)]


def overlapping(g):
    """True when the windows of ``g`` overlap (a stride smaller than the effective kernel)."""
    return g is not None and g.overlaps


def geometry_of_case(part, case):
    """The kernel/stride/dilation of a case from the table alone (no inputs drawn): enough to say whether
    its windows overlap. None for a part without a ``size`` kind or a kernel."""
    if getattr(part, "size", "") not in ("conv", "pool", "unpool", "fold"):
        return None
    w = next((case[s["shape"]] for n, s in part.inputs.items() if n == "w" and s and "shape" in s
              and s["shape"] in case), None)
    if w is not None:
        kernel = (int(w[2]), int(w[3]))
    elif "kernel_size" in case:
        kernel = pair(case["kernel_size"])
    else:
        return None
    stride = pair(case["stride"]) if case.get("stride") is not None else (
        kernel if part.size in ("pool", "unpool") else (1, 1))
    return Geometry(part.size, None, kernel, stride, pair(case.get("padding", 0)), pair(case.get("dilation", 1)))
