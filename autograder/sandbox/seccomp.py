"""The worker's seccomp filter: the allow-list of syscalls.yaml compiled into a small BPF program.

The grader sends the worker its architecture's policy (policy.for_machine: [number, errno, constraints, the
errno where they fail] per listed call) in its start-up config; ``seccomp_program`` turns it into BPF: a call on
the list is allowed (where its constraints hold), everything else, and every call of another ABI (i386's int
0x80, x32), fails with EPERM. lockdown.py installs it (``install_seccomp``) last, before any student code. Like
codec.py, landlock.py and lockdown.py, this file is inlined into the worker's source (standard library only).
"""

LD_W_ABS, JA, JEQ_K, JGE_K, JSET_K, AND_K, RET_K = 0x20, 0x05, 0x15, 0x35, 0x45, 0x54, 0x06
SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO = 0x7FFF0000, 0x00050000
EPERM = 1
NR, ARCH = 0, 4  # offsets in struct seccomp_data


def arg_low(index):
    """Offset of the low 32 bits of syscall argument ``index`` (little-endian: x86_64, aarch64)."""
    return 16 + 8 * index


def seccomp_program(policy, pid):
    """The BPF program, a list of (code, jt, jf, k), of ``policy`` for the worker ``pid`` ("self" in a
    constraint), or None without a policy. Every jump is forward and short: each rule is a self-contained
    block (the number compared, then its constraint), so no offset ever exceeds the 8 bits BPF gives it."""
    if not policy:
        return None
    deny = (RET_K, 0, 0, SECCOMP_RET_ERRNO | EPERM)
    allow = (RET_K, 0, 0, SECCOMP_RET_ALLOW)
    prog = [(LD_W_ABS, 0, 0, ARCH), (JEQ_K, 1, 0, int(policy["audit_arch"])), deny, (LD_W_ABS, 0, 0, NR)]
    if policy.get("x32_bit"):
        prog += [(JGE_K, 0, 1, int(policy["x32_bit"])), deny]
    for nr, refused, only, otherwise in policy["rules"]:
        if refused:
            block = [(RET_K, 0, 0, SECCOMP_RET_ERRNO | int(refused))]
        elif only is None:
            block = [allow]
        else:
            block = _constrained(only, pid, allow, (RET_K, 0, 0, SECCOMP_RET_ERRNO | int(otherwise)))
        if len(block) > 255:
            raise ValueError(f"the constraint of syscall {nr} is too long for one BPF block")
        prog.append((JEQ_K, 0, len(block), int(nr)))
        prog += block
    prog.append(deny)
    if len(prog) > 4096:  # BPF_MAXINSNS
        raise ValueError(f"the filter has {len(prog)} instructions, the kernel takes 4096")
    return prog


def _constrained(only, pid, allow, deny):
    """The block that checks a call's arguments and returns: each constraint in turn loads its argument and
    jumps to the block's deny where it fails; past the last one, allow. ``only``: [[arg, kind, values]]."""
    mine = {"self": pid, "-self": -pid}
    checks = []  # per constraint: instructions whose jumps say "fail" as None, fixed below
    for index, kind, values in only:
        values = [(mine[v] if isinstance(v, str) else int(v)) & 0xFFFFFFFF for v in values]
        check = [(LD_W_ABS, 0, 0, arg_low(index))]
        if kind == "in":  # equal to one: jump past the rest of this check; none: fail
            for i, v in enumerate(values):
                check.append((JEQ_K, len(values) - i, 0, v))
            check.append("fail")
        elif kind == "all":  # (arg & mask) == mask
            check += [(AND_K, 0, 0, values[0]), (JEQ_K, 1, 0, values[0]), "fail"]
        elif kind == "none":  # (arg & mask) == 0
            check += [(JSET_K, 0, 1, values[0]), "fail"]
        else:
            raise ValueError(f"unknown constraint {kind!r}")
        checks += check
    # then allow (every check passed), then deny: each "fail" jumps over the allow to it
    return [(JA, 0, 0, len(checks) - i) if ins == "fail" else ins for i, ins in enumerate(checks)] + [allow, deny]
