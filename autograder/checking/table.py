"""Load and validate the case table (cases.yaml): every part as data, and everything derived from it.

The graded modules, the upload list, the README's parts tables and the handout's visible cases all come
from here; nothing restates them. See the comments at the top of cases.yaml for the schema.
"""

import ast
import marshal
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

TABLE = Path(__file__).resolve().parent.parent / "cases.yaml"
ORACLE = Path(__file__).resolve().parent / "oracle.py"
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
HIDDEN_FEEDBACK = ("where", "config", "none")  # what a hidden case shows, most first (grading/feedback.py)
REF = re.compile(r"^[A-Za-z_]\w*\.[A-Za-z_]\w*$")
# case keys that configure the grader, not the student's call (never shown as options)
META_KEYS = {"seed", "secret_seed", "hidden", "repeats", "max_ratio", "torch_repeats", "kind", "bias", "plain", "fresh"}
# a part's lists that may extend a template's: `mistakes: [*conv_mistakes, my_mistake]` nests the template's list,
# which the loader flattens (YAML has no concatenation; a nested list survives any YAML library's round trip)
EXTENSIBLE = ("mistakes", "difficulties", "options")


@dataclass
class Part:
    id: str
    number: str
    title: str
    weight: float
    cases: list
    forward: str  # "module.function" the part calls first (the only one for a function part)
    oracle: str = ""  # a function of oracle.py, called like the forward (+ dout=...)
    returns: object = "out"  # the forward's tuple of names, or one name (a bare value); "cache" stays in the worker
    inputs: dict = field(default_factory=dict)  # argument name -> spec (inputs.py), in call order
    options: list = field(default_factory=list)  # case keys passed by keyword when the case has them
    backward: str = ""  # "module.function(upstream, cache)"
    grads: object = field(default_factory=list)  # inputs whose gradients the backward returns, in order;
    #                                              or one input's name: a dict of gradients keyed like it
    upstream: str = "dout"  # the backward's first argument
    grade_forward: bool = True  # False: the forward only feeds the backward (its own part grades it)
    forward_share: float = 0.5  # graded forward + backward: the share of each case the right forward earns
    mistakes: list = field(default_factory=list)  # names in mistakes.MISTAKES, most specific first
    size: str = ""  # the output-size formula (sizes.KINDS) shown on a wrong shape or a shape error
    hidden_feedback: str = "where"  # hidden cases show: where (config + where it fails) | config | none
    check: str = "layer"  # the checker (parts.CHECKERS): the generic layer one unless the part is not a layer
    visibility: str = "visible"
    leaderboard: str = ""  # a Gradescope leaderboard column fed by the checker's metric (parts.METRICS); "": none
    difficulties: list = field(default_factory=list)  # names in the table's difficulties map (difficulties.py)
    new_arrays: list = field(default_factory=list)  # returned values the docstring promises as new arrays: one that
    #                                                 shares memory with an input (a view of it) fails the case

    @property
    def module(self):
        """The student file the part needs."""
        return self.forward.rpartition(".")[0]

    @property
    def modules(self):
        return list(dict.fromkeys(ref.rpartition(".")[0] for ref in (self.forward, self.backward) if ref))

    @property
    def outputs(self):
        """The forward's returned values that the oracle also computes, in order (the cache left out)."""
        names = self.returns if isinstance(self.returns, list) else [self.returns]
        return [n for n in names if n != "cache"]

    @property
    def backward_returns(self):
        if isinstance(self.grads, str):
            return "grads"
        names = [f"d{g}" for g in self.grads]
        return names[0] if len(names) == 1 else names

    def gradient_names(self, inputs):
        """[(value name, input name)] of the gradients the backward returns, for a case's inputs."""
        if isinstance(self.grads, str):
            return [(f"grads['{k}']", k) for k in inputs[self.grads]]
        return [(f"d{g}", g) for g in self.grads]

    @property
    def visible_cases(self):
        return [c for c in self.cases if not c.get("hidden")]

    def shape_keys(self):
        """{case key: label} of the inputs whose shape a case gives."""
        return {s["shape"]: s.get("label", name) for name, s in self.inputs.items() if s and "shape" in s}


def describe_case(part, case):
    """One line naming a case: input shapes and options as the student's call gets them, never values."""
    shapes = part.shape_keys()
    parts = []
    for k, v in case.items():
        if k in shapes and isinstance(v, list):
            parts.append(f"{shapes[k]} {tuple(v)}")
        elif k == "bias":
            parts.append("b=None" if not v else "")
        elif k not in META_KEYS:
            parts.append(f"{k}={tuple(v) if isinstance(v, list) else v}")
    from .difficulties import none_default

    if "stride" in part.options and "stride" not in case and none_default(part, "stride"):
        parts.append("stride not given (the default: kernel_size)")
    parts.append({"ties": "integer inputs with ties", "constant": "all inputs equal"}.get(case.get("kind"), ""))
    from .sizes import geometry_of_case

    g = geometry_of_case(part, case)
    if g is not None and g.kind in ("pool", "unpool", "fold") and g.overlaps:
        parts.append("overlapping windows")
    return ", ".join(p for p in parts if p)


@dataclass
class Table:
    parts: list
    limits: dict = field(default_factory=dict)
    path: Path = None
    rate_limit: dict = field(default_factory=dict)  # {submissions: N, hours: H} (ratelimit.py); {}: off
    difficulties: dict = field(default_factory=dict)  # name -> difficulties.Difficulty (the table's map)

    @property
    def total(self):
        return sum(p.weight for p in self.parts)

    @property
    def modules(self):
        """The graded student files (module names), in table order: what students upload."""
        return list(dict.fromkeys(m for p in self.parts for m in p.modules))

    @property
    def functions(self):
        """{module: [function]}: every graded function (a forward or backward of a part), by student file."""
        out = {}
        for p in self.parts:
            for ref in (p.forward, p.backward):
                module, _, func = ref.rpartition(".")
                if ref and func not in out.setdefault(module, []):
                    out[module].append(func)
        return out

    def part(self, pid):
        for p in self.parts:
            if p.id == pid:
                return p
        raise KeyError(pid)

    def select(self, ids):
        """Only the named parts (all when ids is empty); unknown names raise KeyError."""
        if not ids:
            return self
        unknown = [i for i in ids if i not in {p.id for p in self.parts}]
        if unknown:
            raise KeyError(", ".join(unknown))
        return Table([p for p in self.parts if p.id in ids], self.limits, self.path, self.rate_limit,
                     self.difficulties)

    def visible_only(self):
        """The table without hidden cases (what the student handout ships)."""
        parts = [Part(**{**p.__dict__, "cases": p.visible_cases}) for p in self.parts if p.visible_cases]
        return Table(parts, self.limits, self.path, self.rate_limit, self.difficulties)

    def to_yaml(self):
        defaults = {f.name: (f.default_factory() if callable(f.default_factory) else f.default) for f in fields(Part)}
        parts = [{k: v for k, v in p.__dict__.items() if k in ("id", "number", "title", "weight", "cases", "forward")
                  or v != defaults.get(k)} for p in self.parts]
        data = {"limits": self.limits, **({"rate_limit": self.rate_limit} if self.rate_limit else {}),
                **({"difficulties": {n: {"text": d.text, "when": d.when, "turns": list(d.turns)}
                                     for n, d in self.difficulties.items()}} if self.difficulties else {}),
                "parts": parts}
        return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120)


_PARSED = {}  # the text of a table -> its data, marshalled: a process reads its table more than once (MODULES, load)


def read(path=None):
    """The table's data (a fresh copy each call: callers may change it)."""
    text = Path(path or TABLE).read_text(encoding="utf-8")
    blob = _PARSED.get(text)
    if blob is None:
        # libyaml's loader where PyYAML has it: the same data, ~10x faster than the pure-Python one.
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        try:
            blob = marshal.dumps(data)
        except ValueError:  # a value marshal cannot hold (a YAML timestamp): not kept
            return data
        if len(_PARSED) < 8:
            _PARSED[text] = blob
    return marshal.loads(blob)


def write(data, path):
    """Write table data (as ``read`` returns it) to ``path`` with PyYAML: the anchors and comments of a hand-written
    table are gone, the data is the same. What tests and tools use to change a table, never its text."""
    Path(path).write_text(yaml.safe_dump(data, sort_keys=False, width=120, allow_unicode=True), encoding="utf-8")


def entries(text, path=None):
    """Table data written as in cases.yaml (a part entry, a list of them), read with the table at ``path``'s
    templates as its aliases: ``*conv_mistakes`` is ``templates: conv_mistakes``, ``<<: *conv`` merges
    ``templates: conv``. What a document or a test adds to a table, as data (``add_parts``)."""
    templates = read(path).get("templates") or {}
    representer = yaml.representer.SafeRepresenter(sort_keys=False)  # inputs keep their call order
    loader = yaml.SafeLoader(text)
    try:
        loader.anchors = {str(name): representer.represent_data(value) for name, value in templates.items()}
        return loader.get_single_data()
    finally:
        loader.dispose()


def add_parts(path, parts):
    """Append part entries (dicts, or their text for ``entries``) to the table at ``path``, through PyYAML."""
    if isinstance(parts, str):
        parts = entries(parts, path)
    data = read(path)
    data["parts"] = list(data.get("parts") or []) + list(parts if isinstance(parts, list) else [parts])
    write(data, path)
    return data


def flat(value):
    """A list with the lists nested in it spliced in, in order, each name once (``[[a, b], c, a]`` -> [a, b, c]);
    anything else unchanged."""
    if not isinstance(value, list):
        return value
    out = []

    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
            elif item not in out:
                out.append(item)

    walk(value)
    return out


def graded_modules(path=None):
    """The student modules the table at ``path`` grades, without validating it (cheap: no checker import)."""
    modules = []
    for raw in read(path).get("parts") or []:
        for key in ("forward", "backward"):
            ref = str(raw.get(key) or "")
            if ref and ref.rpartition(".")[0] not in modules:
                modules.append(ref.rpartition(".")[0])
    return tuple(modules)


def oracle_functions():
    tree = ast.parse(ORACLE.read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def load(path=None):
    path = Path(path or TABLE)
    data = read(path)
    from .difficulties import difficulties, part_problems as difficulty_problems
    from .inputs import MAKERS
    from .mistakes import MISTAKES
    from .parts import CHECKERS, METRICS

    known = {f.name for f in fields(Part)}
    oracles = oracle_functions()
    try:
        defined = difficulties(data.get("difficulties"))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    parts = []
    for raw in data.get("parts") or []:
        raw = {k: (flat(v) if k in EXTENSIBLE else v) for k, v in raw.items()
               if not k.startswith("_")}  # _keys: YAML anchors only
        pid = raw.get("id", "?")
        unknown = sorted(set(raw) - known)
        missing = [k for k in ("id", "number", "title", "weight", "forward") if k not in raw]
        if unknown or missing:
            raise ValueError(f"{path}: part {pid}: " + "; ".join(
                ([f"unknown keys {unknown}"] if unknown else []) + ([f"missing {missing}"] if missing else [])))
        raw.update(id=str(raw["id"]), number=str(raw["number"]), title=str(raw["title"]),
                   weight=float(raw["weight"]), cases=[dict(c) for c in raw.get("cases") or []],
                   inputs={k: dict(v or {}) for k, v in (raw.get("inputs") or {}).items()})
        part = Part(**raw)
        problems = part_problems(part, CHECKERS, oracles, MISTAKES, MAKERS) + difficulty_problems(part, defined)
        if part.leaderboard and not isinstance(part.leaderboard, str):
            problems.append("leaderboard must be the column's name (a string)")
        elif part.leaderboard and part.check not in METRICS:
            problems.append(f"leaderboard needs a checker that measures something (one of {sorted(METRICS)})")
        if problems:
            raise ValueError(f"{path}: part {part.id}: " + "; ".join(problems))
        parts.append(part)
    ids = [p.id for p in parts]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: duplicate part ids")
    return Table(parts, dict(data.get("limits") or {}), path, rate_limit_of(data.get("rate_limit"), path), defined)


def rate_limit_of(raw, path):
    """The table's ``rate_limit`` ({submissions: N, hours: H}, both > 0), or {} (off) when absent or null."""
    if raw is None or raw is False:
        return {}
    if not isinstance(raw, dict) or set(raw) != {"submissions", "hours"}:
        raise ValueError(f"{path}: rate_limit must be {{submissions: N, hours: H}}, got {raw!r}")
    n, hours = raw["submissions"], raw["hours"]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{path}: rate_limit submissions must be a whole number >= 1, got {n!r}")
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not 0 < hours < 24 * 366:
        raise ValueError(f"{path}: rate_limit hours must be a number of hours > 0, got {hours!r}")
    return {"submissions": n, "hours": float(hours)}


def part_problems(part, checkers, oracles, mistakes, makers):
    from .sizes import KINDS

    problems = []
    for key in ("forward", "backward"):
        ref = getattr(part, key)
        if ref and not REF.match(ref):
            problems.append(f"{key} must be module.function, got {ref!r}")
    if part.check not in checkers:
        problems.append(f"unknown check {part.check!r} (one of {sorted(checkers)})")
    if part.check == "layer" and part.oracle not in oracles:
        problems.append(f"oracle {part.oracle!r} is not a function of oracle.py")
    if part.backward and not part.grads:
        problems.append("a backward needs grads")
    if part.backward and (not isinstance(part.returns, list) or "cache" not in part.returns):
        problems.append("a part with a backward returns a tuple with a cache")
    if isinstance(part.grads, str) and part.grads not in part.inputs:
        problems.append(f"grads {part.grads!r} is not an input")
    elif isinstance(part.grads, list) and set(part.grads) - set(part.inputs):
        problems.append(f"grads {sorted(set(part.grads) - set(part.inputs))} are not inputs")
    problems += [f"unknown mistake {m!r} (not in mistakes.py)" for m in part.mistakes if m not in mistakes]
    values = set(part.outputs) | ({f"d{g}" for g in part.grads} if isinstance(part.grads, list) else set())
    if not isinstance(part.new_arrays, list) or set(part.new_arrays) - values:
        problems.append(f"new_arrays must list returned values (of {sorted(values)}), got {part.new_arrays!r}")
    if part.size and part.size not in KINDS:
        problems.append(f"size must be one of {KINDS}, got {part.size!r}")
    if part.hidden_feedback not in HIDDEN_FEEDBACK:
        problems.append(f"hidden_feedback must be one of {HIDDEN_FEEDBACK}, got {part.hidden_feedback!r}")
    if not isinstance(part.forward_share, (int, float)) or not 0 <= part.forward_share <= 1:
        problems.append(f"forward_share must be a number from 0 to 1, got {part.forward_share!r}")
    for name, spec in part.inputs.items():
        if "make" in spec and spec["make"] not in makers:
            problems.append(f"input {name}: unknown maker {spec['make']!r}")
        elif not {"make", "shape", "size"} & set(spec):
            problems.append(f"input {name}: give shape, size or make")
    if part.visibility not in VISIBILITIES:
        problems.append(f"visibility must be one of {VISIBILITIES}")
    if not part.cases:
        problems.append("no cases")
    if part.weight < 0:
        problems.append("negative weight")
    for i, case in enumerate(part.cases, 1):
        needed = [s[k] for s in part.inputs.values() for k in ("shape", "of") if k in s] + \
                 [s["size"][0] for s in part.inputs.values() if "size" in s]
        absent = [k for k in needed if k not in case and k not in part.inputs]
        if absent:
            problems.append(f"case {i}: missing {absent}")
        if "seed" not in case and not case.get("hidden"):
            problems.append(f"case {i}: no seed (a visible case needs one: students reproduce it)")
    return problems


MODULES = graded_modules()
