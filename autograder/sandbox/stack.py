"""Where a stopped run was: the worker's stack, dumped by the worker itself to a file the grader reads; and how a
worker that died ended (``ended``: the wording of its CallError).

Before its lockdown the worker points Python's faulthandler at a file descriptor the grader opened for it
(``stack.log`` in the grading's folder): for SIGALRM (``faulthandler.register``) and for the fatal signals
(``faulthandler.enable``: SIGSEGV, SIGFPE, SIGABRT, SIGBUS, SIGILL). Before each round trip the grader sends
``alarm`` seconds with the request, a little less than it waits for the reply; the worker arms a real-time timer
(``signal.setitimer``) for that long around the call. A call that runs past it gets its stack written from the
signal handler (C code: a Python loop and a numpy routine alike, no thread needed), and the grader, which then
gives up on the call, reads where the student's code was. A call the grader stops before that timer (its
CPU time or its own time reached the limit first: calltime.py) gets the SIGALRM from the grader (``ask``). A
fatal signal writes the stack the same way.

What the file says is student-controlled (code can write to the descriptor, or take SIGALRM for itself): at
worst it names another line of the student's own files, since only frames in the run folder's modules are kept
and checked against those files (evidence.raised_at). The system calls this makes in the worker (strace): before
the lockdown sigaltstack and rt_sigaction (SIGALRM and the five fatal signals); after it setitimer, twice per
round trip (armed, disarmed); on a dump write (a few dozen) and rt_sigreturn; on a fatal signal write, then
rt_sigaction, getpid, gettid and tgkill to die of the signal after the dump.
"""

import os
import re
import signal
import time

from .channel import CallError
from .worker import EXIT_FAILED, EXIT_MEMORY

FRAME = re.compile(r'^\s*File "(?P<path>[^"\n]{1,4096})", line (?P<line>\d{1,7}) in (?P<func>[\w<>.]{1,100})\s*$')
MAX_BYTES = 64 * 1024  # more than any honest dump (100 frames per thread, a few threads)
MARGIN = 0.5  # seconds between the worker's dump and the grader giving up on the call
ASK_WAIT, ASK_STEADY = 2.0, 0.1  # a dump asked for: the longest wait, and how long its size must hold still


def alarm_for(allowed):
    """Seconds after which the worker dumps its stack, for a round trip the grader waits ``allowed`` seconds for."""
    return round(max(0.05, min(allowed - MARGIN, allowed * 0.9)), 3)


class StackLog:
    """The file the worker's faulthandler writes to: emptied before each round trip, read after a stopped one."""

    def __init__(self, path):
        self.path = path

    def open_for_worker(self):
        """A write-only descriptor for the worker (the caller closes its copy once passed on)."""
        return os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC | os.O_TRUNC, 0o600)

    def reset(self):
        try:
            os.truncate(self.path, 0)
        except OSError:
            pass

    def read(self):
        try:
            with open(self.path, "rb") as f:
                return f.read(MAX_BYTES).decode("utf-8", errors="replace")
        except OSError:
            return ""

    def ask(self, pid, wait=ASK_WAIT):
        """Have the worker ``pid`` dump its stack now: a call the grader stops before the worker's timer fires (its
        CPU time or its own time reached the limit first, calltime.py) is located all the same. Waits up to
        ``wait`` seconds for the dump, until its size has not changed for ASK_STEADY seconds (the handler writes
        it at once, even inside a numpy loop, but a busy machine can pause it halfway)."""
        try:
            os.kill(pid, signal.SIGALRM)
        except OSError:  # gone already
            return
        deadline, last, steady = time.monotonic() + wait, -1, None
        while time.monotonic() < deadline:
            try:
                size = os.stat(self.path).st_size
            except OSError:
                return
            now = time.monotonic()
            if size != last:
                last, steady = size, now
            elif size and now - steady >= ASK_STEADY:
                return
            time.sleep(0.02)

    def where(self, rundir, modules):
        """"conv.py, line 42, in conv2d_forward": the innermost frame of the dump in one of ``modules`` (the run
        folder's student files, by module name), or ""."""
        return innermost(self.read(), rundir, modules)


def innermost(text, rundir, modules):
    """The innermost frame of a faulthandler dump (per thread, most recent call first) whose file is a module of
    ``modules`` in ``rundir``: in the thread that serves the grader's calls (the one whose frames include the
    worker's own, ``<string>``) first, then the thread the signal interrupted, then any other."""
    rundir = os.path.realpath(str(rundir))
    blocks = [[]]
    for line in text.splitlines():
        if line.startswith(("Thread ", "Current thread ")):
            blocks.append([line])
        else:
            blocks[-1].append(line)
    blocks.sort(key=lambda b: (not any('File "<string>"' in line for line in b),
                               not (b and b[0].startswith("Current thread "))))
    for block in blocks:
        for line in block:
            m = FRAME.match(line)
            if not m:
                continue
            folder, base = os.path.split(m.group("path"))
            module = base[:-3] if base.endswith(".py") else ""
            if module in modules and os.path.realpath(folder or rundir) == rundir:
                return f"{base}, line {int(m.group('line'))}, in {m.group('func')}"
    return ""


def ended(what, code, oom, where, limits):
    """The CallError of a worker that ended during ``what`` with ``code`` (Popen's returncode: -N for signal N; None
    when it is still running), ``oom``: the kernel's OOM killer sent its SIGKILL (oom.py), ``where``: what its stack
    dump says. Out of memory (that SIGKILL, or a MemoryError the worker could not report) is said so; an exit code
    is never taken for sys.exit when a signal or the worker's own failure ended it."""
    at = f" at {where}" if where else ""
    if oom or code == EXIT_MEMORY:
        how = ("the machine's memory was used up and the kernel ended the worker" if oom else
               f"a MemoryError at the worker's limit of {limits.memory_bytes >> 20} MB of address space")
        return CallError(f"your code ran out of memory during {what}{at} ({how}; hint: large temporary arrays, a copy "
                         "per loop iteration, or a list that keeps growing?)", kind="memory", where=where)
    if code is not None and code < 0:
        try:
            sig = signal.Signals(-code).name
        except ValueError:
            sig = str(-code)
        hint = {"SIGKILL": " (the memory or CPU time limit?)", "SIGXCPU": " (the CPU time limit)",
                "SIGXFSZ": " (the file size limit: too much output?)"}.get(sig, "")
        return CallError(f"the worker process died during {what}: killed by {sig}{hint}{at}", kind="crash", where=where)
    if code == EXIT_FAILED:
        return CallError(f"the worker process failed during {what} with an error it could not report", kind="crash")
    if code is not None:
        return CallError(f"the worker process exited during {what} with exit code {code} (os._exit in student code?)",
                         kind="crash")
    return CallError(f"the worker process closed its channel during {what}", kind="crash")
