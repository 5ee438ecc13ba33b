"""Shared test set-up: the reference solutions are importable as flat modules
(``import conv``), the way the grader's worker imports a submission.

Every test run has names of its own for what it creates on the machine (other test runs, gradings and
people share it): its sandbox users and their slot locks are ``cgt<run>``, ``cgt<run>-N``
($CONVGRADE_SANDBOX_USER, read by every process the run starts), and $CONVGRADE_TEST_RUN is the run's id for
anything else a test names (tests/hostile/attacks.py's IPC keys and names, a test's own users). The run
removes its sandbox users at its end, only those (pytest-xdist: the controller, after every worker)."""

import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "solutions"))
sys.path.insert(1, str(ROOT))

# xdist's workers inherit the controller's environment: one id for the whole run (a pytest that a test
# starts inherits it too, and leaves the clean-up to the run that made the id)
if "CONVGRADE_TEST_RUN" not in os.environ:
    os.environ["CONVGRADE_TEST_RUN"], os.environ["CONVGRADE_TEST_RUN_PID"] = secrets.token_hex(3), str(os.getpid())
RUN = os.environ["CONVGRADE_TEST_RUN"]
SANDBOX_BASE = os.environ.setdefault("CONVGRADE_SANDBOX_USER", f"cgt{RUN}")


def pytest_sessionfinish(session, exitstatus):
    if (hasattr(session.config, "workerinput") or os.geteuid() != 0 or SANDBOX_BASE != f"cgt{RUN}"
            or os.environ.get("CONVGRADE_TEST_RUN_PID") != str(os.getpid())):
        return
    from autograder.staff.cleanup import cleanup

    removed, messages = cleanup(SANDBOX_BASE)
    if messages:
        print(f"\nsandbox users of this test run left in place: {'; '.join(messages)}", file=sys.stderr)
