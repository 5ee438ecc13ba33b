"""The worker's seccomp filter: which system calls it may make, as a small BPF program (``seccomp_program``).

Denied: new processes, exec, sockets, signals and every other action on a process but the worker itself,
ptrace and cross-process memory, namespaces and mounts, SysV and POSIX IPC, memfd, a few kernel interfaces
numpy never needs; other ABIs (i386, x32) outright. lockdown.py installs it (``install_seccomp``) last, before
any student code. Like codec.py, landlock.py and lockdown.py, this file is inlined into the worker's source
(standard library only).
"""


# syscall numbers: x86_64 and the generic table of aarch64
_SYSCALLS = {
    "x86_64": (0xC000003E, dict(
        socket=41, clone=56, fork=57, vfork=58, execve=59, kill=62, ptrace=101, tkill=200, tgkill=234,
        rt_sigqueueinfo=129, rt_tgsigqueueinfo=297, execveat=322, process_vm_readv=310,
        process_vm_writev=311, io_uring_setup=425, clone3=435, pidfd_send_signal=424, pidfd_open=434,
        pidfd_getfd=438, unshare=272, setns=308, bpf=321, perf_event_open=298, userfaultfd=323,
        keyctl=250, add_key=248, request_key=249, mount=165, umount2=166, pivot_root=155, chroot=161,
        shmget=29, shmat=30, shmctl=31, semget=64, semop=65, semctl=66, shmdt=67, msgget=68, msgsnd=69,
        msgrcv=70, msgctl=71, semtimedop=220, mq_open=240, mq_unlink=241, mq_timedsend=242,
        mq_timedreceive=243, mq_notify=244, mq_getsetattr=245, setsid=112, setpgid=109, memfd_create=319, fcntl=72,
        ioctl=16, prlimit64=302, sched_setparam=142, sched_setscheduler=144, sched_setattr=314, sched_setaffinity=203,
        migrate_pages=256, move_pages=279, setpriority=141, ioprio_set=251, prctl=157)),
    "aarch64": (0xC00000B7, dict(
        socket=198, clone=220, execve=221, kill=129, ptrace=117, tkill=130, tgkill=131,
        rt_sigqueueinfo=138, rt_tgsigqueueinfo=240, execveat=281, process_vm_readv=270,
        process_vm_writev=271, io_uring_setup=425, clone3=435, pidfd_send_signal=424, pidfd_open=434,
        pidfd_getfd=438, unshare=97, setns=268, bpf=280, perf_event_open=241, userfaultfd=282,
        keyctl=219, add_key=217, request_key=218, mount=40, umount2=39, pivot_root=41, chroot=51,
        mq_open=180, mq_unlink=181, mq_timedsend=182, mq_timedreceive=183, mq_notify=184, mq_getsetattr=185,
        msgget=186, msgctl=187, msgrcv=188, msgsnd=189, semget=190, semctl=191, semtimedop=192, semop=193,
        shmget=194, shmctl=195, shmat=196, shmdt=197, setsid=157, setpgid=154, memfd_create=279, fcntl=25,
        ioctl=29, prlimit64=261, sched_setparam=118, sched_setscheduler=119, sched_setattr=274, sched_setaffinity=122,
        migrate_pages=238, move_pages=239, setpriority=140, ioprio_set=30, prctl=167)),
}


# fcntl and ioctl commands that name a process to signal when a file is ready (F_SETOWN, F_SETSIG, F_SETOWN_EX;
# FIOSETOWN, SIOCSPGRP): the kernel sends that signal with no kill() at all, to any process of the same uid
# and the prctl that makes the worker dumpable again after its drop of privileges (PR_SET_DUMPABLE): its /proc
# entry would be its own, and it could lower the OOM score that makes it, never the grader, the OOM killer's victim
REFUSED_COMMANDS = {"fcntl": (8, 10, 15), "ioctl": (0x8901, 0x8902), "prctl": (4,)}


# Calls that act on another process named by its pid, allowed on the worker itself only (pid 0 or its own): a limit
# (prlimit64 RLIMIT_CPU ends a process), its scheduling, its memory's placement; and (which, who) calls, allowed
# only with which = a process (PRIO_PROCESS, IOPRIO_WHO_PROCESS) and who = itself (PRIO_USER would reach every
# process of its uid)
SELF_ONLY = ("prlimit64", "sched_setparam", "sched_setscheduler", "sched_setattr", "sched_setaffinity", "migrate_pages",
             "move_pages")
SELF_ONLY_WHO = {"setpriority": 0, "ioprio_set": 1}


IPC_SYSCALLS = ("shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semctl", "semtimedop", "msgget",
                "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive",
                "mq_notify", "mq_getsetattr")


def seccomp_program(machine, pid):
    """The BPF program (list of (code, jt, jf, k)) or None for an unknown architecture.

    Denied with EPERM: new processes (clone without CLONE_THREAD, fork, vfork;
    clone3 says ENOSYS so that threads fall back to clone), exec, sockets,
    signals to any process but this one (kill and its kin, and a file owner set to be signalled when the
    file is ready: fcntl F_SETOWN/F_SETSIG, ioctl FIOSETOWN), limits, scheduling and memory placement of any
    process but this one (SELF_ONLY), becoming dumpable again (prctl PR_SET_DUMPABLE: its /proc entry its
    own, its OOM score lowered), ptrace and cross-process memory,
    namespaces and mounts, SysV IPC (shared memory, semaphores, message queues) and POSIX message
    queues (no channel to another grading), memfd_create (memory no process is charged for: the OOM
    killer could not find it), setsid/setpgid (the worker stays in the process group the grader
    signals), and a few kernel interfaces numpy never needs.
    Other ABIs (i386 int 0x80, x32) are refused outright."""
    if machine not in _SYSCALLS:
        return None
    arch, nr = _SYSCALLS[machine]
    LD, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
    ALLOW, ERRNO = 0x7FFF0000, 0x00050000
    EPERM, ENOSYS = 1, 38
    deny = [n for n in ("fork", "vfork", "execve", "execveat", "socket", "ptrace", "process_vm_readv",
                        "process_vm_writev", "tkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_open",
                        "pidfd_send_signal", "pidfd_getfd", "unshare", "setns", "bpf", "perf_event_open",
                        "userfaultfd", "keyctl", "add_key", "request_key", "mount", "umount2", "pivot_root",
                        "chroot", "io_uring_setup", *IPC_SYSCALLS, "setsid", "setpgid", "memfd_create") if n in nr]
    prog, fixups = [], []

    def emit(code, k=0, jt=0, jf=0):
        prog.append([code, jt, jf, k])

    def jump(code, k, jt_label, jf_label):
        fixups.append((len(prog), jt_label, jf_label))
        emit(code, k)

    labels = {}
    emit(LD, 4)  # seccomp_data.arch
    jump(JEQ, arch, None, "deny")
    emit(LD, 0)  # seccomp_data.nr
    jump(JGE, 0x40000000, "deny", None)  # x32 ABI
    jump(JEQ, nr["clone"], "clone", None)
    jump(JEQ, nr["clone3"], "enosys", None)
    jump(JEQ, nr["kill"], "kill", None)
    jump(JEQ, nr["tgkill"], "tgkill", None)
    jump(JEQ, nr["fcntl"], "fcntl", None)
    jump(JEQ, nr["ioctl"], "ioctl", None)
    jump(JEQ, nr["prctl"], "prctl", None)
    for name in SELF_ONLY:
        jump(JEQ, nr[name], "self", None)
    for name in SELF_ONLY_WHO:
        jump(JEQ, nr[name], name, None)
    for name in deny:
        jump(JEQ, nr[name], "deny", None)
    emit(RET, ALLOW)
    labels["clone"] = len(prog)
    emit(LD, 16)  # args[0] (flags), low 32 bits
    jump(JSET, 0x00010000, "allow", "deny")  # CLONE_THREAD
    labels["kill"] = len(prog)
    emit(LD, 16)  # args[0] (pid), low 32 bits
    jump(JEQ, pid, "allow", None)
    jump(JEQ, 0, "allow", None)  # own process group (the worker leads its own)
    jump(JEQ, (-pid) & 0xFFFFFFFF, "allow", "deny")
    labels["tgkill"] = len(prog)
    emit(LD, 16)  # args[0] (tgid)
    jump(JEQ, pid, "allow", "deny")
    for call, commands in REFUSED_COMMANDS.items():
        labels[call] = len(prog)
        emit(LD, 16 if call == "prctl" else 24)  # the command: prctl's option, fcntl's and ioctl's args[1]
        for command in commands:
            jump(JEQ, command, "deny", None)
        emit(RET, ALLOW)
    for name, kind in SELF_ONLY_WHO.items():
        labels[name] = len(prog)
        emit(LD, 16)  # args[0] (which)
        jump(JEQ, kind, None, "deny")
        emit(LD, 24)  # args[1] (who)
        jump(JEQ, 0, "allow", None)
        jump(JEQ, pid, "allow", "deny")
    labels["self"] = len(prog)
    emit(LD, 16)  # args[0] (pid)
    jump(JEQ, 0, "allow", None)
    jump(JEQ, pid, "allow", "deny")
    labels["allow"] = len(prog)
    emit(RET, ALLOW)
    labels["deny"] = len(prog)
    emit(RET, ERRNO | EPERM)
    labels["enosys"] = len(prog)
    emit(RET, ERRNO | ENOSYS)
    for i, jt, jf in fixups:
        for slot, label in ((1, jt), (2, jf)):
            if label is not None:
                off = labels[label] - (i + 1)
                assert 0 <= off < 256
                prog[i][slot] = off
    return [tuple(p) for p in prog]
