"""How a worker whose pipe closed ended, in the words a student reads: the CallError of its call.

The grader knows what it knows from outside the worker: the exit status (bubblewrap passes a signal on as
128 + its number), whether the scratch guard ended it (scratch.py), whether the kernel's OOM killer did
(oom.py: a counter went up during the call).
"""

import signal

from .channel import CallError
from .oom import oom_killed
from .scratch import EXCEEDED


def how_it_ended(what, code, wrapped, exceeded, why, oom_before, limits):
    """The CallError of a worker that ended during ``what``: ``code`` its exit status (None: still unknown),
    ``exceeded``/``why`` what its scratch guard said, ``oom_before`` the OOM counters before the call."""
    if code is not None and wrapped and code > 128:
        code = 128 - code
    if exceeded:
        return CallError(EXCEEDED[exceeded].format(mb=limits.scratch_bytes >> 20, what=what, why=why), kind="crash")
    if code == -signal.SIGKILL and oom_killed(oom_before):
        return CallError(f"your code ran out of memory during {what}: the machine's memory was used up and "
                         "the kernel ended the worker (hint: large temporary arrays, or a copy per loop "
                         "iteration?)", kind="memory")
    if code is not None and code < 0:
        try:
            sig = signal.Signals(-code).name
        except ValueError:
            sig = str(-code)
        hint = {"SIGKILL": " (memory or CPU limit?)", "SIGXCPU": " (CPU time limit)",
                "SIGXFSZ": " (file size limit: too much output?)", "SIGSEGV": ""}.get(sig, "")
        return CallError(f"the worker process died during {what}: killed by {sig}{hint}", kind="crash")
    if code is not None:
        return CallError(f"the worker process exited during {what} (exit code {code}: sys.exit or os._exit in "
                         "student code?)", kind="crash")
    return CallError(f"the worker process closed its channel during {what}", kind="crash")
