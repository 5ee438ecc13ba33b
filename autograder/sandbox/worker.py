"""The sandboxed worker: the only process that ever runs student code.

The grader starts it as a fresh interpreter (``python -I -c <source>``, where the source is codec.py,
landlock.py, seccomp.py, lockdown.py and this file, in that order: the worker sees no grader file) with a scrubbed
environment, its working directory set to a folder holding copies of the submission and the grader's own
``common.py``. Standard library and numpy only.

Start-up, before any student code is imported: the lockdown (lockdown.py: limits, OOM score, namespaces,
privilege drop, Landlock, seccomp, self-check), then an import hook that refuses the forbidden frameworks
(a courtesy with a clear message: the real barrier is that torch is not readable at all). Then it serves calls: requests
on fd REQ_FD, replies on fd REPLY_FD, both framed by codec.py; stdin is /dev/null and stdout/stderr go
to a capped log file.
"""


import faulthandler
import functools
import importlib
import importlib.machinery
import json
import os
import signal
import sys
import traceback

import numpy as np

try:  # the grader imports this file as a module; in the worker the sandbox inlines them above this code
    from .codec import MAX_HEADER, encode_value, pack, receive, send  # noqa: F401
    from .lockdown import lock_down  # noqa: F401
except ImportError:
    pass

EXIT_FAILED, EXIT_MEMORY = 70, 71  # the worker's own exit codes: an error it could not report, out of memory
RESERVE_BYTES = 8 << 20  # freed on a MemoryError: room to report it (where it happened) before the frames go
_RESERVE = []

FORBIDDEN = (
    "torch", "torchvision", "scipy", "tensorflow", "jax", "jaxlib", "numba", "cupy",
    "keras", "sklearn", "theano", "mxnet", "paddle", "chainer", "pytensor", "autograd",
)


# ----------------------------------------------------------------- framing


# ----------------------------------------------------------------- start-up


class _Blocker:
    """Meta-path finder refusing the forbidden frameworks at import time."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in FORBIDDEN:
            raise ImportError(
                f"import of '{name}' is not allowed in this assignment: use numpy only"
            )
        return None


class _KeepNames:
    """What ``tempfile`` sees of ``os`` and ``shutil``: removing a file or a folder below the scratch folder does
    nothing (the filter refuses it, and the scratch budget counts what stays), everything else is the module's
    own. So a temporary file or folder that deletes itself when closed works as it does elsewhere."""

    def __init__(self, real, folder):
        self._real, self._folder = real, os.path.realpath(folder)

    def __getattr__(self, name):
        return getattr(self._real, name)

    def _kept(self, path):
        try:
            return os.path.realpath(os.fspath(path)).startswith(self._folder + os.sep)
        except (TypeError, ValueError):
            return False

    def unlink(self, path, *args, **kwargs):
        return None if self._kept(path) else self._real.unlink(path, *args, **kwargs)

    remove = unlink

    def rmdir(self, path, *args, **kwargs):
        return None if self._kept(path) else self._real.rmdir(path, *args, **kwargs)

    def rmtree(self, path, *args, **kwargs):
        return None if self._kept(path) else self._real.rmtree(path, *args, **kwargs)


class _TempDir:
    """Meta-path finder that sets up ``tempfile`` when student code imports it: the scratch folder is its folder
    (its own search for one writes a probe file and removes it, which the filter refuses), it makes no nameless
    file (O_TMPFILE: refused), and what it removes of its own stays (``_KeepNames``)."""

    def __init__(self, folder):
        self.folder = folder

    def find_spec(self, name, path=None, target=None):
        if name != "tempfile" or path is not None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name)
        if spec is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run, folder = spec.loader.exec_module, self.folder

        def exec_module(module):
            run(module)
            module.tempdir = folder
            module._O_TMPFILE_WORKS = False
            real_shutil = module._shutil
            keep = module._os = _KeepNames(os, folder)
            module._shutil = _KeepNames(real_shutil, folder)
            # what the module bound when it ran: a global (_rmtree = _shutil.rmtree) and defaults of functions
            # (its file closer's unlink=_os.unlink); which ones depends on the Python version
            swap = {id(os.unlink): keep.unlink, id(os.remove): keep.remove, id(os.rmdir): keep.rmdir,
                    id(real_shutil.rmtree): module._shutil.rmtree}
            for name, value in list(vars(module).items()):
                if id(value) in swap:
                    setattr(module, name, swap[id(value)])
            for value in [v for obj in vars(module).values() if isinstance(obj, type) for v in vars(obj).values()]:
                func = getattr(value, "__func__", value)
                if getattr(func, "__defaults__", None):
                    func.__defaults__ = tuple(swap.get(id(d), d) for d in func.__defaults__)

        spec.loader.exec_module = exec_module
        return spec


class _Recorder:
    """Meta-path finder for the student's graded modules (``graded``: {module: [function]}, from the grader):
    once such a module has run, each of its graded functions in its namespace becomes a thin wrapper that
    records its call in ``used``. So ``from toeplitz import im2col`` in another module and a call from the
    same module both go through it, and the grader can say that conv2d_gemm used the student's im2col. What it
    records is student-controlled like everything here: it only ever changes the student's own feedback."""

    def __init__(self, graded):
        self.graded = {str(m): [str(f) for f in fs] for m, fs in dict(graded or {}).items()}
        self.used = set()

    def find_spec(self, name, path=None, target=None):
        if name not in self.graded or path is not None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name)
        if spec is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            for func in self.graded[name]:
                f = module.__dict__.get(func)
                if callable(f):
                    module.__dict__[func] = self.wrap(f, f"{name}.{func}")

        spec.loader.exec_module = exec_module
        return spec

    def wrap(self, f, ref):
        used = self.used

        @functools.wraps(f)
        def recorded(*args, **kwargs):
            used.add(ref)
            return f(*args, **kwargs)

        return recorded


# ----------------------------------------------------------------- where a stopped call was (sandbox/stack.py)
def install_stack_dump(cfg):
    """Point faulthandler at the grader's stack file, before the lockdown: SIGALRM (the timer ``alarm`` arms
    around each request) and the fatal signals write the stack there. The descriptor, or None."""
    try:
        fd = int(cfg["stack_fd"])
        faulthandler.enable(file=fd, all_threads=True)
        faulthandler.register(signal.SIGALRM, file=fd, all_threads=True, chain=False)
        return fd
    except Exception:  # noqa: BLE001 - no descriptor, or no faulthandler: a stopped call is not located
        return None


def alarm(seconds):
    """Arm (seconds > 0) or disarm (0) the real-time timer whose SIGALRM dumps the stack."""
    try:
        signal.setitimer(signal.ITIMER_REAL, max(float(seconds or 0), 0.0))
    except (TypeError, ValueError, OverflowError, OSError):
        pass


def where_of(tb, rundir):
    """"conv.py, line 12, in f" of the innermost frame of a traceback in the run folder; read from the frames
    alone (no source file is opened: it works after a MemoryError too)."""
    where = ""
    while tb is not None:
        code = tb.tb_frame.f_code
        if os.path.dirname(os.path.join(rundir, code.co_filename)) == rundir:
            where = f"{os.path.basename(code.co_filename)}, line {tb.tb_lineno}, in {code.co_name}"
        tb = tb.tb_next
    return where


# ----------------------------------------------------------------- serving calls


def safe_text(exc):
    try:
        text = f"{type(exc).__name__}: {exc}"
    except BaseException:
        text = f"{type(exc).__name__}: <unprintable exception>"
    return text[:4000]


def views_of(value, desc, inputs, may_share=np.may_share_memory):
    """[[reply array index, input index]] of the returned arrays (``value``, described by ``desc``) whose memory lies
    within an input array's (``inputs``): the input itself or a view of it, which the contract forbids (a caller
    who changes the input afterwards would see the result change). The grader fails the value on it."""
    out = []

    def walk(v, d):
        kind = d.get("kind")
        if kind == "array" and type(v) is np.ndarray:
            hit = next((j for j, a in enumerate(inputs) if may_share(v, a)), None)
            if hit is not None:
                out.append([d["index"], hit])
        elif kind in ("tuple", "list") and type(v) in (tuple, list):
            for x, dx in zip(v, d["items"]):
                walk(x, dx)
        elif kind == "dict" and type(v) is dict:
            for k, dx in d["items"].items():
                walk(v.get(k), dx)

    walk(value, desc)
    return out[:64]


def serve(req_fd, reply_fd, cfg, recorder=None, receive=receive, send=send, pack=pack, encode_value=encode_value,
          views_of=views_of):
    """Serve the grader's requests until it closes the channel. The transport is bound here, as default
    arguments evaluated before any student module is imported: student code that replaces the worker's
    globals (``import __main__; __main__.pack = ...``) does not change how replies are framed."""
    caches, origins, modules = {}, {}, {}
    rundir = os.path.realpath(cfg["rundir"])
    ran = recorder.used if recorder is not None else set()  # graded functions the current call ran
    max_elements = int(cfg.get("max_elements", 50_000_000))
    next_handle = 0
    while True:
        try:
            header, arrays = receive(req_fd, cfg.get("max_request_bytes", 1 << 30))
        except EOFError:
            return
        op = header.get("op")
        reply_arrays = []
        ran.clear()
        alarm(header.get("alarm"))
        try:
            if op == "ping":  # the traffic of a call: zeros of the given shapes back (with echo, the inputs too)
                reply = {"ok": True, "echo": len(arrays)}
                reply_arrays = (list(arrays) if header.get("echo") else []) + \
                    [np.zeros(tuple(s)) for s in header.get("extra_shapes", [])]
            elif op == "import":
                name = header["module"]
                modules[name] = importlib.import_module(name)
                reply = {"ok": True}
            elif op == "call":
                os.chdir(rundir)  # a chdir in an earlier call does not follow this one
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
                    if "tuple" in spec:  # pairs arrive as tuples, exactly as torch users pass them
                        return tuple(spec["tuple"])
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
                used = [s["cache"] for s in list(header.get("args", [])) + list(header.get("kwargs", {}).values())
                        if "cache" in s and s["cache"] in origins]
                # the call's own input arrays, then the forward's (through the cache), in order
                reply["views"] = views_of(result, reply["result"], [*arrays, *(a for h in used for a in origins[h])])
                if header.get("echo", True):  # the inputs as they are after the call, to detect in-place changes
                    reply["echo"] = [encode_value(a, reply_arrays, max_elements) for a in arrays]
                    reply["origin_echo"] = {str(h): [encode_value(a, reply_arrays, max_elements) for a in origins[h]]
                                            for h in used}
            elif op == "drop":
                caches.clear()
                origins.clear()
                reply = {"ok": True}
            else:
                reply = {"ok": False, "error": f"unknown op {op!r}"}
        except BaseException as exc:  # noqa: BLE001 - report every student failure
            alarm(0)
            if isinstance(exc, KeyboardInterrupt):
                raise
            if isinstance(exc, MemoryError):
                _RESERVE.clear()  # the student's arrays live on in the traceback's frames until this block ends
            reply = {"ok": False, "error": safe_text(exc), "where": where_of(exc.__traceback__, rundir)}
            reply_arrays = []
        alarm(0)
        if not _RESERVE:
            try:
                _RESERVE.append(bytearray(RESERVE_BYTES))
            except MemoryError:
                pass
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        if op == "call":
            reply["used"] = sorted(ran)[:64]
        try:
            data = pack(reply, reply_arrays)
        except BaseException as exc:  # e.g. NaN in a JSON scalar, out of memory
            data = pack({"ok": False, "error": "could not encode the result: " + safe_text(exc)})
        send(reply_fd, data)


def fingerprint():
    """What this worker runs student code with, for the grader's environment record
    (autograder/environment.py): sent in the hello, before any student code is imported."""
    return {"python": ".".join(map(str, sys.version_info[:3])), "implementation": sys.implementation.name,
            "numpy": np.__version__, "machine": os.uname().machine}


def main():
    cfg = json.loads(os.environ.pop("CONVGRADE_WORKER_CONFIG", "{}"))
    req_fd, reply_fd = int(cfg["req_fd"]), int(cfg["reply_fd"])
    install_stack_dump(cfg)
    _RESERVE.append(bytearray(RESERVE_BYTES))
    state = lock_down(cfg)
    sys.meta_path.insert(0, _Blocker())
    recorder = _Recorder(cfg.get("graded"))
    sys.meta_path.insert(1, recorder)
    sys.meta_path.insert(2, _TempDir(os.environ.get("TMPDIR", "/tmp")))
    for name in list(sys.modules):
        if name.split(".")[0] in FORBIDDEN:
            del sys.modules[name]
    # the run folder last: a submission file can never shadow an installed module
    here = os.getcwd()
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != here] + [here]
    sys.dont_write_bytecode = True
    send(reply_fd, pack({"ok": True, "ready": True, "uid": os.getuid(), **state, **fingerprint()}))
    serve(req_fd, reply_fd, cfg, recorder)
    # the grader closed the channel: leave at once, without atexit hooks, finalizers or thread joins
    os._exit(0)


if __name__ == "__main__":
    try:
        main()
    except BaseException as exc:  # noqa: BLE001 - never a normal interpreter exit (atexit hooks of student code)
        code = EXIT_MEMORY if isinstance(exc, MemoryError) else EXIT_FAILED
        try:
            _RESERVE.clear()
            del exc
            traceback.print_exc()
            sys.stderr.flush()
        finally:
            os._exit(code)
    os._exit(0)
