"""How a worker whose pipe closed ended, in the words a student reads: the CallError of its call.

The grader knows what it knows from outside the worker: the exit status, whether the scratch guard ended it
(scratch.py), whether the kernel's OOM killer did (oom.py: a counter went up during the call), and where its
stack dump says the student's code was (stack.py, which words the rest).
"""

import signal

from .channel import CallError
from .oom import oom_killed
from .scratch import EXCEEDED
from .stack import ended


def how_it_ended(what, code, exceeded, why, oom_before, where, limits):
    """The CallError of a worker that ended during ``what``: ``code`` its exit status (-N for signal N; None: still
    unknown), ``exceeded``/``why`` what its scratch guard said, ``oom_before`` the OOM counters before the call,
    ``where`` what its stack dump says."""
    if exceeded:
        return CallError(EXCEEDED[exceeded].format(mb=limits.scratch_bytes >> 20, what=what, why=why), kind="crash")
    return ended(what, code, code == -signal.SIGKILL and oom_killed(oom_before), where, limits)
