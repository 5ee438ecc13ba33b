"""Batch grading: what depends only on the table, the case and the batch's secret, computed once per batch.

In grade-all every submission is graded on the same visible cases (their seeds are the table's), so the
grader's inputs of a visible case, the oracle's outputs and gradients, and the oracle's answers for known
mistakes (``CaseRun.variant``, used by hints) are the same for every submission; hidden cases come from each
submission's own secret seed and are computed per grading. ``install()`` makes layer.CaseRun
keep them (layer.MEMO): in memory in each grading process and, given a folder, on disk as plain .npy data
(loaded with allow_pickle=False), so that the batch's grading processes compute each value once between them
(a per-key lock: the first process computes, the others wait and load it).

Keys hold nothing a student process produced: the part's id and entry, the case dict (seeds included) and
the random generator's state before the step; a variant is keyed by the content (sha256) of the grader's own
changed inputs and options. Cached arrays are read-only, so no caller can change an answer another
submission will get.

The speed part's yardstick (torch's time for the same convolution) is a figure of the machine, not a value:
``calibration()`` measures it once per batch too, so that every submission's ratio is taken against the same
yardstick; so is a clean worker's time to move the timed call's arrays (the tripwire's, ``batch_calibration``:
a submission whose own time is not suspiciously below it needs no clean worker of its own; one that is
is measured against a live clean worker as in one grading). Without install() (one grading, as on Gradescope)
nothing is cached and every figure is measured in the grading itself.
"""

import fcntl
import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path

import numpy as np

from . import layer


def install(folder=None):
    """Cache the deterministic values of every visible case from now on (this process); ``folder``: share them
    with the other grading processes of the batch through files there (a private folder of the batch). Hidden
    cases are drawn per submission (a seed of its own), so their values are never kept."""
    layer.MEMO = Memo(folder)
    return layer.MEMO


def uninstall():
    layer.MEMO = None


def calibration(key, measure):
    """``measure()``, once per batch when a Memo is installed (then keyed by ``key``, a JSON-able tuple)."""
    memo = layer.MEMO
    if memo is None:
        return measure()
    return memo.get(("calibration", *key), lambda: (measure(), None))[0]


def batch_calibration(key, measure):
    """``measure()`` once per batch where a Memo is installed (keyed by ``key``); None in one grading, which
    measures what it needs itself."""
    return None if layer.MEMO is None else calibration(key, measure)


# ----------------------------------------------------------------- (de)serialising a value tree
def _pack(value, arrays):
    if isinstance(value, np.ndarray):
        arrays.append(value)
        return {"a": len(arrays) - 1}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("only str keys")
        return {"d": {k: _pack(v, arrays) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"t" if isinstance(value, tuple) else "l": [_pack(v, arrays) for v in value]}
    if isinstance(value, np.generic):
        return {"v": value.item()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"v": value}
    raise TypeError(f"not cacheable: {type(value).__name__}")


def _unpack(node, arrays):
    (kind, v), = node.items()
    if kind == "a":
        return arrays[v]
    if kind == "d":
        return {k: _unpack(x, arrays) for k, x in v.items()}
    if kind in ("l", "t"):
        items = [_unpack(x, arrays) for x in v]
        return tuple(items) if kind == "t" else items
    return v


def frozen(value):
    """``value`` with every array in it read-only (in place: the arrays are the cache's own)."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, dict):
        for v in value.values():
            frozen(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            frozen(v)
    return value


def content(value):
    """A JSON-able fingerprint of a value the grader made (arrays by dtype, shape and sha256 of the bytes)."""
    if isinstance(value, np.ndarray):
        return ["array", value.dtype.str, list(value.shape),
                hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()]
    if isinstance(value, dict):
        return ["dict", sorted([str(k), content(v)] for k, v in value.items())]
    if isinstance(value, (list, tuple)):
        return ["list", [content(v) for v in value]]
    return ["value", repr(value)]


# ----------------------------------------------------------------- the memo
class Memo:
    """{key: (value, extra)} computed once: in memory, and in ``folder`` (if given) for the whole batch."""

    def __init__(self, folder=None):
        self.folder = Path(folder) if folder else None
        self.entries = {}
        self.lock = threading.Lock()
        self.parts = {}  # part id -> sha of its entry (the table is loaded once per process)
        self.hits = self.misses = 0
        self.missed = []  # the kind (first element) of every key computed here, in order

    def _digest(self, key):
        return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:40]

    def get(self, key, compute):
        """(value, extra): compute() returns the pair; the value is frozen and kept."""
        digest = self._digest(key)
        with self.lock:
            if digest in self.entries:
                self.hits += 1
                return self.entries[digest]
        kind = key[0] if isinstance(key, (list, tuple)) and key else "?"
        entry = self._shared(digest, compute, kind) if self.folder else None
        if entry is None:
            self.misses += 1
            self.missed.append(kind)
            value, extra = compute()
            entry = (frozen(value), extra)
        with self.lock:
            return self.entries.setdefault(digest, entry)

    def _shared(self, digest, compute, kind):
        """The entry from the batch's folder, computed here (under its lock) when no process has yet;
        None when the value cannot be stored as plain data (then it is kept in memory only)."""
        path = self.folder / f"{digest}.npz"
        fd = os.open(self.folder / f"{digest}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            loaded = self._load(path)
            if loaded is not None:
                self.hits += 1
                return loaded
            self.misses += 1
            self.missed.append(kind)
            value, extra = compute()
            entry = (frozen(value), extra)
            arrays = []
            try:
                meta = json.dumps({"value": _pack(value, arrays), "extra": _pack(extra, arrays)})
            except TypeError:
                return entry
            tmp = tempfile.NamedTemporaryFile(dir=self.folder, prefix=".tmp-", suffix=".npz", delete=False)
            with tmp:
                np.savez(tmp, meta=np.array(meta), **{f"a{i}": a for i, a in enumerate(arrays)})
            os.replace(tmp.name, path)
            return entry
        finally:
            os.close(fd)

    @staticmethod
    def _load(path):
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                arrays = [z[f"a{i}"] for i in range(len(z.files) - 1)]
        except (OSError, ValueError, KeyError):
            return None
        return frozen(_unpack(meta["value"], arrays)), _unpack(meta["extra"], arrays)

    # --------------------------------------------------------- CaseRun steps (layer.memo)
    def part_key(self, part):
        if part.id not in self.parts:
            entry = {k: v for k, v in part.__dict__.items() if k != "cases"}
            self.parts[part.id] = self._digest(entry)
        return [part.id, self.parts[part.id]]

    def step(self, run, step, args, kwargs):
        """One step of a CaseRun (its inputs, the oracle's answer, a variant), from the memo."""
        name = step.__name__
        if run.case.get("hidden") or run.case.get("fresh"):  # drawn from this submission's own seed (a hidden
            return step(run, *args, **kwargs)  # case, the speed part's timed inputs): worth nothing to the next
        if name == "_draw":
            (rng,) = args
            # the case's identity, hashed once: every later step's key starts with it. Not the grading's
            # secret_seed, which every case carries and only the speed part's fresh inputs use (as their seed)
            case = {k: v for k, v in run.case.items() if k != "secret_seed"}
            run._memo_key = [self._digest([*self.part_key(run.part), case, rng.bit_generator.state])]

            def draw():
                value = step(run, rng)
                return value, rng.bit_generator.state
            inputs, state = self.get(["inputs", *run._memo_key], draw)
            rng.bit_generator.state = state
            return inputs
        base = getattr(run, "_memo_key", None)
        if base is None:  # drawn before the memo was installed
            return step(run, *args, **kwargs)
        if name == "solve":
            def solve():
                expected = step(run)
                return expected, {"dout": run.dout, "rng": run.rng.bit_generator.state}
            expected, extra = self.get(["solve", *base], solve)
            run.dout = frozen(extra["dout"])
            run.rng.bit_generator.state = extra["rng"]
            run.expected = dict(expected)
            return run.expected
        if name == "variant":
            inputs, options, backward = (list(args) + [None, None, True])[:3]
            inputs, options = kwargs.get("inputs", inputs), kwargs.get("options", options)
            backward = kwargs.get("backward", backward)
            key = ["variant", *base, run.dout is None, content(inputs or {}), content(options or {}), bool(backward)]

            def variant():  # the oracle may refuse a mistake's options (a negative size): kept as such
                try:
                    return step(run, inputs, options, backward), None
                except Exception as exc:  # noqa: BLE001 - re-raised below, for every submission alike
                    return None, f"{type(exc).__name__}: {exc}"
            values, refused = self.get(key, variant)
            if refused is not None:
                raise ValueError(refused)
            return dict(values)
        if name == "memo":  # a mistake's own computation on the evidence (never on what the student returned)
            key, compute = (list(args) + [kwargs.get("key"), kwargs.get("compute")])[:2]
            return self.get(["memo", *base, run.dout is None, content(key)], lambda: (step(run, key, compute), None))[0]
        return step(run, *args, **kwargs)
