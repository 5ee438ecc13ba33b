"""The grader's own inputs for one case, drawn from the case's seed as its part's `inputs:` describe them.

A part's ``inputs`` map each argument name, in the order the student function takes them, to a spec:

    x:      {shape: x, kind: case}      # shape from the case's `x`; the case's `kind` (normal, ties, constant)
    w:      {shape: w}                  # standard normal
    b:      {size: [w, 0], optional: bias}   # 1-D, length case["w"][0]; None when the case says bias: false
    cols:   {make: unfold_cols}         # a maker below, for inputs whose shape follows from the geometry
    pre:    {shape: pre, kind: case, send: false}   # drawn, but not passed to the student

Draws happen in that order, then the upstream gradient (same generator), so a case's values depend on
its seed and the table alone. Makers are the only code here: a new kind of input is one function.
"""

import math

import numpy as np

KINDS = ("normal", "ties", "constant")
MAKERS = {}


def maker(fn):
    MAKERS[fn.__name__] = fn
    return fn


def pair(v):
    if isinstance(v, (tuple, list)):
        return int(v[0]), int(v[1])
    return int(v), int(v)


def as_option(value):
    """A case value as the grader passes it by keyword: lists become tuples (pairs, sizes)."""
    return tuple(value) if isinstance(value, list) else value


def draw(rng, shape, kind="normal"):
    shape = tuple(int(s) for s in shape)
    if kind == "constant":
        return np.full(shape, 0.5)
    if kind == "ties":
        return rng.integers(-2, 3, size=shape).astype(np.float64)
    return rng.standard_normal(shape)


def case_kind(case):
    kind = case.get("kind", "normal")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return kind


def make_inputs(part, case, rng, options):
    """{name: value} of every input of ``part`` for ``case`` (those with send: false included)."""
    made = {}
    for name, spec in part.inputs.items():
        spec = spec or {}
        if "optional" in spec and not case.get(spec["optional"], True):
            made[name] = None
            continue
        kind = case_kind(case) if spec.get("kind") == "case" else spec.get("kind", "normal")
        if "make" in spec:
            value = MAKERS[spec["make"]](rng, case, spec, made, options)
        elif "shape" in spec:
            value = draw(rng, case[spec["shape"]], kind)
        elif "size" in spec:
            key, axis = spec["size"]
            value = draw(rng, (case[key][axis],), kind)
        else:
            raise ValueError(f"input {name}: give shape, size or make")
        if "scale" in spec:
            value = ({k: v * float(spec["scale"]) for k, v in value.items()} if isinstance(value, dict)
                     else value * float(spec["scale"]))
        made[name] = value
    return made


def sent(part, made):
    """The inputs passed to the student, positionally, in the table's order."""
    return [(n, v) for n, v in made.items() if (part.inputs[n] or {}).get("send", True)]


# ----------------------------------------------------------------- makers
@maker
def max_pool_values(rng, case, spec, made, options):
    """The max-pooled values of the input ``of`` (torch's pool, with the case's pool options)."""
    return _pooled(made[spec["of"]], options)[0]


@maker
def max_pool_indices(rng, case, spec, made, options):
    """torch's max-pool indices of the input ``of``: what max_unpool2d receives."""
    return _pooled(made[spec["of"]], options)[1]


def _pooled(x, options):
    from . import oracle

    kw = {k: options[k] for k in ("kernel_size", "stride", "padding") if k in options}
    return oracle.pool_indices(x, **kw)


@maker
def unfold_cols(rng, case, spec, made, options):
    """Columns (N, C*KH*KW, L) for col2im: N = case batch, C = case channels, L from output_size."""
    kh, kw = pair(options["kernel_size"])
    s, p, d = (pair(options.get(k, dflt)) for k, dflt in (("stride", 1), ("padding", 0), ("dilation", 1)))
    size = pair(options["output_size"])
    blocks = math.prod((size[i] + 2 * p[i] - d[i] * ((kh, kw)[i] - 1) - 1) // s[i] + 1 for i in range(2))
    return draw(rng, (case["batch"], case["channels"] * kh * kw, blocks))


@maker
def fc_weight(rng, case, spec, made, options):
    """A fully connected layer's weight (K, C*H*W): K = case classes, (C, H, W) = case input_size."""
    return draw(rng, (case["classes"], math.prod(case["input_size"])))


@maker
def fc_bias(rng, case, spec, made, options):
    return draw(rng, (case["classes"],))


@maker
def fcn_params(rng, case, spec, made, options):
    """The FCN's parameter dict for the case's `widths` (F1, F2, F3, K), shapes from the oracle's FCN_LAYERS."""
    from .oracle import fcn_shapes

    shapes = fcn_shapes(made[spec["channels_of"]].shape[1], case["widths"])
    return {k: draw(rng, shape) for k, shape in shapes.items()}
