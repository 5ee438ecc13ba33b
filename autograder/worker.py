"""The sandboxed worker: the only process that ever runs student code.

The grader starts it as a fresh interpreter (``python -I -c <this file>``) with
a scrubbed environment, its working directory set to a folder holding copies
of the submission and the grader's own ``common.py``. This file depends on the
standard library and numpy only, and is also imported by the grader for the
message framing (``send`` / ``receive``), so both sides share one definition.

Start-up, before any student code is imported:
  1. resource limits (address space, CPU, processes, file size, open files);
  2. where started as root: a new network namespace (no network), then drop
     to the sandbox user's uid/gid for good;
  3. an import hook that refuses the forbidden frameworks.

Messages, both ways: 8-byte big-endian length, a JSON header, then the arrays
listed in the header as plain ``.npy`` bytes (saved and loaded with
``allow_pickle=False``). Requests come on fd REQ_FD, replies go to fd REPLY_FD;
stdin is /dev/null and stdout/stderr go to a capped log file.
"""

import importlib
import io
import json
import os
import resource
import struct
import sys
import traceback

import numpy as np

FORBIDDEN = (
    "torch", "torchvision", "scipy", "tensorflow", "jax", "jaxlib", "numba", "cupy",
    "keras", "sklearn", "theano", "mxnet", "paddle", "chainer", "pytensor", "autograd",
)
MAX_HEADER = 1 << 20


# ----------------------------------------------------------------- framing
def pack(header, arrays=()):
    """Encode one message: a JSON-able dict plus a list of plain ndarrays."""
    blobs = []
    for a in arrays:
        buf = io.BytesIO()
        np.save(buf, a, allow_pickle=False)
        blobs.append(buf.getvalue())
    header = dict(header, arrays=[len(b) for b in blobs])
    head = json.dumps(header, allow_nan=False).encode()
    return struct.pack(">Q", len(head)) + head + b"".join(blobs)


def unpack_arrays(header, payload):
    """Decode the arrays of one message; never unpickles."""
    arrays, offset = [], 0
    for size in header.get("arrays", []):
        blob = payload[offset:offset + size]
        offset += size
        arrays.append(np.load(io.BytesIO(blob), allow_pickle=False))
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


def receive(fd, max_bytes):
    """Blocking read of one message (used by the worker on trusted input)."""
    (n,) = struct.unpack(">Q", _read_exact(fd, 8))
    if n > MAX_HEADER:
        raise ValueError("header too large")
    header = json.loads(_read_exact(fd, n))
    total = sum(int(s) for s in header.get("arrays", []))
    if total > max_bytes:
        raise ValueError("message too large")
    return header, unpack_arrays(header, _read_exact(fd, total))


def send(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


# ----------------------------------------------------------------- start-up
def apply_limits(cfg):
    def cap(which, value):
        if value is None:
            return
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))

    cap(resource.RLIMIT_AS, cfg.get("memory_bytes"))
    cap(resource.RLIMIT_CPU, cfg.get("cpu_seconds"))
    cap(resource.RLIMIT_FSIZE, cfg.get("file_bytes"))
    cap(resource.RLIMIT_NOFILE, cfg.get("open_files"))
    cap(resource.RLIMIT_CORE, 0)
    if cfg.get("uid") is not None or cfg.get("nproc_when_unprivileged"):
        cap(resource.RLIMIT_NPROC, cfg.get("processes"))


def isolate_network():
    """New, empty network namespace (root only); False where unavailable."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.unshare(0x40000000) == 0  # CLONE_NEWNET
    except Exception:
        return False


def drop_privileges(uid, gid):
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise SystemExit("could not drop privileges")


class _Blocker:
    """Meta-path finder refusing the forbidden frameworks at import time."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in FORBIDDEN:
            raise ImportError(
                f"import of '{name}' is not allowed in this assignment: use numpy only"
            )
        return None


# ----------------------------------------------------------------- serving calls
def describe(value):
    t = type(value)
    return f"{t.__module__}.{t.__qualname__}" if t.__module__ != "builtins" else t.__name__


def encode_value(value, arrays, max_elements):
    """Turn one returned value into a JSON description (arrays appended)."""
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
        return {"kind": type(value).__name__, "items": [encode_value(v, arrays, max_elements) for v in value]}
    if type(value) is dict:
        if len(value) > 1000 or not all(type(k) is str for k in value):
            return {"kind": "bad", "type": "dict with non-string keys or too many keys"}
        return {"kind": "dict", "items": {k: encode_value(v, arrays, max_elements) for k, v in value.items()}}
    if type(value) in (bool, int, float):
        if type(value) is float and value != value or value in (float("inf"), float("-inf")):
            return {"kind": "scalar", "value": repr(value), "type": "float"}
        if type(value) is int and abs(value) > 2**62:
            return {"kind": "bad", "type": "int too large"}
        return {"kind": "scalar", "value": value, "type": type(value).__name__}
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return {"kind": "scalar", "value": value.item() if value.dtype.kind != "f" or np.isfinite(value) else repr(value.item()),
                "type": f"numpy.{value.dtype.name}"}
    return {"kind": "bad", "type": describe(value)}


def safe_text(exc):
    try:
        text = f"{type(exc).__name__}: {exc}"
    except BaseException:
        text = f"{type(exc).__name__}: <unprintable exception>"
    return text[:4000]


def serve(req_fd, reply_fd, cfg):
    caches, origins, modules = {}, {}, {}
    max_elements = int(cfg.get("max_elements", 50_000_000))
    next_handle = 0
    while True:
        try:
            header, arrays = receive(req_fd, cfg.get("max_request_bytes", 1 << 30))
        except EOFError:
            return
        op = header.get("op")
        reply_arrays = []
        try:
            if op == "ping":
                reply = {"ok": True, "echo": len(arrays)}
            elif op == "import":
                name = header["module"]
                modules[name] = importlib.import_module(name)
                reply = {"ok": True}
            elif op == "call":
                name = header["module"]
                if name not in modules:
                    modules[name] = importlib.import_module(name)
                func = getattr(modules[name], header["func"], None)
                if func is None or not callable(func):
                    raise AttributeError(f"{name}.py has no function {header['func']}()")

                def resolve(spec):
                    if "array" in spec:
                        return arrays[spec["array"]]
                    if "cache" in spec:
                        return caches[spec["cache"]]
                    if "dict" in spec:
                        return {k: resolve(v) for k, v in spec["dict"].items()}
                    return spec["value"]

                args = [resolve(s) for s in header.get("args", [])]
                kwargs = {k: resolve(s) for k, s in header.get("kwargs", {}).items()}
                result = func(*args, **kwargs)
                keep = header.get("keep")
                reply = {"ok": True, "cache": None}
                if keep is not None and type(result) is tuple and len(result) == header.get("expect_len"):
                    handle = next_handle
                    next_handle += 1
                    caches[handle] = result[keep]
                    origins[handle] = arrays
                    reply["cache"] = handle
                    result = tuple(None if i == keep else v for i, v in enumerate(result))
                reply["result"] = encode_value(result, reply_arrays, max_elements)
                # the inputs as they are after the call, to detect in-place changes
                reply["echo"] = [encode_value(a, reply_arrays, max_elements) for a in arrays]
                used = [s["cache"] for s in list(header.get("args", [])) + list(header.get("kwargs", {}).values())
                        if "cache" in s and s["cache"] in origins]
                reply["origin_echo"] = {str(h): [encode_value(a, reply_arrays, max_elements) for a in origins[h]]
                                        for h in used}
            elif op == "drop":
                caches.clear()
                origins.clear()
                reply = {"ok": True}
            else:
                reply = {"ok": False, "error": f"unknown op {op!r}"}
        except BaseException as exc:  # noqa: BLE001 - report every student failure
            if isinstance(exc, KeyboardInterrupt):
                raise
            tb = traceback.extract_tb(exc.__traceback__)
            where = ""
            for frame in reversed(tb):
                base = os.path.basename(frame.filename)
                if os.path.dirname(os.path.abspath(frame.filename)) == os.getcwd():
                    where = f"{base}, line {frame.lineno}, in {frame.name}"
                    break
            reply = {"ok": False, "error": safe_text(exc), "where": where}
            reply_arrays = []
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        try:
            data = pack(reply, reply_arrays)
        except BaseException as exc:  # e.g. NaN in a JSON scalar, out of memory
            data = pack({"ok": False, "error": "could not encode the result: " + safe_text(exc)})
        send(reply_fd, data)


def main():
    cfg = json.loads(os.environ.pop("CONVGRADE_WORKER_CONFIG", "{}"))
    req_fd, reply_fd = int(cfg["req_fd"]), int(cfg["reply_fd"])
    apply_limits(cfg)
    if os.getuid() == 0 and cfg.get("isolate_network", True):
        cfg["network_isolated"] = isolate_network()
    if cfg.get("uid") is not None:
        drop_privileges(int(cfg["uid"]), int(cfg["gid"]))
    sys.meta_path.insert(0, _Blocker())
    for name in list(sys.modules):
        if name.split(".")[0] in FORBIDDEN:
            del sys.modules[name]
    sys.path[:] = [os.getcwd()] + [p for p in sys.path if p and os.path.abspath(p) != os.getcwd()]
    sys.dont_write_bytecode = True
    send(reply_fd, pack({"ok": True, "ready": True, "uid": os.getuid(),
                         "network_isolated": bool(cfg.get("network_isolated"))}))
    serve(req_fd, reply_fd, cfg)


if __name__ == "__main__":
    main()
