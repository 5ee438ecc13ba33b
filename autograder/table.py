"""Load and validate the case table (cases.yaml)."""

from dataclasses import dataclass, field
from pathlib import Path

import yaml

TABLE = Path(__file__).resolve().parent / "cases.yaml"
MODULES = ("conv", "pooling", "dilated", "toeplitz", "transposed", "upsample", "fcn")
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


@dataclass
class Part:
    id: str
    number: str
    title: str
    module: str
    check: str
    weight: float
    cases: list
    visibility: str = "visible"

    @property
    def visible_cases(self):
        return [c for c in self.cases if not c.get("hidden")]


@dataclass
class Table:
    parts: list
    limits: dict = field(default_factory=dict)

    @property
    def total(self):
        return sum(p.weight for p in self.parts)

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
        return Table([p for p in self.parts if p.id in ids], self.limits)

    def visible_only(self):
        """The table without hidden cases (what the student handout ships)."""
        parts = [Part(**{**p.__dict__, "cases": p.visible_cases}) for p in self.parts if p.visible_cases]
        return Table(parts, self.limits)

    def to_yaml(self):
        data = {"limits": self.limits, "parts": [dict(p.__dict__) for p in self.parts]}
        return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120)


def load(path=None):
    path = Path(path or TABLE)
    # libyaml's loader where PyYAML has it: the same data, ~10x faster than the pure-Python one.
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    parts = []
    from .parts import CHECKERS

    for raw in data["parts"]:
        part = Part(
            id=str(raw["id"]), number=str(raw["number"]), title=str(raw["title"]),
            module=str(raw["module"]), check=str(raw["check"]), weight=float(raw["weight"]),
            cases=[dict(c) for c in raw.get("cases", [])], visibility=str(raw.get("visibility", "visible")),
        )
        problems = []
        if part.module not in MODULES:
            problems.append(f"unknown module {part.module!r}")
        if part.check not in CHECKERS:
            problems.append(f"unknown check {part.check!r}")
        if part.visibility not in VISIBILITIES:
            problems.append(f"visibility must be one of {VISIBILITIES}")
        if not part.cases:
            problems.append("no cases")
        if part.weight < 0:
            problems.append("negative weight")
        if problems:
            raise ValueError(f"{path}: part {part.id}: " + "; ".join(problems))
        parts.append(part)
    ids = [p.id for p in parts]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: duplicate part ids")
    return Table(parts, dict(data.get("limits") or {}))
