"""What the worker does to itself before it imports any student code (see SECURITY.md).

  1. resource limits (address space, CPU, processes, file size, open files);
  2. where started as root without bubblewrap: new network, IPC and mount namespaces. The network one is
     empty (loopback down). In the mount one, everything the grader names private (its source tree, its
     venv and torch, the submission's original folder, the results folder, /autograder, /home, /root,
     ...) is covered by an empty tmpfs, /tmp, /var/tmp and /dev/shm are fresh small tmpfs, and only the
     worker's own interpreter and its run folder (read-only) are bound back in;
  3. drop to the sandbox user's uid/gid for good (no groups, no_new_privs);
  4. a seccomp filter (x86_64, aarch64): no sockets, no new processes (threads are fine), no exec, no
     IPC, no signals to other processes, no ptrace;
  5. a self-check of what it can still read or write of the paths the grader names.

Like codec.py, this file is inlined into the worker's source (standard library and numpy only).
"""

import functools
import os
import resource
import sys

import numpy as np


def apply_limits(cfg):
    def cap(which, value):
        if value is None:
            return
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))

    cap(resource.RLIMIT_AS, cfg.get("memory_bytes"))
    cap(resource.RLIMIT_CPU, cfg.get("cpu_seconds"))
    cap(resource.RLIMIT_FSIZE, cfg.get("file_bytes"))
    cap(resource.RLIMIT_NOFILE, cfg.get("open_files"))
    cap(resource.RLIMIT_CORE, 0)
    # RLIMIT_NPROC counts every process of the real uid: meaningful only for a
    # dedicated sandbox user (one per grading slot, see isolation.py).
    if cfg.get("uid") is not None:
        cap(resource.RLIMIT_NPROC, cfg.get("processes"))


CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWIPC = 0x00020000, 0x40000000, 0x08000000


MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 8, 32, 4096, 16384, 1 << 18


MS_RDONLY = 1


@functools.cache
def _libc():
    """(ctypes, libc), loaded once per worker (ctypes only when a namespace or seccomp needs it)."""
    import ctypes

    return ctypes, ctypes.CDLL(None, use_errno=True)


def unshare(flags):
    """unshare(2) through ctypes (os.unshare is Python 3.12+). Returns an error text or ''."""
    try:
        ctypes, libc = _libc()
        if libc.unshare(flags) == 0:
            return ""
        return os.strerror(ctypes.get_errno())
    except Exception as exc:  # noqa: BLE001
        return str(exc)


def _mount(src, target, fstype, flags, data=None):
    ctypes, libc = _libc()
    enc = (lambda v: v.encode() if isinstance(v, str) else v)
    if libc.mount(enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def _inside(path, other):
    """path is other or lies below it."""
    return path == other or path.startswith(other.rstrip("/") + "/")


def private_mounts(cfg):
    """In a fresh mount namespace (as root): hide, give private scratch dirs, bind back.

    Returns a list of problems (empty when everything is in place)."""
    problems = []

    def real(p):
        return os.path.realpath(p)

    rundir = real(cfg["rundir"])
    keep = {rundir, real(sys.prefix), real(sys.base_prefix), real(os.path.dirname(real(sys.executable))),
            real(os.path.dirname(np.__file__))}
    keep |= {real(p) for p in sys.path if p and os.path.isabs(p)}
    keep = sorted(k for k in keep if os.path.exists(k) and k != "/")
    hide = {real(p) for p in cfg.get("hide", []) if os.path.isdir(p)}
    scratch = {real(p) for p in cfg.get("scratch", []) if os.path.isdir(p)}
    hide = {h for h in hide - scratch if h not in keep and h != "/"}
    fds = {}
    for k in keep:
        try:
            fds[k] = os.open(k, os.O_PATH | os.O_CLOEXEC)
        except OSError as exc:
            problems.append(f"open {k}: {exc}")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)

    def strictly_in_keep(p):
        return any(_inside(p, k) and p != k for k in keep)

    outer = sorted((p for p in hide | scratch if not strictly_in_keep(p)), key=len)
    mounted = []
    scratch_size = int(cfg.get("scratch_bytes", 32 << 20))
    for p in outer:
        if any(_inside(p, m) for m in mounted):
            continue  # already covered by an outer tmpfs
        try:
            if p in scratch:
                _mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, f"size={scratch_size},mode=1777")
            else:
                _mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=1m,mode=755")
            mounted.append(p)
        except OSError as exc:
            problems.append(str(exc))
    bound = []
    for k in keep:
        if not any(_inside(k, m) and k != m for m in mounted) or any(_inside(k, b) for b in bound):
            continue  # still visible as it was
        try:
            if os.path.isdir(f"/proc/self/fd/{fds[k]}"):
                os.makedirs(k, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(k), exist_ok=True)
                open(k, "ab").close()
            _mount(f"/proc/self/fd/{fds[k]}", k, None, MS_BIND | MS_REC)
            bound.append(k)
        except (OSError, KeyError) as exc:
            problems.append(f"bind {k}: {exc}")
    try:
        _mount(rundir, rundir, None, MS_BIND | MS_REC)  # a mount of its own, to make it read-only
        _mount(None, rundir, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    except OSError as exc:
        problems.append(f"read-only {rundir}: {exc}")
    for p in sorted(hide, key=len):
        # e.g. torch inside an interpreter prefix that had to stay visible; never over a kept path
        if strictly_in_keep(p) and not any(_inside(k, p) for k in keep):
            try:
                _mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=1m,mode=755")
            except OSError as exc:
                problems.append(str(exc))
    for fd in fds.values():
        os.close(fd)
    return problems


def drop_privileges(uid, gid):
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid or os.getgid() != gid or os.getgroups():
        raise SystemExit("could not drop privileges")
    try:
        os.setresuid(0, 0, 0)
    except OSError:
        return
    raise SystemExit("could regain root after dropping privileges")


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
        mq_timedreceive=243, mq_notify=244, mq_getsetattr=245, setsid=112, setpgid=109)),
    "aarch64": (0xC00000B7, dict(
        socket=198, clone=220, execve=221, kill=129, ptrace=117, tkill=130, tgkill=131,
        rt_sigqueueinfo=138, rt_tgsigqueueinfo=240, execveat=281, process_vm_readv=270,
        process_vm_writev=271, io_uring_setup=425, clone3=435, pidfd_send_signal=424, pidfd_open=434,
        pidfd_getfd=438, unshare=97, setns=268, bpf=280, perf_event_open=241, userfaultfd=282,
        keyctl=219, add_key=217, request_key=218, mount=40, umount2=39, pivot_root=41, chroot=51,
        mq_open=180, mq_unlink=181, mq_timedsend=182, mq_timedreceive=183, mq_notify=184, mq_getsetattr=185,
        msgget=186, msgctl=187, msgrcv=188, msgsnd=189, semget=190, semctl=191, semtimedop=192, semop=193,
        shmget=194, shmctl=195, shmat=196, shmdt=197, setsid=157, setpgid=154)),
}


IPC_SYSCALLS = ("shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semctl", "semtimedop", "msgget",
                "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive",
                "mq_notify", "mq_getsetattr")


def seccomp_program(machine, pid):
    """The BPF program (list of (code, jt, jf, k)) or None for an unknown architecture.

    Denied with EPERM: new processes (clone without CLONE_THREAD, fork, vfork;
    clone3 says ENOSYS so that threads fall back to clone), exec, sockets,
    signals to any process but this one, ptrace and cross-process memory,
    namespaces and mounts, SysV IPC (shared memory, semaphores, message queues) and POSIX message
    queues (no channel to another grading), setsid/setpgid (the worker stays in the process group the
    grader signals), and a few kernel interfaces numpy never needs.
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
                        "chroot", "io_uring_setup", *IPC_SYSCALLS, "setsid", "setpgid") if n in nr]
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


def install_seccomp():
    """no_new_privs + the seccomp filter; '' on success, else why not."""
    try:
        ctypes, libc = _libc()
        prog = seccomp_program(os.uname().machine, os.getpid())
        if prog is None:
            return f"no seccomp filter for {os.uname().machine}"

        class SockFilter(ctypes.Structure):
            _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                        ("k", ctypes.c_uint)]

        class SockFprog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]

        filters = (SockFilter * len(prog))(*[SockFilter(*p) for p in prog])
        fprog = SockFprog(len(prog), filters)
        libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
        if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
            return "no_new_privs: " + os.strerror(ctypes.get_errno())
        libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
        if libc.prctl(22, 2, ctypes.addressof(fprog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
            return "seccomp: " + os.strerror(ctypes.get_errno())
        return ""
    except Exception as exc:  # noqa: BLE001
        return f"seccomp: {exc}"


def self_check(cfg):
    """Which of the paths the grader names private can this process still read or write?"""
    exposed = []
    for p in cfg.get("probe_read", []):
        try:
            if os.access(p, os.R_OK):
                exposed.append(f"{p} is readable")
        except (OSError, ValueError):
            pass
    for p in cfg.get("probe_write", []):
        try:
            if os.access(p, os.W_OK):
                exposed.append(f"{p} is writable")
        except (OSError, ValueError):
            pass
    return exposed
