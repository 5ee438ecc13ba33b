"""Run calls into student code in a separate, limited worker process.

The grader never imports student code. It starts ``worker.py`` as a fresh
interpreter in a private folder, sends it calls (arrays as .npy bytes), and
reads the replies with a deadline and a size cap. A crash, a timeout or a bad
reply fails the one call; the worker is killed (its whole process group and,
where a sandbox user exists, every process of that user) and started again
for the next call.
"""

import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import worker as wire

WORKER_SOURCE = Path(wire.__file__).read_text(encoding="utf-8")


def provided_common():
    """The grader's own copy of the provided common.py (never the student's):
    $CONVGRADE_COMMON, else autograder/common.py (zip and handout builds), else assignment/common.py."""
    here = Path(__file__).resolve().parent
    for p in (os.environ.get("CONVGRADE_COMMON"), here / "common.py", here.parent / "assignment" / "common.py"):
        if p and Path(p).is_file():
            return Path(p)
    raise FileNotFoundError("the provided common.py was not found next to the grader")


@dataclass
class Limits:
    call_timeout: float = 20.0  # seconds of wall clock per call
    import_timeout: float = 20.0
    memory_bytes: int = 1536 * 2**20  # address space (numpy + BLAS need ~300 MB of it)
    cpu_seconds: int = 300  # whole worker lifetime
    processes: int = 16  # only enforced for a dedicated sandbox user
    file_bytes: int = 8 * 2**20  # any single file, the output log included
    open_files: int = 64
    reply_bytes: int = 256 * 2**20
    output_chars: int = 2000  # captured stdout/stderr shown per call


class CallError(Exception):
    """A call into student code did not produce a usable reply."""

    def __init__(self, message, kind="error", where="", output=""):
        super().__init__(message)
        self.kind = kind  # error | timeout | crash | protocol
        self.where = where
        self.output = output


@dataclass
class Reply:
    result: dict
    arrays: list
    cache: object = None
    seconds: float = 0.0
    output: str = ""


@dataclass
class SandboxUser:
    name: str
    uid: int
    gid: int


@dataclass
class Sandbox:
    """One worker for one submission folder (the files to run)."""

    files: dict  # module name -> source path (already located and checked)
    limits: Limits = field(default_factory=Limits)
    python: str = ""
    user: SandboxUser = None
    workdir: Path = None
    notes: list = field(default_factory=list)

    def __post_init__(self):
        self.python = self.python or worker_python()
        self.proc = None
        self.log = None
        self.log_offset = 0
        self.failed_imports = {}
        self._own_workdir = self.workdir is None
        self.workdir = Path(self.workdir or tempfile.mkdtemp(prefix="convgrade-sandbox-"))
        self._populate()

    # ------------------------------------------------------------- set-up
    def _populate(self):
        sub = self.workdir / "run"
        sub.mkdir(parents=True, exist_ok=True)
        for name, src in self.files.items():
            shutil.copyfile(src, sub / f"{name}.py")
        shutil.copyfile(provided_common(), sub / "common.py")
        self.rundir = sub
        if self.user is not None:
            os.chmod(self.workdir, 0o711)
            for p in [sub, *sub.iterdir()]:
                os.chown(p, self.user.uid, self.user.gid)
            os.chmod(sub, 0o700)

    def _start(self):
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        cfg = {
            "req_fd": req_r, "reply_fd": rep_w,
            "memory_bytes": self.limits.memory_bytes, "cpu_seconds": self.limits.cpu_seconds,
            "processes": self.limits.processes, "file_bytes": self.limits.file_bytes,
            "open_files": self.limits.open_files,
            "uid": self.user.uid if self.user else None, "gid": self.user.gid if self.user else None,
        }
        env = {
            "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(self.rundir),
            "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "PYTHONHASHSEED": "0", "CONVGRADE_WORKER_CONFIG": json.dumps(cfg),
        }
        self.log = self.workdir / "output.log"
        log = open(self.log, "ab")
        self.log_offset = log.tell()
        try:
            self.proc = subprocess.Popen(
                [self.python, "-I", "-c", WORKER_SOURCE],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.rundir, env=env,
                pass_fds=(req_r, rep_w), start_new_session=True, close_fds=True,
            )
        finally:
            log.close()
            os.close(req_r)
            os.close(rep_w)
        self.req, self.rep = req_w, rep_r
        os.set_blocking(self.req, False)
        hello = self._receive(self.limits.import_timeout, "starting the worker")
        self.network_isolated = hello.result.get("network_isolated", False)

    def _ensure(self):
        if self.proc is None or self.proc.poll() is not None:
            self.kill()
            self._start()

    # ------------------------------------------------------------- calls
    def call(self, module, func, args=(), kwargs=None, keep=None, expect_len=None, timeout=None):
        """Call ``module.func(*args, **kwargs)`` in the worker.

        args/kwargs values: numpy arrays, ``Cache`` handles, or JSON-able values.
        keep: index of the returned tuple element to keep in the worker (the
        layer's cache); the reply then carries a handle for it.
        """
        if module in self.failed_imports:
            raise CallError(self.failed_imports[module], kind="import")
        self._ensure()
        arrays = []

        def spec(v):
            if isinstance(v, Cache):
                return {"cache": v.handle}
            if isinstance(v, wire.np.ndarray):
                arrays.append(v)
                return {"array": len(arrays) - 1}
            if isinstance(v, dict):
                return {"dict": {k: spec(x) for k, x in v.items()}}
            return {"value": v}

        header = {
            "op": "call", "module": module, "func": func,
            "args": [spec(a) for a in args],
            "kwargs": {k: spec(v) for k, v in (kwargs or {}).items()},
            "keep": keep, "expect_len": expect_len,
        }
        return self._roundtrip(header, arrays, timeout or self.limits.call_timeout,
                               f"{module}.{func}()", module=module)

    def ping(self, arrays=()):
        """An empty round trip (used to measure the sandbox overhead)."""
        self._ensure()
        return self._roundtrip({"op": "ping"}, list(arrays), self.limits.call_timeout, "ping")

    def _roundtrip(self, header, arrays, timeout, what, module=None):
        start = time.perf_counter()
        deadline = start + timeout
        self.log_offset = self._log_size()
        try:
            self._send(wire.pack(header, arrays), deadline, what)
            reply = self._receive(deadline - time.perf_counter(), what)
        except CallError as err:
            err.output = self._read_output()
            self.kill()
            if module and err.kind == "timeout" and header.get("op") == "call":
                self._maybe_mark_import_timeout(module)
            raise
        reply.seconds = time.perf_counter() - start
        reply.output = self._read_output()
        if not reply.result.get("ok"):
            raise CallError(reply.result.get("error", "unknown error"), kind="error",
                            where=reply.result.get("where", ""), output=reply.output)
        reply.cache = Cache(reply.result["cache"]) if reply.result.get("cache") is not None else None
        return reply

    def _maybe_mark_import_timeout(self, module):
        """A timeout: was it the import? Probe with a plain import under the import timeout."""
        try:
            self._ensure()
            self._roundtrip({"op": "import", "module": module}, [], self.limits.import_timeout, "import")
        except CallError as err:
            if err.kind == "timeout":
                self.failed_imports[module] = (
                    f"importing {module}.py did not finish within {self.limits.import_timeout:.0f} s "
                    "(an infinite loop at module level?)"
                )

    def _send(self, data, deadline, what):
        view = memoryview(data)
        while view:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise CallError(f"{what} timed out", kind="timeout")
            _, writable, _ = select.select([], [self.req], [], left)
            if not writable:
                continue
            try:
                n = os.write(self.req, view)
            except (BrokenPipeError, OSError):
                raise CallError(self._crash_message(what), kind="crash")
            view = view[n:]

    def _read(self, n, deadline, what):
        chunks, got = [], 0
        while got < n:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise CallError(f"{what} did not finish within the time limit", kind="timeout")
            readable, _, _ = select.select([self.rep], [], [], left)
            if not readable:
                continue
            chunk = os.read(self.rep, min(n - got, 1 << 20))
            if not chunk:
                raise CallError(self._crash_message(what), kind="crash")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _receive(self, timeout, what):
        deadline = time.perf_counter() + max(timeout, 0.001)
        (n,) = struct.unpack(">Q", self._read(8, deadline, what))
        if n > wire.MAX_HEADER:
            raise CallError("the worker sent an oversized reply", kind="protocol")
        try:
            header = json.loads(self._read(n, deadline, what))
            sizes = [int(s) for s in header.get("arrays", [])]
        except (ValueError, TypeError, AttributeError):
            raise CallError("the worker sent a malformed reply", kind="protocol")
        if not isinstance(header, dict) or sum(sizes) > self.limits.reply_bytes or min(sizes, default=0) < 0:
            raise CallError("the result is too large to send back", kind="protocol")
        payload = self._read(sum(sizes), deadline, what)
        try:
            arrays = wire.unpack_arrays(header, payload)
        except Exception:
            raise CallError("the worker sent arrays that are not plain .npy data", kind="protocol")
        for a in arrays:
            if a.dtype.kind not in "biuf" or a.dtype.fields is not None:
                raise CallError(f"an array of dtype {a.dtype} came back", kind="protocol")
        return Reply(result=header, arrays=arrays)

    def _crash_message(self, what):
        code = None
        if self.proc is not None:
            try:
                code = self.proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                code = None
        if code is not None and code < 0:
            try:
                sig = signal.Signals(-code).name
            except ValueError:
                sig = str(-code)
            hint = {"SIGKILL": " (memory or CPU limit?)", "SIGXCPU": " (CPU time limit)",
                    "SIGXFSZ": " (file size limit: too much output?)", "SIGSEGV": ""}.get(sig, "")
            return f"the worker process died during {what}: killed by {sig}{hint}"
        if code is not None:
            return f"the worker process exited during {what} (exit code {code}: sys.exit or os._exit in student code?)"
        return f"the worker process closed its channel during {what}"

    # ------------------------------------------------------------- output
    def _log_size(self):
        try:
            return os.stat(self.log).st_size if self.log else 0
        except OSError:
            return 0

    def _read_output(self):
        if not self.log:
            return ""
        try:
            with open(self.log, "rb") as f:
                f.seek(self.log_offset)
                data = f.read(self.limits.output_chars * 4 + 1)
        except OSError:
            return ""
        return data.decode("utf-8", errors="replace")

    # ------------------------------------------------------------- control
    def pause(self):
        """Stop every sandbox process (SIGSTOP) while the grader times torch."""
        self._signal_all(signal.SIGSTOP)

    def resume(self):
        self._signal_all(signal.SIGCONT)

    def _signal_all(self, sig):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except OSError:
                pass
        if self.user is not None:
            for pid in pids_of_uid(self.user.uid):
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass

    def kill(self):
        """SIGKILL the worker's process group and everything the sandbox user runs."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                self.proc.kill()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None
        if self.user is not None:
            kill_uid(self.user.uid)
        for fd in ("req", "rep"):
            if getattr(self, fd, None) is not None:
                try:
                    os.close(getattr(self, fd))
                except OSError:
                    pass
                setattr(self, fd, None)

    def close(self):
        self.kill()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@dataclass(frozen=True)
class Cache:
    """Handle of a layer cache that stays inside the worker."""

    handle: int


WORKER_VENVS = [Path(__file__).resolve().parent.parent / ".venv-worker", Path("/autograder/worker-venv")]


def worker_python():
    """The worker's interpreter: $CONVGRADE_WORKER_PYTHON, else a numpy-only venv
    (.venv-worker here, /autograder/worker-venv on Gradescope), else this one."""
    if os.environ.get("CONVGRADE_WORKER_PYTHON"):
        return os.environ["CONVGRADE_WORKER_PYTHON"]
    for venv in WORKER_VENVS:
        if (venv / "bin" / "python").exists():
            return str(venv / "bin" / "python")
    return sys.executable


def pids_of_uid(uid):
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid or int(line.split()[2]) == uid:
                            pids.append(int(entry))
                        break
        except OSError:
            continue
    return pids


def kill_uid(uid, rounds=50):
    """SIGKILL every process of ``uid`` until none is left (double forks included)."""
    for _ in range(rounds):
        pids = pids_of_uid(uid)
        if not pids:
            return True
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)
    return not pids_of_uid(uid)
