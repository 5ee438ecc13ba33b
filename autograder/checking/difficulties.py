"""Difficulties: what students get wrong, each a predicate on a case, and which case meets it alone.

The case table defines every difficulty once, in its top-level ``difficulties:`` map:

    nonsquare_input:
      text: "a non-square input (H != W): a loop or a size taken from the wrong axis"
      when: "H != W"             # an expression over the named quantities of a case (QUANTITIES)
      turns: [input]             # the knobs (KNOBS) a case may turn away from the plain case

A part lists the difficulties that apply to it (``difficulties:``, usually a template's list) and marks
one visible case ``plain: true``: its simplest geometry (square input, square kernel, scalar options, a
bias, padding 0 where 0 is simplest). A visible case ISOLATES a difficulty when its predicate holds for
the case and not for the plain case, and the case differs from the plain case only in the knobs that
difficulty turns. Everything here is computed from the table alone: no input is drawn, no torch.

``when`` is evaluated by a small interpreter of Python's expression syntax (names, numbers, + - * // %,
comparisons, and / or / not), never by eval.
"""

import ast
import operator
from dataclasses import dataclass

from .inputs import pair

# name -> what it is (shown by `python -m autograder coverage --legend` and checked by tests/test_coverage.py)
QUANTITIES = {
    "N": "batch size (the input's first axis; col2im: the case's batch)",
    "C": "input channels (toeplitz and fc_to_conv: input_size[0]; col2im: the case's channels)",
    "F": "filters: output channels of a convolution (w.shape[0]; transposed: w.shape[1]); fc_to_conv: classes",
    "H": "input height: x, max_unpool's input before pooling, toeplitz's input_size, col2im's output_size",
    "W": "input width (as H)",
    "KH": "kernel height (w.shape[2] or kernel_size)",
    "KW": "kernel width",
    "EKH": "effective kernel height, dh * (KH - 1) + 1",
    "EKW": "effective kernel width",
    "sh": "stride along the height, as used (pooling and unpooling without one: the kernel)",
    "sw": "stride along the width",
    "ph": "padding of the height",
    "pw": "padding of the width",
    "dh": "dilation along the height",
    "dw": "dilation along the width",
    "oph": "output_padding of the height",
    "opw": "output_padding of the width",
    "fh": "scale factor along the height (upsampling)",
    "fw": "scale factor along the width",
    "H_out": "output height by the part's size formula (unpooling and col2im: the number of windows)",
    "W_out": "output width (as H_out)",
    "rest_h": "rows the windows leave out at the bottom: (H + 2*ph - EKH) % sh (> 0: the last partial window "
              "is dropped)",
    "rest_w": "columns the windows leave out at the right: (W + 2*pw - EKW) % sw",
    "UH": "max_unpool: the output height output_size=None gives, (H_out - 1)*sh - 2*ph + KH",
    "UW": "max_unpool: the output width output_size=None gives",
    "OH": "max_unpool: the output height asked for (output_size, else UH)",
    "OW": "max_unpool: the output width asked for (output_size, else UW)",
    "stride_none": "stride not given: pooling's default, stride = kernel_size",
    "bias": "a bias is passed (false: b=None)",
    "ties": "integer inputs with ties (kind: ties)",
    "constant": "all inputs equal (kind: constant)",
    "layers": "receptive_field: the number of layers",
    "max_stride": "receptive_field: the largest stride (1 when strides are not given)",
    "max_dilation": "receptive_field: the largest dilation (1 when dilations are not given)",
    "kernels_differ": "receptive_field: the layers' kernel sizes are not all equal",
}

# knob -> what a case may change with it; a case isolates a difficulty only by turning the knobs it lists
KNOBS = {
    "batch": "N",
    "channels": "C",
    "filters": "F (fcn: its widths)",
    "input": "the input's size (H, W)",
    "kernel": "the kernel's size (KH, KW); receptive_field: the kernel sizes",
    "stride": "the stride (sh, sw); receptive_field: the strides",
    "padding": "the padding (ph, pw)",
    "dilation": "the dilation (dh, dw); receptive_field: the dilations",
    "output_padding": "the output_padding (oph, opw)",
    "output_size": "max_unpool's output_size (given or not)",
    "scale": "the scale factor (fh, fw)",
    "bias": "b=None or a bias",
    "kind": "the kind of input: normal, ties, constant",
    "form": "the form of the options: which are given as a pair, which are left to a None default",
}

PAIRABLE = ("kernel_size", "stride", "padding", "dilation", "output_padding", "scale_factor")
COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
           ast.Gt: operator.gt, ast.GtE: operator.ge}
ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv,
              ast.Mod: operator.mod}


class Unknown(KeyError):
    """A predicate names a quantity the case does not have (the difficulty does not apply to the part)."""


# ----------------------------------------------------------------- the predicate language
def parse(text):
    """The syntax tree of a predicate; ValueError naming what is not allowed (calls, attributes, ...)."""
    try:
        tree = ast.parse(str(text), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"not an expression: {text!r} ({exc.msg})") from None
    for node in ast.walk(tree):
        allowed = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.Compare,
                   ast.BinOp, ast.Name, ast.Load, ast.Constant, *COMPARE, *ARITHMETIC)
        if not isinstance(node, allowed):
            raise ValueError(f"{text!r}: {type(node).__name__} is not allowed (names, numbers, + - * // %, "
                             "comparisons, and/or/not only)")
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float)):
            raise ValueError(f"{text!r}: only numbers and True/False, not {node.value!r}")
        if isinstance(node, ast.Name) and node.id not in QUANTITIES:
            raise ValueError(f"{text!r}: unknown quantity {node.id!r} (one of {', '.join(QUANTITIES)})")
    return tree


def evaluate(tree, values):
    """The value of a parsed predicate for the quantities ``values``; Unknown when it names one they lack."""
    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in values:
                raise Unknown(node.id)
            return values[node.id]
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                return all(ev(v) for v in node.values)
            return any(ev(v) for v in node.values)
        if isinstance(node, ast.UnaryOp):
            return (not ev(node.operand)) if isinstance(node.op, ast.Not) else -ev(node.operand)
        if isinstance(node, ast.BinOp):
            return ARITHMETIC[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.Compare):
            left = ev(node.left)
            for op, right_node in zip(node.ops, node.comparators):
                right = ev(right_node)
                if not COMPARE[type(op)](left, right):
                    return False
                left = right
            return True
        raise ValueError(f"cannot evaluate {type(node).__name__}")  # parse() lets nothing else through

    return ev(tree)


@dataclass(frozen=True)
class Difficulty:
    name: str
    text: str  # for staff (coverage) and, one day, students
    when: str  # the predicate, as written in the table
    turns: tuple  # knobs a case may turn away from the plain case to isolate it
    tree: object = None

    def holds(self, values):
        return bool(evaluate(self.tree, values))


def difficulty(name, raw):
    """A Difficulty from its table entry; ValueError naming what is wrong."""
    if not isinstance(raw, dict) or set(raw) - {"text", "when", "turns"} or not {"text", "when", "turns"} <= set(raw):
        raise ValueError(f"difficulty {name}: give exactly text, when and turns")
    turns = raw["turns"] if isinstance(raw["turns"], list) else [raw["turns"]]
    unknown = [k for k in turns if k not in KNOBS]
    if unknown or not turns:
        raise ValueError(f"difficulty {name}: unknown knobs {unknown} (one of {', '.join(KNOBS)})")
    try:
        tree = parse(raw["when"])
    except ValueError as exc:
        raise ValueError(f"difficulty {name}: {exc}") from None
    return Difficulty(str(name), str(raw["text"]), str(raw["when"]), tuple(turns), tree)


def difficulties(raw):
    """{name: Difficulty} of the table's ``difficulties:`` map (absent: none)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError("difficulties must map each name to {text, when, turns}")
    return {str(name): difficulty(name, entry) for name, entry in raw.items()}


# ----------------------------------------------------------------- a case's quantities and knobs
def none_default(part, option):
    """Options whose default, None, means something else than a value (pooling's stride = kernel_size)."""
    return option == "stride" and part.size in ("pool", "unpool")


def _shape(part, case, weights):
    """The case's 4-D shape of the weights (``weights``) or of the first other shaped input."""
    for name, spec in part.inputs.items():
        key = (spec or {}).get("shape")
        if key in case and (name == "w") == weights and isinstance(case[key], list) and len(case[key]) == 4:
            return [int(v) for v in case[key]]
    return None


def measure(part, case):
    """(quantities, knobs) of ``case``: the named numbers its predicates may use, and the value of every
    knob (for the comparison with the plain case), from the table alone. A quantity a part has no use for
    (a stride where the part takes none) is absent: a predicate naming it does not apply to the part."""
    q, knobs, opts = {}, {}, set(part.options)
    x, w = _shape(part, case, False), _shape(part, case, True)
    if x:
        q.update(N=x[0], C=x[1], H=x[2], W=x[3])
    elif "input_size" in case:  # toeplitz, fc_to_conv: (C, H, W)
        q.update(zip(("C", "H", "W"), (int(v) for v in case["input_size"])))
    elif part.size == "fold" and "output_size" in case:  # col2im: the image the columns come from
        q.update(zip(("H", "W"), pair(case["output_size"])))
        q.update(N=int(case.get("batch", 1)), C=int(case.get("channels", 1)))
    if w:
        q["F"] = w[1] if part.size == "tconv" else w[0]
        q.setdefault("C", w[0] if part.size == "tconv" else w[1])
        q["KH"], q["KW"] = w[2], w[3]
    elif "kernel_size" in case:
        q["KH"], q["KW"] = pair(case["kernel_size"])
    if "classes" in case:
        q["F"] = int(case["classes"])
    if "KH" in q:
        stride_default = (q["KH"], q["KW"]) if none_default(part, "stride") else (1, 1)
        geometry = {"s": pair(case["stride"]) if case.get("stride") is not None else stride_default,
                    "p": pair(case.get("padding", 0)), "d": pair(case.get("dilation", 1)),
                    "op": pair(case.get("output_padding", 0))}
        q["EKH"], q["EKW"] = (geometry["d"][a] * ((q["KH"], q["KW"])[a] - 1) + 1 for a in range(2))
        _outputs(part, case, q, geometry)
        for key, option in (("s", "stride"), ("p", "padding"), ("d", "dilation"), ("op", "output_padding")):
            if option in opts:  # only the options the part takes are quantities of its cases
                q[f"{key}h"], q[f"{key}w"] = geometry[key]
        if none_default(part, "stride") and "stride" in opts:
            q["stride_none"] = case.get("stride") is None
    if "scale_factor" in opts:
        q["fh"], q["fw"] = pair(case.get("scale_factor", 1))
        if "H" in q:
            q["H_out"], q["W_out"] = q["H"] * q["fh"], q["W"] * q["fw"]
    for spec in part.inputs.values():
        spec = spec or {}
        if spec.get("optional") == "bias":
            q["bias"] = bool(case.get("bias", True))
        if spec.get("kind") == "case":
            q["ties"], q["constant"] = case.get("kind") == "ties", case.get("kind") == "constant"
    if "kernel_sizes" in case:  # receptive_field: lists, one entry per layer
        ks = [int(k) for k in case["kernel_sizes"]]
        strides, dilations = case.get("strides") or [1] * len(ks), case.get("dilations") or [1] * len(ks)
        q.update(layers=len(ks), max_stride=max(strides), max_dilation=max(dilations), kernels_differ=len(set(ks)) > 1)
        knobs.update(kernel=tuple(ks), stride=tuple(strides), dilation=tuple(dilations))
    form = {f"{o} as a pair" for o in opts & set(PAIRABLE) if isinstance(case.get(o), list)}
    form |= {f"{o} not given" for o in opts if case.get(o) is None and none_default(part, o)}
    knobs.setdefault("kernel", (q.get("KH"), q.get("KW")))
    knobs.setdefault("stride", (q.get("sh"), q.get("sw")))
    knobs.setdefault("dilation", (q.get("dh"), q.get("dw")))
    knobs.update(batch=q.get("N"), channels=q.get("C"), input=(q.get("H"), q.get("W")),
                 filters=tuple(case["widths"]) if "widths" in case else q.get("F"),
                 padding=(q.get("ph"), q.get("pw")), output_padding=(q.get("oph"), q.get("opw")),
                 output_size=tuple(case["output_size"]) if part.size == "unpool" and case.get("output_size") else None,
                 scale=(q.get("fh"), q.get("fw")), bias=q.get("bias"), kind=case.get("kind", "normal"),
                 form=frozenset(form))
    return q, knobs


def _outputs(part, case, q, g):
    """H_out, W_out by the part's size formula (unpooling, col2im: the number of windows), with rest_h,
    rest_w for windows, and max_unpool's UH, UW, OH, OW. ``g``: stride, padding, dilation, output_padding."""
    kind = part.size or "conv"
    n, ek, s, p = (q["H"], q["W"]) if "H" in q else None, (q["EKH"], q["EKW"]), g["s"], g["p"]
    if n is None:
        return
    if kind == "tconv":
        q["H_out"], q["W_out"] = ((n[a] - 1) * s[a] - 2 * p[a] + ek[a] + g["op"][a] for a in range(2))
    if kind not in ("conv", "pool", "unpool", "fold"):
        return
    q["H_out"], q["W_out"] = ((n[a] + 2 * p[a] - ek[a]) // s[a] + 1 for a in range(2))
    q["rest_h"], q["rest_w"] = ((n[a] + 2 * p[a] - ek[a]) % s[a] for a in range(2))
    if kind == "unpool":
        q["UH"], q["UW"] = ((out - 1) * s[a] - 2 * p[a] + (q["KH"], q["KW"])[a]
                            for a, out in enumerate((q["H_out"], q["W_out"])))
        given = case.get("output_size")
        q["OH"], q["OW"] = pair(given) if given else (q["UH"], q["UW"])


# ----------------------------------------------------------------- isolation
def plain_cases(part):
    """[(index, case)] of the visible cases marked ``plain: true`` (indices from 1, as the grader numbers
    cases). A hidden case's mark is ignored: a hidden copy of the plain case is no second plain case."""
    return [(i, c) for i, c in enumerate(part.cases, 1) if c.get("plain") and not c.get("hidden")]


def plain_case(part):
    """(index, case) of the part's plain case, or None unless exactly one visible case is marked."""
    marked = plain_cases(part)
    return marked[0] if len(marked) == 1 else None


def turned(knobs, plain_knobs):
    """The knobs in which a case differs from the plain case."""
    return {k for k in KNOBS if knobs.get(k) != plain_knobs.get(k)}


def isolates(d, measured, plain_measured):
    """True when a case (its measure()) meets difficulty ``d`` and the plain case does not, and the case
    turns no knob but those ``d`` turns."""
    (q, knobs), (pq, pknobs) = measured, plain_measured
    return d.holds(q) and not d.holds(pq) and turned(knobs, pknobs) <= set(d.turns)


def part_problems(part, known):
    """What stops the table in a part's difficulties: an unknown name, a predicate that names a quantity the
    part's cases lack (the difficulty does not apply to the part) or that cannot be computed. (A missing or
    doubled plain case only leaves the difficulties unchecked: coverage.py reports it, grading goes on.)"""
    if not isinstance(part.difficulties, list):
        return ["difficulties must be a list of names from the table's difficulties map"]
    problems = [f"unknown difficulty {n!r} (not in the table's difficulties map)"
                for n in part.difficulties if n not in known]
    measured = [measure(part, case)[0] for case in part.cases] if part.difficulties else []
    for n in dict.fromkeys(n for n in part.difficulties if n in known):
        for i, q in enumerate(measured, 1):
            try:
                known[n].holds(q)
            except Unknown as exc:
                problems.append(f"difficulty {n} does not apply: case {i} has no quantity {exc.args[0]}")
                break
            except (ArithmeticError, TypeError) as exc:
                problems.append(f"difficulty {n}: {known[n].when!r} fails on case {i} ({exc})")
                break
    return problems
