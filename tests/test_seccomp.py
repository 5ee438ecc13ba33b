"""The worker's system-call allow-list (autograder/sandbox/syscalls.yaml), both ways.

- The data: every entry says why; its numbers are the kernel's (the machine's own headers, where installed).
- The compiler: the BPF program the worker installs answers every call exactly as the policy says
  (policy.decide), checked by running the program in a small BPF interpreter over every call number,
  both architectures, the constrained arguments and their neighbours, another ABI and x32.
- A real worker: one call of each refused family, made by a submission, fails (tests/hostile/refused.py),
  in every mode the grader runs in; and the honest work is unaffected (the reference and both correct styles
  score full marks under the filter in test_mutants.py; tools/trace_syscalls.py shows what they call).
"""

import errno
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hostile.refused import FAMILIES, REFUSED_PROBE

from autograder.sandbox import policy, seccomp
from autograder.sandbox.codec import decode
from autograder.sandbox.isolation import acquire, release
from autograder.sandbox.limits import Limits
from autograder.sandbox.session import Sandbox

ROOT = Path(__file__).resolve().parent.parent
HEADERS = {"x86_64": Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
           "aarch64": Path("/usr/include/asm-generic/unistd.h")}
# asm-generic's names for the calls aarch64 knows under their 64-bit-file names
GENERIC_ALIASES = {"newfstatat": "fstatat", "fstat": "fstat", "fcntl": "fcntl", "lseek": "lseek", "mmap": "mmap",
                   "ftruncate": "ftruncate", "statfs": "statfs", "fstatfs": "fstatfs"}


def header_numbers(machine):
    path = HEADERS[machine]
    if not path.exists():
        return None
    found = {}
    for name, nr in re.findall(r"#define __NR(?:3264)?_(\w+)\s+(\d+)", path.read_text()):
        found.setdefault(name, int(nr))
    return found


def test_every_allowed_call_says_why_and_the_refused_families_are_listed():
    data = policy.load()  # load() refuses an entry without a reason (test_a_policy_without_reasons_is_refused)
    assert len(data["allow"]) > 40
    assert {f.family for f in FAMILIES} == set(data["refused"])  # each refused family is tried below


@pytest.mark.parametrize("machine", sorted(HEADERS))
def test_numbers_are_the_kernels(machine):
    table = header_numbers(machine)
    if table is None:
        pytest.skip(f"no kernel headers for {machine} here ({HEADERS[machine]}: Debian's linux-libc-dev)")
    checked = 0
    for name, nr in policy.numbers(machine).items():
        known = table.get(GENERIC_ALIASES.get(name, name) if machine == "aarch64" else name)
        if known is not None:  # a call newer than the headers (map_shadow_stack) is not in them
            assert known == nr, f"{name} is {known} on {machine}, syscalls.yaml says {nr}"
            checked += 1
    assert checked > 40


# ----------------------------------------------------------------- the compiled filter against the policy
def run_bpf(prog, nr, arch, args):
    """A classic-BPF interpreter for the instructions seccomp.py emits, over one struct seccomp_data."""
    data = [nr, arch, 0, 0]  # nr, arch, instruction pointer (two words)
    for a in args:
        data += [a & 0xFFFFFFFF, (a >> 32) & 0xFFFFFFFF]
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = prog[pc]
        pc += 1
        if code == seccomp.LD_W_ABS:
            acc = data[k // 4]
        elif code == seccomp.AND_K:
            acc &= k
        elif code == seccomp.JA:
            pc += k
        elif code in (seccomp.JEQ_K, seccomp.JGE_K, seccomp.JSET_K):
            hit = {seccomp.JEQ_K: acc == k, seccomp.JGE_K: acc >= k, seccomp.JSET_K: bool(acc & k)}[code]
            pc += jt if hit else jf
        elif code == seccomp.RET_K:
            return k
        else:
            raise AssertionError(f"unexpected BPF instruction {code:#x}")


def answer(ret):
    if ret == seccomp.SECCOMP_RET_ALLOW:
        return policy.ALLOW
    assert ret & 0xFFFF0000 == seccomp.SECCOMP_RET_ERRNO
    return ret & 0xFFFF


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_the_filter_answers_as_the_policy_says(machine):
    compact = policy.for_machine(machine)
    pid = 4242
    prog = seccomp.seccomp_program(compact, pid)
    assert all(0 <= jt < 256 and 0 <= jf < 256 for _, jt, jf, _ in prog) and len(prog) < 4096
    rng = random.Random(7)
    probes = [[0] * 6, [pid, 0, 0, 0, 0, 0], [(-pid) & 0xFFFFFFFF] * 6]
    for _, _, only, _ in compact["rules"]:
        for index, _, values in only or []:
            for v in values:
                v = {"self": pid, "-self": -pid}.get(v, v) if isinstance(v, str) else v
                for w in (v, v + 1, v - 1, v | 0x400000, v ^ 0x10000, v + (1 << 32)):
                    args = [rng.getrandbits(64) for _ in range(6)]
                    args[index] = w & 0xFFFFFFFFFFFFFFFF
                    probes.append(args)
    probes += [[rng.getrandbits(64) for _ in range(6)] for _ in range(20)]
    for nr in range(0, 600):
        for args in probes:
            got = answer(run_bpf(prog, nr, compact["audit_arch"], args))
            assert got == policy.decide(compact, nr, args, pid), (nr, args)
    allowed = {nr for nr in range(600) if answer(run_bpf(prog, nr, compact["audit_arch"], [0] * 6)) == policy.ALLOW}
    rules = compact["rules"]
    assert {nr for nr, refused, only, _ in rules if not refused and not only} <= allowed
    assert allowed <= {nr for nr, refused, _, _ in rules if not refused}  # nothing off the list, whatever the arguments
    # another ABI (i386, 32-bit arm) and, on x86_64, the x32 numbering: refused whatever the number
    assert answer(run_bpf(prog, 0, 0x40000003, [0] * 6)) == errno.EPERM
    if compact["x32_bit"]:
        assert answer(run_bpf(prog, compact["x32_bit"] | 0, compact["audit_arch"], [0] * 6)) == errno.EPERM


def test_constraints_in_words():
    """A few of the policy's promises, spelt out (numbers of x86_64)."""
    p = policy.for_machine("x86_64")
    nr = policy.numbers("x86_64")
    assert policy.decide(p, nr["clone"], [0x3D0F00]) == policy.ALLOW  # pthread_create's flags
    assert policy.decide(p, nr["clone"], [17]) == errno.EPERM  # fork(): SIGCHLD only
    assert policy.decide(p, nr["clone"], [0x3D0F00 | 0x40000000]) == errno.EPERM  # a thread in a new namespace
    assert policy.decide(p, nr["clone3"]) == errno.ENOSYS  # the C library falls back to clone
    assert policy.decide(p, nr["openat"], [0, 0, os.O_RDONLY | os.O_CLOEXEC]) == policy.ALLOW
    assert policy.decide(p, nr["openat"], [0, 0, os.O_TMPFILE | os.O_RDWR]) == errno.EPERM
    assert policy.decide(p, nr["fcntl"], [3, 6]) == errno.EPERM  # F_SETLK
    assert policy.decide(p, nr["fcntl"], [3, 37]) == errno.EPERM  # F_OFD_SETLK
    assert policy.decide(p, nr["fcntl"], [3, 8]) == errno.EPERM  # F_SETOWN
    assert policy.decide(p, nr["kill"], [99, 9], pid=100) == errno.EPERM
    assert policy.decide(p, nr["kill"], [100, 9], pid=100) == policy.ALLOW
    assert policy.decide(p, nr["prctl"], [4, 1]) == errno.EPERM  # PR_SET_DUMPABLE
    assert policy.decide(p, nr["futex"], [0, 128]) == policy.ALLOW  # FUTEX_WAIT_PRIVATE
    assert policy.decide(p, nr["futex"], [0, 0]) == errno.EAGAIN  # FUTEX_WAIT on a word another process may map
    assert policy.decide(p, nr["futex"], [0, 1]) == errno.EAGAIN  # FUTEX_WAKE of one
    assert policy.decide(p, 41) == errno.EPERM  # socket
    assert policy.decide(p, 53) == errno.EPERM  # socketpair
    assert policy.decide(p, 87) == errno.EPERM  # unlink


def test_a_policy_without_reasons_is_refused(tmp_path):
    text = (ROOT / "autograder/sandbox/syscalls.yaml").read_text()
    broken = tmp_path / "syscalls.yaml"
    broken.write_text(text.replace('why: "the C library\'s per-CPU caches"', 'why: ""'))
    with pytest.raises(policy.PolicyError, match="says why"):
        policy.load(broken)


# ----------------------------------------------------------------- a real worker, in every mode
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason=(
    "needs root: a sandbox user of its own (useradd, setuid) and the namespaces of the modes below"))
MODES = {
    "bubblewrap": {},
    "own_namespaces": {"wrapper": "none"},
    "no_namespaces": {"wrapper": "none", "mount_isolation": False, "network_namespace": False, "ipc_namespace": False},
}


def refused_in_a_worker(tmp_path, limits, user):
    probe = tmp_path / "refused.py"
    probe.write_text(REFUSED_PROBE)
    with Sandbox(files={"refused": str(probe)}, limits=limits, user=user) as sb:
        reply = sb.call("refused", "try_all", [os.getpid()])
        assert sb.isolation.get("seccomp") == "on", sb.isolation
        got = decode(reply.result["result"], reply.arrays)
    assert isinstance(got, dict), got
    return {name: v.value for name, v in got.items()}


def check_refused(results, only_the_filter=False):
    """No call went through; ``only_the_filter``: each was refused by the filter itself (EPERM, ENOSYS), not
    by a layer beneath it (Landlock's EACCES, the kernel's own checks)."""
    assert results, "the probe returned nothing"
    succeeded = {name: code for name, code in results.items() if code == 0}
    assert not succeeded, f"calls the filter should refuse went through: {succeeded}"
    if only_the_filter:
        other = {name: errno.errorcode.get(code, code) for name, code in results.items()
                 if code not in (errno.EPERM, errno.ENOSYS)}
        assert not other, f"refused, but not by the filter: {other}"


@ROOT_ONLY
@pytest.mark.parametrize("mode", list(MODES))
def test_each_refused_family_fails_in_a_worker(mode, tmp_path):
    user = acquire()[0]
    try:
        results = refused_in_a_worker(tmp_path, Limits(call_timeout=30, **MODES[mode]), user)
    finally:
        release(user)
    check_refused(results)
    assert {name.split(":")[0] for name in results} == {f.family for f in FAMILIES}


def test_each_refused_family_fails_in_a_trusted_worker(tmp_path):
    """As the students' check.py runs their own code: no sandbox user, no namespaces, no Landlock, so the
    filter alone stands between the code and every call (as root in CI: even a root worker is refused)."""
    limits = Limits(call_timeout=30, wrapper="none", mount_isolation=False, network_namespace=False,
                    ipc_namespace=False, landlock=False)
    check_refused(refused_in_a_worker(tmp_path, limits, None), only_the_filter=True)


# ----------------------------------------------------------------- what the honest work calls
@pytest.mark.skipif(not shutil.which("strace"), reason="strace is not installed (Debian's strace: `make test` "
                                                         "installs it where it is root)")
def test_the_reference_makes_no_call_the_filter_refuses(tmp_path):
    """tools/trace_syscalls.py grades the reference under strace and lists every call its workers made after
    the filter was installed; none may be one the filter refuses (it would break honest code somewhere)."""
    proc = subprocess.run([sys.executable, "tools/trace_syscalls.py", "solutions", "--parts", "conv_forward",
                           "conv_backward", "max_pool", "im2col", "gemm_efficiency", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "refused: none" in proc.stdout, proc.stdout[-3000:]
    assert "read" in proc.stdout and "mmap" in proc.stdout  # it did see the workers' calls


def test_security_md_names_only_tests_and_attacks_that_exist():
    """The rows of SECURITY.md's "What holds where" say which test checks them: each test function and hostile
    submission they name exists."""
    import ast

    text = (ROOT / "SECURITY.md").read_text()
    table = text[text.index("## What holds where"):]
    table = table[:table.index("\n## ", 5)] if "\n## " in table[5:] else table
    tests = set()
    for path in (ROOT / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                tests.add(node.name)
    attacks = set(re.findall(r'Attack\("(\w+)"', "".join(p.read_text() for p in (ROOT / "tests/hostile").glob("*.py"))))
    hidden = set(re.findall(r"^([A-Z_]+) = ", (ROOT / "tests/hostile/hidden_data.py").read_text(), re.M))
    checked_by = [m for row in table.splitlines() if row.startswith("| ")
                  for m in re.findall(r"^\| [^|(]*\(([^|]*)\) \|", row)]  # a row's "(checked by ...)"
    assert len(checked_by) >= 5, checked_by
    for cell in checked_by:
        for name in re.findall(r"`([\w]+)`", cell):
            known = tests if name.startswith("test_") else attacks
            assert name in known, (name, cell)
        for name in re.findall(r"\b(GEMM_[A-Z_]+)\b", cell):
            assert name in hidden, (name, cell)
