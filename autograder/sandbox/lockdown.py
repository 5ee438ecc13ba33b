"""What the worker does to itself before it imports any student code (see SECURITY.md); ``lock_down``.

  1. resource limits (address space, CPU, processes, file size, open files), and the highest OOM score:
     when memory runs out, the kernel ends the worker, never the grader;
  2. where started as root without bubblewrap: new network, IPC and mount namespaces. The network one is
     empty (loopback down). In the mount one, everything the grader names private (its source tree, its
     venv and torch, the submission's original folder, the results folder, /autograder, /home, /root,
     ...) is covered by an empty tmpfs, /tmp, /var/tmp and /dev/shm are fresh small tmpfs, and only the
     worker's own interpreter and its run folder (read-only) are bound back in;
  3. drop to the sandbox user's uid/gid for good (no groups), then no_new_privs;
  4. Landlock (landlock.py), where the kernel has it: read-only the interpreter, numpy and the run folder,
     read-write the private scratch folder only; nothing else of the filesystem, namespaces or not;
  5. a seccomp filter (x86_64, aarch64): no sockets, no new processes (threads are fine), no exec, no
     IPC, no memfd, no signals to other processes, no ptrace;
  6. a self-check of what it can still read or write of the paths the grader names.

Like codec.py, this file is inlined into the worker's source (standard library and numpy only).
"""

import functools
import os
import resource
import sys

import numpy as np

try:  # the grader imports this file as a module; in the worker landlock.py is inlined above it
    from .landlock import landlock_abi, landlock_restrict  # noqa: F401
except ImportError:
    pass


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
        mq_timedreceive=243, mq_notify=244, mq_getsetattr=245, setsid=112, setpgid=109, memfd_create=319, fcntl=72,
        ioctl=16, prlimit64=302, sched_setparam=142, sched_setscheduler=144, sched_setattr=314, sched_setaffinity=203,
        migrate_pages=256, move_pages=279, setpriority=141, ioprio_set=251)),
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
        migrate_pages=238, move_pages=239, setpriority=140, ioprio_set=30)),
}


# fcntl and ioctl commands that name a process to signal when a file is ready (F_SETOWN, F_SETSIG, F_SETOWN_EX;
# FIOSETOWN, SIOCSPGRP): the kernel sends that signal with no kill() at all, to any process of the same uid
SIGNAL_OWNER = {"fcntl": (8, 10, 15), "ioctl": (0x8901, 0x8902)}


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
    process but this one (SELF_ONLY), ptrace and cross-process memory,
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
    for call in ("fcntl", "ioctl"):
        labels[call] = len(prog)
        emit(LD, 24)  # args[1] (the command), low 32 bits
        for command in SIGNAL_OWNER[call]:
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


def no_new_privs():
    """PR_SET_NO_NEW_PRIVS (Landlock and seccomp need it): '' on success, else why not."""
    ctypes, libc = _libc()
    if libc.prctl(38, ctypes.c_ulong(1), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        return "no_new_privs: " + os.strerror(ctypes.get_errno())
    return ""


def install_seccomp():
    """The seccomp filter (after no_new_privs); '' on success, else why not."""
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
        libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
        if libc.prctl(22, 2, ctypes.addressof(fprog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
            return "seccomp: " + os.strerror(ctypes.get_errno())
        return ""
    except Exception as exc:  # noqa: BLE001
        return f"seccomp: {exc}"


def self_check(cfg):
    """Which of the paths the grader names private can this process still read or write? Tried for real
    (access() does not see Landlock): an open to read, a file created and removed again to write."""
    exposed = []
    for p in cfg.get("probe_read", []):
        try:
            os.close(os.open(p, os.O_RDONLY | os.O_CLOEXEC | (os.O_DIRECTORY if os.path.isdir(p) else 0)))
            exposed.append(f"{p} is readable")
        except (OSError, ValueError):
            pass
    for p in cfg.get("probe_write", []):
        probe = os.path.join(p, f".convgrade-probe-{os.getpid()}")
        try:
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
        except (OSError, ValueError):
            continue
        exposed.append(f"{p} is writable")
        try:
            os.unlink(probe)
        except OSError:
            pass
    return exposed


def make_oom_victim():
    """The highest OOM score for this process (raising it needs no privilege): when the machine or the
    container runs out of memory, the kernel ends the worker first, never the grader."""
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
        return True
    except OSError:
        return False


PRIVATE_SCRATCH = ("/tmp", "/var/tmp", "/dev/shm")  # fresh tmpfs in a mount namespace or bubblewrap's root


def lock_down(cfg):
    """Everything above, in order; returns the state the worker reports in its hello."""
    state = {"network": "shared", "filesystem": "permissions only", "seccomp": "off", "ipc": "shared",
             "processes": "visible", "landlock": "off", "problems": []}
    apply_limits(cfg)
    state["oom"] = "victim" if make_oom_victim() else "default"
    if cfg.get("wrapped"):
        # bubblewrap made the namespaces and the allow-list root before this interpreter started
        state.update(network="namespace", filesystem="allow-list root", ipc="namespace", processes="namespace")
    elif os.getuid() == 0:
        net = CLONE_NEWNET if cfg.get("isolate_network", True) else 0
        mnt = CLONE_NEWNS if cfg.get("mount_isolation", True) else 0
        ipc = CLONE_NEWIPC if cfg.get("isolate_ipc", True) else 0
        if net | mnt | ipc and unshare(net | mnt | ipc) == "":
            done = net | mnt | ipc
        else:  # one may be refused where another is not
            done = sum(f for f in (net, mnt, ipc) if f and unshare(f) == "")
        if done & CLONE_NEWIPC:
            state["ipc"] = "namespace"
        if done & CLONE_NEWNET:
            state["network"] = "namespace"
        if done & CLONE_NEWNS:
            try:
                state["problems"] += private_mounts(cfg)
                state["filesystem"] = "mount namespace"
            except Exception as exc:  # noqa: BLE001 - fall back to permissions, and say so
                state["problems"].append(f"private mounts: {exc}")
    os.chdir(cfg["rundir"])
    if cfg.get("uid") is not None:
        drop_privileges(int(cfg["uid"]), int(cfg["gid"]))
    # Scratch: the private tmpfs where there is one, else the grading's own folder (TMPDIR points there).
    isolated = state["filesystem"] != "permissions only"
    scratch = list(PRIVATE_SCRATCH) if isolated or not cfg.get("scratch_dir") else [cfg["scratch_dir"]]
    os.environ["TMPDIR"] = scratch[0]
    if cfg.get("landlock") or cfg.get("seccomp", True):
        why = no_new_privs()
        if why:
            state["problems"].append(why)
    if cfg.get("landlock"):
        abi, why = landlock_abi()
        if abi:
            why = landlock_restrict(list(cfg.get("landlock_read", [])) + [cfg["rundir"]],
                                    scratch + ["/dev/null"], abi)
        state["landlock"] = f"ABI {abi}" if abi and not why else "off"
        if why:
            state["problems"].append(why)
    if cfg.get("seccomp", True):
        why = install_seccomp()
        state["seccomp"] = "on" if not why else "off"
        if why:
            state["problems"].append(why)
    state["exposed"] = self_check(cfg)
    return state
