"""Run calls into student code in a separate, limited worker process.

The grader never imports student code. It starts ``worker.py`` as a fresh interpreter in a private folder,
sends it calls (arrays as .npy bytes), and reads the replies with a deadline and a size cap; every reply is
untrusted bytes and checked before use (``codec.check_reply``, ``codec.load_npy``). A crash, a timeout or a
bad reply fails the one call; the worker is killed (its whole process group and, where a sandbox user exists,
every process of that user) and started again for the next call.

What the worker must not see (``private_paths``: the grader's tree, venv and torch, the results folder, ...)
goes to it in its start-up config; it hides all of that (bubblewrap, a mount namespace, Landlock) and reports
back what it can still read (``Sandbox.isolation_notes``). See SECURITY.md.
"""

import dataclasses
import json
import math
import os
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from . import codec, faults, landlock, lockdown, seccomp, worker
from .calltime import CallClock, worker_pid
from .channel import Cache, CallError, Channel, Reply  # noqa: F401  (Reply: callers read its fields)
from .confine import bwrap_command, bwrap_may_work, bwrap_works, private_paths, resolved, worker_python
from .isolation import SandboxUser, reduced_notes
from .limits import Limits
from .ending import how_it_ended
from .oom import oom_kills
from .output import OutputLog
from .procs import kill_uid, pids_of_uid, tree, usage
from .scratch import ScratchGuard
from .stack import StackLog, alarm_for
from . import stages
from .workdir import populate, worker_config

# What the worker runs: its wire format and lockdown inlined ahead of its own code (it sees no grader file).
WORKER_SOURCE = "\n\n".join(Path(m.__file__).read_text(encoding="utf-8")
                              for m in (codec, landlock, seccomp, lockdown, worker))


@dataclass
class Sandbox:
    """One worker for one submission folder (the files to run)."""

    files: dict  # module name -> source path (already located and checked)
    limits: Limits = field(default_factory=Limits)
    python: str = ""
    user: SandboxUser = None
    workdir: Path = None
    notes: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)  # what a checker measured on the case (grader.CaseResult)
    private: list = field(default_factory=list)  # more paths to hide from student code (e.g. results)
    deadline: float = None  # time.monotonic() by which every round trip must be over (the whole grading's)
    graded: dict = field(default_factory=dict)  # {module: [function]}: the worker records the calls of these

    def __post_init__(self):
        self.python = resolved(self.python or worker_python())  # a linked venv folder: the path bwrap binds
        self.proc = None
        self.channel = None
        self.log = None  # OutputLog of the current worker
        self.failed_imports = {}
        self.isolation = {}  # what the worker reported about its isolation at start
        self.isolation_notes = []  # what is weaker than intended, for the output
        self.environment = {}  # the worker's Python and numpy, from its hello (environment.py)
        self._oom_before = ()  # the OOM-kill counters before the current round trip (oom.py)
        self.guard = None  # the current worker's ScratchGuard, where its scratch is a folder on disk (scratch.py)
        self.generation = 0  # counts worker starts: a Cache handle is only valid in its own worker
        self._origin_bytes = {}  # cache handle -> bytes of the forward's inputs (echoed with the backward)
        self._hello_due = False  # spawned ahead, its hello not read yet (spawn)
        self._tree = None  # the pids of the worker's process tree, where it cannot change (recycle_if_broken)
        self._own_workdir = self.workdir is None
        self.workdir = Path(self.workdir or tempfile.mkdtemp(prefix="convgrade-sandbox-"))
        try:
            self._populate()
        except BaseException:
            if self._own_workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)
            raise

    # ------------------------------------------------------------- set-up
    def _populate(self):
        self.rundir, self.scratch = populate(self.workdir, self.files, self.user)

    def _config(self, req_r, rep_w):
        return worker_config(self, req_r, rep_w)

    def _start(self):
        with stages.stage("worker start"):
            if not self._hello_due:
                self._spawn()
            self._hello_due = False
            try:
                self._hello()
            except CallError as err:  # bubblewrap not probed yet (bwrap_may_work): no? the worker's own confinement
                if err.kind != "crash" or not self.wrapped or bwrap_works(self.python):
                    raise
                self._wrapped = False
                self._spawn()
                self._hello()
        self._start_cpu = stages.worker_started(self.proc)

    def spawn(self):
        """Start the worker without waiting for its hello (the first call reads it): it starts up while the grader
        goes on (torch). No student code runs before that call (a student module is imported by a call only)."""
        if self.proc is None and not self._hello_due:
            with stages.stage("worker start"):
                self._spawn()
            self._hello_due = True

    def _spawn(self):
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        self.stack = StackLog(self.workdir / "stack.log")  # where a stopped call was (stack.py)
        stack_fd = self.stack.open_for_worker()
        env = {
            "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(self.rundir), "TMPDIR": "/tmp",
            "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0",
            "CONVGRADE_WORKER_CONFIG": json.dumps({**self._config(req_r, rep_w), "stack_fd": stack_fd}),
        }
        self.log = OutputLog(self.workdir / "output.log", self.limits.output_chars)
        fd = self.log.open_for_worker()
        command = [self.python, "-I", "-c", WORKER_SOURCE]
        if self.wrapped:
            command = bwrap_command(self.python, self.rundir, self.limits, self._carve_outs()) + command
        try:
            self.proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL, stdout=fd, stderr=fd, cwd=self.rundir, env=env,
                pass_fds=(req_r, rep_w, stack_fd), start_new_session=True, close_fds=True,
            )
        finally:
            os.close(fd)
            os.close(stack_fd)
            os.close(req_r)
            os.close(rep_w)
        self._oom_before = oom_kills()  # (a worker that dies before its hello is judged against these)
        self.channel = Channel(req_w, rep_r, faults.watched(self, self._crash_message))
        self.generation += 1

    def _hello(self):
        clock = self.channel.watch = CallClock(self.proc, self.limits.import_timeout, self.limits.call_wall_factor,
                                               starting=True)  # its CPU time counted from its start
        try:
            hello = self.channel.receive(self._time_left(clock.outer, "starting the worker"), "starting the worker",
                                         None, self.reply_cap(0))
        except CallError as err:
            faults.judge(self, err, clock)  # killed from outside, or kept from running, before it said hello
            self.kill()
            raise
        self.isolation = {k: hello.result.get(k) for k in ("uid", "network", "filesystem", "seccomp", "ipc",
                                                           "processes", "landlock", "oom")}
        self._isolation_notes(hello.result)
        self.environment = {k: str(hello.result[k])[:64] for k in ("python", "implementation", "numpy", "machine")
                            if isinstance(hello.result.get(k), str)}
        if hello.result.get("filesystem") == "permissions only":  # no sized tmpfs: the grader keeps the budget
            self.guard = ScratchGuard(self.scratch, self.proc.pid, self.limits.scratch_bytes,
                                      unnamed=hello.result.get("seccomp") != "on")

    @property
    def wrapped(self):
        """Does the worker start under bubblewrap (decided once per sandbox)?"""
        if getattr(self, "_wrapped", None) is None:
            lim = self.limits
            self._wrapped = bool(lim.wrapper == "auto" and lim.mount_isolation and lim.network_namespace
                                 and lim.ipc_namespace and bwrap_may_work(self.python))
        return self._wrapped

    def _carve_outs(self):
        """Paths inside the allow-listed ones that student code must still not see (torch, site-packages of
        the base interpreter, ...): empty tmpfs over them."""
        return [str(p) for p in private_paths(self.files.values(), self.private)]

    def _isolation_notes(self, hello):
        for n in reduced_notes(hello, self.user, self.wrapped):
            if n not in self.isolation_notes:
                self.isolation_notes.append(n)

    def _ensure(self):
        if self._hello_due and self.proc is not None:
            self._start()  # spawned ahead (spawn): its hello
        elif self.proc is None or self.proc.poll() is not None:
            self.kill()
            self._start()

    # ------------------------------------------------------------- calls
    def call(self, module, func, args=(), kwargs=None, keep=None, expect_len=None, timeout=None,
             expect_bytes=None, echo=True):
        """Call ``module.func(*args, **kwargs)`` in the worker.

        args/kwargs values: numpy arrays, ``Cache`` handles, or JSON-able values.
        keep: index of the returned tuple element to keep in the worker (the
        layer's cache); the reply then carries a handle for it.
        expect_bytes: how many bytes of arrays the call should return (the reply
        may hold ``reply_factor`` times that, at least ``reply_min_bytes``, plus
        the echo of the inputs); by default the size of the inputs.
        echo: the reply carries the inputs as they are after the call (in-place changes); the speed part's
        timed calls go without.
        """
        if module in self.failed_imports:
            raise CallError(self.failed_imports[module], kind="import")
        self._ensure()
        arrays = []

        def spec(v):
            if isinstance(v, Cache):
                if v.generation != self.generation:
                    raise CallError("the worker process was restarted after the forward (an earlier crash or "
                                    "timeout), so the forward's cache is gone", kind="crash")
                return {"cache": v.handle}
            if isinstance(v, codec.np.ndarray):
                arrays.append(v)
                return {"array": len(arrays) - 1}
            if isinstance(v, dict):
                return {"dict": {k: spec(x) for k, x in v.items()}}
            if isinstance(v, tuple):
                return {"tuple": list(v)}
            return {"value": v}

        header = {
            "op": "call", "module": module, "func": func,
            "args": [spec(a) for a in args],
            "kwargs": {k: spec(v) for k, v in (kwargs or {}).items()},
            "keep": keep, "expect_len": expect_len, "echo": bool(echo),
        }
        inputs = sum(a.nbytes for a in arrays) + sum(self._origin_bytes.get(v.handle, 0) for v in
                                                       list(args) + list((kwargs or {}).values())
                                                       if isinstance(v, Cache))
        cap = self.reply_cap(inputs if expect_bytes is None else expect_bytes) + 2 * inputs  # + the echoes
        reply = self._roundtrip(header, arrays, timeout or self.limits.call_timeout, f"{module}.{func}()",
                                module=module, max_bytes=cap)
        if reply.cache is not None:
            self._origin_bytes[reply.cache.handle] = sum(a.nbytes for a in arrays)
        return reply

    @stages.staged("sandbox")
    def recycle_if_broken(self):
        """After a case: kill a worker left holding too many open files, threads or too much memory (read from
        /proc, outside the worker), so that a fresh one runs the cases that follow. Returns why, or ''."""
        if self.proc is None or self.proc.poll() is not None:
            return ""
        # seccomp on (its hello says so before any student code): no new process, the tree is read once
        self._tree = self._tree or (tree(self.proc.pid) if self.isolation.get("seccomp") == "on" else None)
        why = self.limits.held_too_much(usage(self.proc.pid, self._tree))
        if why:
            self.kill()
        return why

    def reply_cap(self, expect_bytes):
        """Bytes of arrays a reply may carry for a call expected to return ``expect_bytes``."""
        return int(max(self.limits.reply_min_bytes, self.limits.reply_factor * max(int(expect_bytes), 0)))

    def ping(self, arrays=(), echo=False, extra_shapes=()):
        """A round trip that runs nothing: ``arrays`` go to the worker; with ``echo`` they come back, with
        zero arrays of ``extra_shapes`` (the traffic of a call that returns such outputs)."""
        self._ensure()
        header = {"op": "ping", "echo": bool(echo), "extra_shapes": [list(s) for s in extra_shapes]}
        back = (sum(a.nbytes for a in arrays) if echo else 0) + sum(8 * math.prod(s) for s in extra_shapes)
        return self._roundtrip(header, list(arrays), self.limits.call_timeout, "ping", max_bytes=self.reply_cap(back))

    def clean_twin(self):
        """A second sandbox of the same kind (interpreter, limits, hidden paths, deadline) that holds no
        student file and never imports one: it runs as the grader's user, since no student code ever runs
        in it (and so it cannot be touched by the student's uid, nor kill its processes when it ends)."""
        return Sandbox(files={}, limits=dataclasses.replace(self.limits), python=self.python, user=None,
                       private=list(self.private), deadline=self.deadline)

    def _time_left(self, timeout, what):
        """min(timeout, what is left of the whole grading); raises once the grading's time is up."""
        if self.deadline is None:
            return timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise CallError(f"{what} was not run: the time for the whole grading "
                            f"({self.limits.grading_seconds:g} s) ran out", kind="deadline")
        return min(timeout, left)

    @stages.staged("student calls")
    def _roundtrip(self, header, arrays, timeout, what, module=None, max_bytes=None):
        start = time.perf_counter()
        clock = CallClock(self.proc, timeout, self.limits.call_wall_factor)  # the limit in the worker's own time
        try:
            allowed = self._time_left(clock.outer, what)
        except CallError:
            self.kill()
            raise
        cut = allowed < clock.outer  # the grading's deadline, not the call's wall bound, ends this call
        deadline = start + allowed
        self.log.reset()
        self.stack.reset()
        self._oom_before = oom_kills()
        self.channel.watch = clock
        try:
            self.channel.send(codec.pack({**header, "alarm": alarm_for(allowed)}, arrays), deadline, what)
            reply = self.channel.receive(deadline - time.perf_counter(), what, header.get("op"),
                                         self.reply_cap(0) if max_bytes is None else max_bytes)
        except CallError as err:
            faults.judge(self, err, clock)
            err.output = self.log.read()
            if err.kind == "timeout":
                # the grader's clock, not the worker's timer, ended it: the dump on request, of a live interpreter
                pid = worker_pid(self.proc) if clock.expired and self.proc.poll() is None else None
                if pid is not None and pid in tree(self.proc.pid):
                    self.stack.ask(pid)
                err.where = self.stopped_at()
            self.kill()
            if err.kind == "timeout" and cut and not clock.expired:
                err.kind = "deadline"
                err.args = (f"{what} did not finish before the time for the whole grading "
                            f"({self.limits.grading_seconds:g} s) ran out",)
            if module and err.kind == "timeout" and header.get("op") == "call" and not err.fault:
                self._maybe_mark_import_timeout(module)
            raise
        reply.seconds = time.perf_counter() - start
        reply.output = self.log.read()
        reply.used = self._known_used(reply.result.get("used", []))
        if not reply.result.get("ok"):
            raise CallError(reply.result.get("error", "unknown error"), kind="error",
                            where=reply.result.get("where", ""), output=reply.output, used=reply.used)
        handle = reply.result.get("cache")
        reply.cache = Cache(handle, self.generation) if isinstance(handle, int) else None
        return reply

    def _known_used(self, used):
        """The graded functions a reply says its call ran, those of ``graded`` only (student-controlled: they
        only ever change the student's own feedback, never a score)."""
        return [u for u in dict.fromkeys(used) if u.partition(".")[2] in self.graded.get(u.partition(".")[0], ())]

    def _maybe_mark_import_timeout(self, module):
        """A timeout: was it the import? Probe with a plain import under the import timeout."""
        try:
            self._ensure()
            self._roundtrip({"op": "import", "module": module}, [], self.limits.import_timeout, "import")
        except CallError as err:
            if err.kind == "timeout" and not err.fault:  # (a starved import says nothing of the module)
                self.failed_imports[module] = (
                    f"importing {module}.py did not finish within {self.limits.import_timeout:.0f} s "
                    "(an infinite loop at module level?)"
                )

    def stopped_at(self):
        """Where the worker's stack dump (stack.py) says the student's code was: "conv.py, line 12, in f", or ""."""
        return self.stack.where(self.rundir, {*self.files, "common"})

    def _crash_message(self, what):
        """The CallError of a worker whose pipe closed (ending.py says how it ended, its stack dump where it was;
        bubblewrap passes a signal on as 128 + its number)."""
        exceeded, why = self._stop_guard()
        code = None
        if self.proc is not None:
            with suppress(subprocess.TimeoutExpired):
                code = self.proc.wait(timeout=0.5)
        if code is not None and self.wrapped and code > 128:
            code = 128 - code
        where = self.stopped_at() if code is not None and code < 0 else ""
        return how_it_ended(what, code, exceeded, why, self._oom_before, where, self.limits)

    # ------------------------------------------------------------- control
    def pause(self):
        """Stop every sandbox process (SIGSTOP) while the grader times torch."""
        self._signal_all(signal.SIGSTOP)

    def resume(self):
        self._signal_all(signal.SIGCONT)

    def _stop_guard(self):
        """Stop the current worker's scratch guard: (why it ended the worker, a key of scratch.EXCEEDED or '';
        the count that failed)."""
        guard, self.guard = self.guard, None
        return (guard.stop(), guard.why) if guard is not None else ("", "")

    def _signal_all(self, sig):
        if self.guard is not None:  # a stopped worker writes nothing: its scratch guard rests meanwhile
            self.guard.rest(sig == signal.SIGSTOP)
        if self.proc is not None and self.proc.poll() is None:
            with suppress(OSError):
                os.killpg(self.proc.pid, sig)
        if self.user is not None:
            for pid in pids_of_uid(self.user.uid):
                with suppress(OSError):
                    os.kill(pid, sig)

    def kill(self):
        """SIGKILL the worker's process group and everything the sandbox user runs."""
        self._hello_due, self._tree = False, None
        self._stop_guard()
        stages.worker_ended(self.proc, getattr(self, "_start_cpu", 0.0))
        if self.proc is not None:
            with suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with suppress(OSError):
                self.proc.kill()
            with suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
            self.proc = None
        if self.user is not None:
            kill_uid(self.user.uid)
        if self.channel is not None:
            self.channel.close()
            self.channel = None

    def close(self):
        self.kill()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
