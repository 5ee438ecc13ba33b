"""What crosses the pipe between the grader and the worker, in one place: framing, encoding, validation.

Messages, both ways: 8-byte big-endian length, a JSON header, then the arrays listed in the header as
plain ``.npy`` bytes, parsed strictly (numeric dtypes only, size checked against the header before
anything is allocated, never unpickled). A returned value travels as a description in the header, a
tree of kinds (none, array, tuple, list, dict, scalar, bad):

    worker:  encode_value(value)    -> description (+ arrays)      what the student's function returned
    grader:  check_reply(header)    -> "" or what is malformed     before anything uses a reply
             decode(description)    -> value (Bad: what could not travel as data)

The grader imports this module; the worker cannot (it sees no grader file), so the sandbox inlines this
file's source ahead of the worker's own when it starts one (sandbox.WORKER_SOURCE). Standard library
and numpy only.
"""

import io
import json
import math
import os
import re
import struct
from dataclasses import dataclass

import numpy as np

# ----------------------------------------------------------------- framing
MAX_HEADER = 1 << 20


_HEADERS = {}  # (dtype, shape, fortran order) -> header bytes: a grading sends the same few shapes again and again


def npy_header(a):
    """The .npy header np.save writes for ``a`` (version 1.0, padded to 64 bytes), without copying its data."""
    key = (a.dtype, a.shape, not a.flags.c_contiguous and a.flags.f_contiguous)
    head = _HEADERS.get(key)
    if head is None:
        buf = io.BytesIO()
        np.lib.format.write_array_header_1_0(buf, np.lib.format.header_data_from_array_1_0(a))
        head = buf.getvalue()
        if len(_HEADERS) < 4096:
            _HEADERS[key] = head
    return head


def pack(header, arrays=()):
    """Encode one message, a JSON-able dict plus a list of plain ndarrays, as a list of buffers to write in
    order (``send``): the arrays' own memory is written as it is, never copied into the message."""
    chunks, sizes = [], []
    for a in arrays:
        if not (a.flags.c_contiguous or a.flags.f_contiguous):
            a = np.ascontiguousarray(a)
        head = npy_header(a)  # fortran_order True for an F-contiguous array: its data is then a.T's, in order
        data = memoryview((a if a.flags.c_contiguous else a.T).reshape(-1).view(np.uint8))
        chunks += [head, data]
        sizes.append(len(head) + data.nbytes)
    head = json.dumps(dict(header, arrays=sizes), allow_nan=False).encode()
    return [struct.pack(">Q", len(head)) + head, *chunks]


# The header np.save writes for a plain numeric array (version 1.0), read without literal_eval (a few hundred
# arrays cross per grading); any other header goes through numpy's own parser. The checks below apply to both.
_PLAIN_HEADER = re.compile(rb"\x93NUMPY\x01\x00(..)\{'descr': '([<>|][biuf][1248])', 'fortran_order': (False|True), "
                           rb"'shape': \(((?:\d{1,19}, )*(?:\d{1,19},?)?)\), \} *\n", re.S)
_DTYPES = {}


_PARSED = {}  # header bytes -> what _plain_header found in them (the same bytes always parse the same)


def _plain_header(blob):
    """(shape, fortran, dtype, offset) of a canonical version 1.0 header, else None."""
    start = bytes(blob[:256])
    if start[:8] == b"\x93NUMPY\x01\x00" and len(start) >= 10:
        key = start[:10 + int.from_bytes(start[8:10], "little")]
        found = _PARSED.get(key)
        if found is None:
            found = _parse_plain(start)
            if found is not None and len(_PARSED) < 4096:
                _PARSED[key] = found
        return found
    return None


def _parse_plain(start):
    m = _PLAIN_HEADER.match(start)
    if m is None or 10 + int.from_bytes(m[1], "little") != m.end():
        return None
    descr = m[2].decode()
    if descr not in _DTYPES:
        _DTYPES[descr] = np.dtype(descr)
    shape = tuple(int(d) for d in m[4].split(b",") if d.strip())
    return shape, m[3] == b"True", _DTYPES[descr], m.end()


def load_npy(blob):
    """One plain numeric array from .npy bytes (or a memoryview of them), checked before anything is allocated."""
    plain = _plain_header(blob)
    if plain is not None:
        shape, fortran, dtype, offset = plain
    else:
        f = io.BytesIO(bytes(blob[:1 << 16]))  # the header only: a view of the data is never copied whole
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f"unsupported .npy version {version}")
        offset = f.tell()
    if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None or dtype.hasobject:
        raise ValueError(f"array of dtype {dtype} refused")
    if not isinstance(shape, tuple) or len(shape) > 32 or any(type(d) is not int or d < 0 for d in shape):
        raise ValueError("bad array shape")
    count = math.prod(shape)
    if offset >= 1 << 16 or count * dtype.itemsize != len(blob) - offset:
        raise ValueError("array data does not match its header")
    flat = np.frombuffer(blob, dtype=dtype, count=count, offset=offset)
    if not flat.flags.writeable:  # read-only bytes: a copy of its own, as np.load gives
        flat = flat.copy()
    # a view of the message's own buffer (read once, into one bytearray: nothing else holds it): no copy
    return flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)


def unpack_arrays(header, payload):
    """Decode the arrays of one message; never unpickles."""
    arrays, offset = [], 0
    for size in header.get("arrays", []):
        if type(size) is not int or size < 0 or offset + size > len(payload):
            raise ValueError("bad array sizes")
        arrays.append(load_npy(payload[offset:offset + size]))
        offset += size
    return arrays


def _read_exact(fd, n):
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("channel closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _read_into(fd, n):
    """Exactly n bytes into one new bytearray (its arrays are views of it: read once, copied never)."""
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = os.readv(fd, [view[got:got + (1 << 20)]])
        if not k:
            raise EOFError("channel closed")
        got += k
    return view


def receive(fd, max_bytes):
    """Blocking read of one message (used by the worker on trusted input)."""
    (n,) = struct.unpack(">Q", _read_exact(fd, 8))
    if n > MAX_HEADER:
        raise ValueError("header too large")
    header = json.loads(_read_exact(fd, n))
    total = sum(int(s) for s in header.get("arrays", []))
    if total > max_bytes:
        raise ValueError("message too large")
    return header, unpack_arrays(header, _read_into(fd, total))


def send(fd, chunks):
    """Write a packed message (``pack``'s buffers, in order)."""
    for chunk in chunks:
        view = memoryview(chunk).cast("B")
        while view:
            n = os.write(fd, view)
            view = view[n:]


# ----------------------------------------------------------------- values, worker side
def describe(value):
    t = type(value)
    return f"{t.__module__}.{t.__qualname__}" if t.__module__ != "builtins" else t.__name__


def encode_value(value, arrays, max_elements):
    """Turn one returned value into a JSON description (arrays appended)."""
    def encode(value):  # recursion through this call's own closure, never the module's globals
        if value is None:
            return {"kind": "none"}
        if type(value) is np.ndarray:
            if value.dtype.kind not in "biuf" or value.dtype.fields is not None:
                return {"kind": "bad", "type": f"ndarray of dtype {value.dtype}"}
            if value.size > max_elements:
                return {"kind": "bad", "type": f"ndarray with {value.size} elements (too large)"}
            arrays.append(np.ascontiguousarray(value))
            return {"kind": "array", "index": len(arrays) - 1}
        if isinstance(value, np.ndarray):
            return {"kind": "bad", "type": f"{describe(value)} (an ndarray subclass; return a plain numpy array)"}
        if type(value) in (tuple, list):
            if len(value) > 1000:
                return {"kind": "bad", "type": f"{type(value).__name__} of length {len(value)}"}
            return {"kind": type(value).__name__, "items": [encode(v) for v in value]}
        if type(value) is dict:
            if len(value) > 1000 or not all(type(k) is str for k in value):
                return {"kind": "bad", "type": "dict with non-string keys or too many keys"}
            return {"kind": "dict", "items": {k: encode(v) for k, v in value.items()}}
        if type(value) in (bool, int, float):
            if type(value) is float and value != value or value in (float("inf"), float("-inf")):
                return {"kind": "scalar", "value": repr(value), "type": "float"}
            if type(value) is int and abs(value) > 2**62:
                return {"kind": "bad", "type": "int too large"}
            return {"kind": "scalar", "value": value, "type": type(value).__name__}
        if isinstance(value, np.generic) and type(value).__module__ == "numpy" and value.dtype.kind in "biuf":
            item = value.item()
            if value.dtype.kind == "f" and not np.isfinite(value):
                item = repr(item)
            return {"kind": "scalar", "value": item, "type": f"numpy.{value.dtype.name}"}
        return {"kind": "bad", "type": describe(value)}

    return encode(value)


# ----------------------------------------------------------------- values, grader side
def check_reply(header, n_arrays, op=None):
    """'' when a reply has the shape the grader relies on, else what is wrong with it."""
    budget = [100_000]

    def value(d, depth=0):
        budget[0] -= 1
        if budget[0] < 0 or depth > 64:
            raise ValueError("too deeply nested")
        if not isinstance(d, dict) or not isinstance(d.get("kind"), str):
            raise ValueError("bad value")
        kind = d["kind"]
        if kind == "none":
            return
        if kind == "array":
            if type(d.get("index")) is not int or not 0 <= d["index"] < n_arrays:
                raise ValueError("bad array index")
        elif kind in ("tuple", "list"):
            if not isinstance(d.get("items"), list):
                raise ValueError("bad items")
            for x in d["items"]:
                value(x, depth + 1)
        elif kind == "dict":
            if not isinstance(d.get("items"), dict):
                raise ValueError("bad items")
            for x in d["items"].values():
                value(x, depth + 1)
        elif kind == "scalar":
            v = d.get("value")
            if isinstance(v, str):
                float(v)
            elif type(v) not in (int, float, bool):
                raise ValueError("bad scalar")
            if not isinstance(d.get("type", ""), str):
                raise ValueError("bad scalar type")
        elif kind == "bad":
            if not isinstance(d.get("type", ""), str):
                raise ValueError("bad type")
        else:
            raise ValueError(f"unknown kind {kind[:20]!r}")

    try:
        if not isinstance(header, dict) or not isinstance(header.get("ok"), bool):
            return "not a reply"
        if not used_ok(header.get("used", [])):
            return "bad list of graded functions used"
        if not header["ok"]:
            if not isinstance(header.get("error", ""), str) or not isinstance(header.get("where", ""), str):
                return "bad error report"
            return ""
        if op == "call":
            value(header.get("result"))
            if header.get("cache") is not None and type(header["cache"]) is not int:
                return "bad cache handle"
            echo = header.get("echo", [])
            origin = header.get("origin_echo", {})
            if not isinstance(echo, list) or not isinstance(origin, dict):
                return "bad echo"
            for d in echo:
                value(d)
            for k, ds in origin.items():
                int(k)
                if not isinstance(ds, list):
                    return "bad echo"
                for d in ds:
                    value(d)
        return ""
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        return str(exc)[:80]


MAX_USED = 64  # graded functions a reply may say a call used


def used_ok(used):
    """A reply's ``used``: at most MAX_USED names "module.function" (the graded functions the call ran, as the
    worker recorded them; the grader keeps only the names it knows, Sandbox.call)."""
    return isinstance(used, list) and len(used) <= MAX_USED and all(
        isinstance(u, str) and len(u) <= 100 and u.count(".") == 1 and all(p.isidentifier() for p in u.split("."))
        for u in used)


@dataclass
class Bad:
    """A returned value the worker could not send back as data."""

    type: str

    def __repr__(self):
        return self.type


def decode(desc, arrays):
    """Rebuild a returned value from the worker's JSON description."""
    kind = desc.get("kind") if isinstance(desc, dict) else None
    if kind == "none":
        return None
    if kind == "array":
        return arrays[desc["index"]]
    if kind in ("tuple", "list"):
        items = [decode(d, arrays) for d in desc["items"]]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict":
        return {k: decode(d, arrays) for k, d in desc["items"].items()}
    if kind == "scalar":
        value = desc["value"]
        if isinstance(value, str):
            value = float(value)
        return Scalar(value, shown_type(desc.get("type", "")))
    return Bad(shown_type(desc.get("type")) if isinstance(desc, dict) else "unknown object")


# A type name the worker reports ("numpy.float32", "ndarray of dtype [('a', '<f8')]", a student's class) reaches
# the feedback, Markdown tables included: only a short run of plain characters is shown as it is.
_TYPE_TEXT = re.compile(r"[A-Za-z0-9_.,:;()\[\]<>'= -]{1,120}")


def shown_type(text):
    """The reported type name when it is plain and short, else a stand-in (never text a student chose)."""
    return text if isinstance(text, str) and _TYPE_TEXT.fullmatch(text) else "an object of a type that cannot be shown"


@dataclass
class Scalar:
    value: object
    type: str

    def __repr__(self):
        return f"{self.type} {self.value!r}"
