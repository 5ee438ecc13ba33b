"""Where a stopped run was, graded through the real path: a call that runs past its time, that runs out of memory
or that kills the worker is reported with the file, function and line of the student's code that was running
(the worker's stack dump, sandbox/stack.py), never as "sys.exit" when the kernel or the limits ended it; and a
value the docstring promises as a new array fails when it shares memory with an input.

Each grade replaces dilate_kernel in the reference solutions (tests/test_grader.submission) and grades that part
alone with short limits.
"""

import re

import pytest
from test_grader import submission

from autograder.checking.table import load
from autograder.run import grade
from autograder.sandbox.limits import Limits

TABLE = load()
LOOP = """
def dilate_kernel(w, dilation):
    spins = 0
    while True:
        spins += 1
"""
GROWING = """
def dilate_kernel(w, dilation):
    kept = []
    while True:
        kept.append([len(kept)] * 512)
"""
SEGFAULT = """
import ctypes


def dilate_kernel(w, dilation):
    return ctypes.c_int.from_address(16).value
"""
EXIT = """
import os


def dilate_kernel(w, dilation):
    os._exit(3)
"""

# A white-box attack on the call clock: the grader reads the worker's CPU time between waits for its reply, so a
# thread that keeps the reply pipe busy (a length, then one byte of padding every 20 ms) while the call spins
# would keep the clock from ever being read, and the call would run to the wall bound (4x its limit).
TRICKLE = """
import os
import stat
import struct
import threading
import time


def _trickle():
    for fd in range(3, 64):
        try:
            if not stat.S_ISFIFO(os.fstat(fd).st_mode):
                continue
            os.write(fd, struct.pack(">Q", 500000))
        except OSError:
            continue
        while True:
            os.write(fd, b" ")
            time.sleep(0.02)


def dilate_kernel(w, dilation):
    threading.Thread(target=_trickle, daemon=True).start()
    spins = 0
    while True:
        spins += 1
"""


def graded(tmp_path, code, pid="dilate_kernel", **limits):
    folder = submission(tmp_path, patches={"dilated": code})
    lines = (folder / "dilated.py").read_text().splitlines()
    outcome = grade(folder, parts=[pid], user=None, limits=Limits(**{"call_timeout": 3.0, "import_timeout": 5.0,
                                                                        **limits}))
    result = outcome.parts[pid]
    return result, result.feedback(reveal=False), lines


def line_of(lines, text):
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_a_call_stopped_at_the_time_limit_says_which_line_was_running(tmp_path):
    result, text, lines = graded(tmp_path, LOOP)
    # the loop's two lines: the signal may find it at either (its jump back belongs to the `while` line)
    loop = "|".join(str(line_of(lines, t)) for t in ("while True:", "spins += 1"))
    where = rf"dilated\.py, line ({loop}), in dilate_kernel"
    visible = [c for c in result.cases if not c.hidden and c.kind == "timeout"]
    assert visible and all(re.search(f"it was running {where} when it was stopped", c.lines[0]) for c in visible), text
    assert all(any(re.fullmatch(f"dilate_kernel did not finish in time: it was stopped at {where}", line)
                   for line in c.located) for c in visible), [c.located for c in visible]


def test_a_reply_trickled_a_byte_at_a_time_does_not_stretch_the_time_limit(tmp_path):
    limit = 3.0
    result, text, _ = graded(tmp_path, TRICKLE, call_timeout=limit)
    stopped = [c for c in result.cases if c.kind in ("timeout", "protocol")]
    assert stopped and result.score == 0, text
    outer = limit * Limits().call_wall_factor
    assert all(c.seconds < 0.75 * outer for c in stopped), [(c.index, c.kind, round(c.seconds, 1)) for c in stopped]


def test_a_list_that_grows_until_memory_runs_out_is_said_so_with_its_line(tmp_path):
    result, text, lines = graded(tmp_path, GROWING, memory_bytes=640 * 2**20)
    where = f"dilated.py, line {line_of(lines, 'kept.append')}, in dilate_kernel"
    failed = [c for c in result.cases if not c.passed]
    assert failed and all("ran out of memory" in c.lines[0] and where in c.lines[0] for c in failed), text
    assert "sys.exit" not in text and "exit code" not in text


def test_a_fatal_signal_is_reported_with_the_line_that_raised_it(tmp_path):
    result, text, lines = graded(tmp_path, SEGFAULT)
    where = f"dilated.py, line {line_of(lines, 'from_address')}, in dilate_kernel"
    crashed = [c for c in result.cases if c.kind == "crash"]
    assert crashed and all(re.search(rf"killed by SIGSEGV.* at {re.escape(where)}", c.lines[0]) for c in crashed), text
    assert "sys.exit" not in text


def test_only_an_exit_the_code_asked_for_is_called_an_exit(tmp_path):
    result, text, _ = graded(tmp_path, EXIT)
    assert "exit code 3 (os._exit in student code?)" in text and "sys.exit" not in text


@pytest.mark.parametrize("pid", [p.id for p in TABLE.parts if p.new_arrays])
def test_a_value_promised_new_that_is_a_view_of_an_input_fails_its_case(tmp_path, pid):
    views = """
def fc_to_conv(weight, bias, input_size):
    C, H, W = input_size
    return weight.reshape(weight.shape[0], C, H, W), bias
"""
    folder = submission(tmp_path, patches={"fcn": views})
    result = grade(folder, parts=[pid], user=None).parts[pid]
    with_bias = [c for c in result.cases if TABLE.part(pid).cases[c.index - 1].get("bias", True)]
    assert result.score == 0 and with_bias
    for c in result.cases:
        assert any(line.startswith("w_conv shares memory with the input weight") for line in c.lines), c.lines
        assert "w_conv shares memory with the input weight" in c.located
    assert all(any("b_conv shares memory with the input bias" in line for line in c.lines) for c in with_bias)
