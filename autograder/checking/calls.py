"""One call into student code through the sandbox: arguments out, the decoded reply and in-place checks back.

The grader passes the leading arrays positionally and every option by keyword (ASSIGNMENT.md). The
worker echoes every input array after the call, so a change made in place is caught; a backward also
echoes the arrays its forward received (through the cache handle), so a backward that writes into the
forward's x is caught too. What the call printed is kept (``output``) for the feedback of visible cases.
"""

import numpy as np

from ..sandbox.codec import decode
from .compare import RTOL_OUT, compare_array, type_name


class Failed(Exception):
    """Stops a case early with its problems (e.g. the forward failed, so no backward)."""

    def __init__(self, lines):
        super().__init__("\n".join(lines))
        self.lines = lines


def function_of(ref):
    """("conv", "conv2d_forward") from the table's "conv.conv2d_forward"."""
    module, _, func = ref.rpartition(".")
    return module, func


class Call:
    """``ref(*args, **kwargs)`` in the sandbox; ``returns`` names the tuple it must return (a string: one
    bare value). An element named ``cache`` stays in the worker and comes back as a handle."""

    def __init__(self, sb, ref, named_args, kwargs, returns="value"):
        self.module, self.func = function_of(ref)
        self.returns = returns
        self.names, self.originals = [], []  # every input array (also inside dicts), for the in-place checks
        for name, value in [*named_args, *kwargs.items()]:
            self._collect(name, value)
        tupled = isinstance(returns, list)
        keep = returns.index("cache") if tupled and "cache" in returns else None
        reply = sb.call(self.module, self.func, [v for _, v in named_args], kwargs, keep=keep,
                        expect_len=len(returns) if tupled else None)
        self.value = decode(reply.result["result"], reply.arrays)
        self.output = reply.output  # what the call printed (shown for visible cases only)
        self.used = list(reply.used)  # the graded functions it ran (the worker's record, student-controlled)
        self.cache = reply.cache
        self.echo = [decode(d, reply.arrays) for d in reply.result.get("echo", [])]
        self.views = views(reply)
        self.origin_echo = {int(h): [decode(d, reply.arrays) for d in ds]
                            for h, ds in reply.result.get("origin_echo", {}).items()}

    def _collect(self, name, value):
        if isinstance(value, np.ndarray):
            self.names.append(name)
            self.originals.append(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                self._collect(f"{name}['{k}']", v)

    def outputs(self):
        """{name: value} of what the call returned (the cache left out), checked for type and length."""
        if not isinstance(self.returns, list):
            return {self.returns: self.value}
        v = self.value
        if not isinstance(v, tuple) or len(v) != len(self.returns):
            raise Failed([f"{self.func} must return a tuple ({', '.join(self.returns)}), got {type_name(v)}"])
        return {n: x for n, x in zip(self.returns, v) if n != "cache"}

    def shared(self, name, value, names):
        """A problem when the returned ``value`` shares memory with an input array (the worker's record:
        ``names`` are the call's input arrays in order, a backward's followed by its forward's), else []."""
        j = self.views.get(id(value)) if isinstance(value, np.ndarray) else None
        if j is None:
            return []
        src = names[j] if j < len(names) else "one of the inputs"
        return [f"{name} shares memory with the input {src} ({src} itself, or a view of it: a reshape, a slice or a "
                "transpose without a copy): the contract promises a new array, and a caller who changes "
                f"{src} afterwards would see {name} change; return a copy (.copy() or np.array(...))"]

    def unchanged(self, when):
        """Problems if the call modified any of its input arrays in place."""
        return modified(self.names, self.originals, self.echo, self.func, when)


def views(reply):
    """{id of a returned array: index of the input it shares memory with}, from the worker's record (student-
    controlled, like everything it sends: at worst it fails the student's own value); malformed entries are dropped."""
    out = {}
    for item in list(reply.result.get("views") or [])[:64]:
        if (isinstance(item, list) and len(item) == 2 and all(type(v) is int for v in item)
                and 0 <= item[0] < len(reply.arrays) and item[1] >= 0):
            out[id(reply.arrays[item[0]])] = item[1]
    return out


def modified(names, originals, echoed, func, when):
    """Problems when a call changed one of its input arrays in place (the worker echoes every input after the
    call); an echo that is missing or short is a problem too (the worker's reply was tampered with)."""
    if len(echoed) != len(originals):
        return [f"{func}: the worker did not send back the call's {len(originals)} input arrays (its reply "
                "was changed from inside the worker?)"]
    lines = []
    for name, orig, now in zip(names, originals, echoed):
        if not isinstance(now, np.ndarray) or now.shape != orig.shape or not np.array_equal(now, orig, equal_nan=True):
            where = f" ({when})" if when else ""
            lines.append(f"{func} modified its input {name} in place{where}; "
                         "hint: work on a copy (np.pad, x.copy()), never write into the caller's arrays")
    return lines


def check_backward_inputs(bwd, fwd):
    """In-place checks after the backward: its own inputs and the forward's (via the cache)."""
    lines = bwd.unchanged("in the backward")
    if fwd.cache is not None and fwd.cache.handle in bwd.origin_echo:
        lines += modified(fwd.names, fwd.originals, bwd.origin_echo[fwd.cache.handle], fwd.func,
                          "during the backward")
    return lines


def expect(name, got, expected, rtol=RTOL_OUT, why_none="", errors=True):
    """Problems of one returned value against the oracle's (None expected: must be None)."""
    if expected is None:
        if got is not None:
            return [f"{name}: expected None ({why_none}), got {type_name(got)}"]
        return []
    return compare_array(name, got, expected, rtol=rtol, integer=expected.dtype.kind in "iu", errors=errors) or []
