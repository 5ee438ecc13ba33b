"""The worker's system-call policy, read from syscalls.yaml: what is allowed, with which arguments, and why.

The grader loads the list (PyYAML), checks it, and sends the worker its own architecture's part as plain JSON
in its start-up config (``for_machine``); the worker compiles that into its seccomp filter
(seccomp.seccomp_program). ``decide`` is the same policy evaluated in Python: the tests hold the compiled
filter against it, and tools/trace_syscalls.py uses it to show which traced calls the filter refuses.
"""

import errno
import functools
import os
from pathlib import Path

import yaml

POLICY = Path(__file__).with_name("syscalls.yaml")
KINDS = {"in": "in", "all_bits": "all", "no_bits": "none"}  # a constraint in the file -> in the compact form
ALLOW = "allow"


class PolicyError(ValueError):
    pass


@functools.cache
def load(path=POLICY):
    """The parsed and checked syscalls.yaml: {"architectures", "consts", "allow", "refused"}."""
    data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    for key in ("architectures", "consts", "allow", "refused"):
        if not isinstance(data.get(key), dict):
            raise PolicyError(f"{path}: `{key}` must be a mapping")
    arches, consts = data["architectures"], data["consts"]
    seen = {arch: {} for arch in arches}
    for name, entry in data["allow"].items():
        if not isinstance(entry, dict) or not str(entry.get("why", "")).strip():
            raise PolicyError(f"{name}: every entry says why it is allowed (`why:`)")
        unknown = set(entry) - {"nr", "why", "only", "errno", "otherwise"}
        if unknown:
            raise PolicyError(f"{name}: unknown keys {sorted(unknown)}")
        nrs = entry.get("nr")
        if not isinstance(nrs, dict) or not nrs or set(nrs) - set(arches):
            raise PolicyError(f"{name}: `nr` maps architectures among {sorted(arches)} to numbers")
        for arch, nr in nrs.items():
            if not isinstance(nr, int) or nr < 0:
                raise PolicyError(f"{name}: bad number {nr!r} for {arch}")
            if nr in seen[arch]:
                raise PolicyError(f"{name} and {seen[arch][nr]} have the same number {nr} on {arch}")
            seen[arch][nr] = name
        for key in ("errno", "otherwise"):
            if key in entry and not hasattr(errno, str(entry[key])):
                raise PolicyError(f"{name}: unknown errno {entry[key]!r}")
        if "otherwise" in entry and "only" not in entry:
            raise PolicyError(f"{name}: `otherwise` is the answer where `only` fails: it needs an `only`")
        if "only" in entry:
            _constraints(name, entry["only"], consts)
    return data


def _constraints(name, only, consts):
    """The constraints of an entry (one, or a list that must all hold), each as [arg, kind, values]."""
    return [_constraint(name, c, consts) for c in (only if isinstance(only, list) else [only])]


def _constraint(name, only, consts):
    """A constraint of the file as [arg, kind, values] (values: ints, "self" or "-self")."""
    if not isinstance(only, dict) or not isinstance(only.get("arg"), int) or not 0 <= only["arg"] < 6:
        raise PolicyError(f"{name}: `only` needs an argument index `arg` (0..5)")
    kinds = [k for k in KINDS if k in only]
    if len(kinds) != 1 or set(only) - {"arg", *KINDS}:
        raise PolicyError(f"{name}: `only` holds `arg` and exactly one of {sorted(KINDS)}")
    raw = only[kinds[0]]

    def value(v):
        if v in ("self", "-self"):
            if kinds[0] != "in":
                raise PolicyError(f"{name}: self is only a value of `in`")
            return v
        v = consts.get(v, v) if isinstance(v, str) else v
        if not isinstance(v, int):
            raise PolicyError(f"{name}: {v!r} is neither a number nor a name of `consts`")
        return v & 0xFFFFFFFF

    values = [value(v) for v in raw] if kinds[0] == "in" else [value(raw)]
    return [only["arg"], KINDS[kinds[0]], values]


def for_machine(machine=None, path=POLICY):
    """The compact, JSON-able policy of one architecture for the worker's config, or None where the file has
    none (the worker then runs without a filter and says so):
    {"machine", "audit_arch", "x32_bit", "rules": [[nr, errno (0: allow), [constraint, ...] or None, the errno
    where a constraint fails]]}."""
    machine = machine or os.uname().machine
    data = load(path)
    arch = data["architectures"].get(machine)
    if arch is None:
        return None
    rules = []
    for name, entry in data["allow"].items():
        nr = entry["nr"].get(machine)
        if nr is None:
            continue
        refused = getattr(errno, entry["errno"]) if "errno" in entry else 0
        only = _constraints(name, entry["only"], data["consts"]) if "only" in entry else None
        rules.append([nr, refused, only, getattr(errno, entry.get("otherwise", "EPERM"))])
    return {"machine": machine, "audit_arch": arch["audit_arch"], "x32_bit": arch.get("x32_bit", 0),
            "rules": sorted(rules)}


def numbers(machine=None, path=POLICY):
    """{name: number} of the allowed calls of one architecture."""
    machine = machine or os.uname().machine
    return {name: e["nr"][machine] for name, e in load(path)["allow"].items() if machine in e["nr"]}


def decide(policy, nr, args=(), pid=1, arch=None):
    """What the filter answers to call ``nr`` with ``args`` (six ints) from the worker ``pid``: "allow" or an
    errno number. Mirrors seccomp.seccomp_program rule for rule."""
    args = list(args) + [0] * (6 - len(args))
    if arch is not None and arch != policy["audit_arch"]:
        return errno.EPERM
    if policy["x32_bit"] and nr >= policy["x32_bit"]:
        return errno.EPERM
    for rule_nr, refused, only, otherwise in policy["rules"]:
        if rule_nr != nr:
            continue
        if refused:
            return refused
        return ALLOW if only is None or all(_holds(c, args, pid) for c in only) else otherwise
    return errno.EPERM


def _holds(constraint, args, pid):
    index, kind, values = constraint
    low = args[index] & 0xFFFFFFFF
    values = [{"self": pid, "-self": -pid}.get(v, v) & 0xFFFFFFFF if isinstance(v, str) else v for v in values]
    if kind == "in":
        return low in values
    if kind == "all":
        return low & values[0] == values[0]
    return not low & values[0]
