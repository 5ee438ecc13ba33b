"""Issue 26's red team (tests/hostile/redteam26.py): each test fails while its hole is open.

- Two gradings at once must share no bits: the channel probes run in two sandboxes of their own (each its own
  sandbox user, as two gradings of grade-all), sender and receiver at the same time, in the modes the grader runs
  in (bubblewrap as root; no namespaces at all, as in Gradescope's container); the receiver must not read what was
  sent.
- The speed figure is the worker's CPU time whatever the student's code does to its own worker.
- Honest code that uses tempfile's temporary files scores full marks.
"""

import os
import secrets
import shutil
import threading
from pathlib import Path

import pytest
from hostile import redteam26

from autograder.checking.layer import CaseRun, rng_for
from autograder.checking.table import MODULES, load
from autograder.run import grade
from autograder.sandbox.channel import CallError
from autograder.sandbox.codec import decode
from autograder.sandbox.isolation import acquire, release
from autograder.sandbox.limits import Limits
from autograder.sandbox.session import Sandbox

ROOT = Path(__file__).resolve().parent.parent
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason=(
    "needs root: two sandbox users of their own (useradd, setuid), as two gradings of grade-all have"))
BUBBLEWRAP = {}
NO_NAMESPACES = {"wrapper": "none", "mount_isolation": False, "network_namespace": False, "ipc_namespace": False}
BITS = 16


def submission(folder, module, code):
    folder.mkdir()
    for m in MODULES:
        shutil.copy(ROOT / "solutions" / f"{m}.py", folder / f"{m}.py")
    with open(folder / f"{module}.py", "a") as f:
        f.write("\n\n" + code)
    return folder


def across(source, bits, limits, tmp_path):
    """Run ``recv(len(bits))`` and ``send(bits)`` of the module ``source`` at the same time in two sandboxes, each
    with a sandbox user of its own; what the receiver read (None where its call failed)."""
    path = tmp_path / "channel.py"
    path.write_text(source)
    barrier = threading.Barrier(2, timeout=120)
    got = {}

    def run(role, arg):
        user = acquire()[0]
        try:
            with Sandbox(files={"channel": str(path)}, limits=limits, user=user) as sb:
                sb.ping()  # both workers are up before either starts
                barrier.wait()
                reply = sb.call("channel", role, [arg])
                got[role] = decode(reply.result["result"], reply.arrays).value
        except (CallError, threading.BrokenBarrierError) as err:
            got[role] = None
            got[f"{role} error"] = str(err)
        finally:
            release(user)

    threads = [threading.Thread(target=run, args=args) for args in (("send", bits), ("recv", len(bits)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return got


def pattern():
    """BITS random bits, some 0s and some 1s."""
    return "10" + format(secrets.randbits(BITS - 2), f"0{BITS - 2}b")


@ROOT_ONLY
@pytest.mark.parametrize("limits", [BUBBLEWRAP, NO_NAMESPACES], ids=["bubblewrap", "no_namespaces"])
@pytest.mark.parametrize("channel", ["futex", "smaps"])
def test_two_gradings_at_once_share_no_bits(channel, limits, tmp_path):
    """FUTEX: shared futex words in a page of numpy's own files (the filter allows futex whatever its operation);
    SMAPS: whether another process maps the same page of a stdlib file, in /proc/self/smaps (Landlock allows the
    worker's own /proc entry). Both hold in bubblewrap's namespaces too: the files are the same inodes."""
    bits = pattern()
    got = across(redteam26.CHANNELS[channel], bits, Limits(call_timeout=60, **limits), tmp_path)
    assert got["recv"] != int(bits, 2), f"the receiver read the sender's {BITS} bits {bits} ({got})"


@ROOT_ONLY
@pytest.mark.parametrize("channel", ["proc_fds", "pid_counter"])
def test_two_gradings_at_once_in_pid_namespaces_share_no_bits(channel, tmp_path):
    """stat() of another process's /proc/<pid>/fd (its number of descriptors: Landlock governs opening, not stat),
    and the machine's pid counter (every new thread takes the next pid): each worker in a PID namespace of its own
    (bubblewrap) sees neither. Where workers get none (no bubblewrap: Gradescope's container, where one grading
    runs at a time anyway), grade-all grades one submission at a time (test_batch.py,
    test_grade_all_runs_one_at_a_time_without_pid_namespaces)."""
    bits = pattern()[: 5 if channel == "proc_fds" else 8]
    got = across(redteam26.CHANNELS[channel], bits, Limits(call_timeout=60, **BUBBLEWRAP), tmp_path)
    assert got["recv"] != int(bits, 2), f"the receiver read the sender's bits {bits} ({got})"


@ROOT_ONLY
@pytest.mark.parametrize("limits", [BUBBLEWRAP, NO_NAMESPACES], ids=["bubblewrap", "no_namespaces"])
def test_the_speed_figure_stays_cpu_time_when_the_worker_ends_after_a_reply(limits, tmp_path):
    """The student's worker ends itself right after the reply of the speed case's correctness call: the grader
    must not then take the machine for one without CPU clocks and time the student by the wall clock (where
    threads run in parallel, against torch's one thread): CPU time, or the case fails."""
    part = load().part("gemm_efficiency")
    case = next(c for c in part.cases if not c.get("hidden"))
    x = dict(CaseRun(part, case, rng_for(case)).args)["x"]
    code = redteam26.GEMM_WALL_CLOCK.replace("@SHAPE@", repr(x.shape)).replace("@FIRST@", repr(float(x.flat[0])))
    folder = submission(tmp_path / "wall", "toeplitz", code)
    result = grade(folder, parts=["gemm_efficiency"], limits=Limits(**limits)).parts["gemm_efficiency"]
    text = "\n".join(result.cases[0].lines + result.cases[0].info)
    assert "took" in text, text  # it was measured
    assert "of CPU time" in text or not result.passed, text


def test_honest_temporary_files_score_full_marks(tmp_path):
    """A correct dilate_kernel that takes its answer through tempfile.TemporaryFile, NamedTemporaryFile and
    TemporaryDirectory (np.save / np.load), as a student trying out np.save would: each deletes its file on close,
    and the filter refuses unlink and rmdir, so every case fails with PermissionError from the `with` line."""
    folder = submission(tmp_path / "tempfiles", "dilated", redteam26.TEMP_FILES)
    result = grade(folder, parts=["dilate_kernel"]).parts["dilate_kernel"]
    assert result.passed == len(result.cases), result.feedback()
