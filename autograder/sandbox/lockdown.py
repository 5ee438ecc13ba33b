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
  5. a self-check of what it can still read or write of the paths the grader names;
  6. the seccomp filter (seccomp.py; x86_64, aarch64): the allow-list of syscalls.yaml, what Python, numpy and
     its BLAS need for the graded work, and nothing else (no sockets, processes, exec, IPC, locks, removing
     or renaming files, signals to other processes, ...).

Like codec.py, landlock.py and seccomp.py (the filter itself), this file is inlined into the worker's
source (standard library and numpy only).
"""

import functools
import os
import resource
import sys

import numpy as np

try:  # the grader imports this file as a module; in the worker landlock.py and seccomp.py are inlined above it
    from .landlock import landlock_abi, landlock_restrict  # noqa: F401
    from .seccomp import seccomp_program  # noqa: F401
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
            if p in scratch:  # the budget is the first one's (TMPDIR: /tmp); the others next to nothing
                size = scratch_size if p == real(cfg["scratch"][0]) else 64 << 10
                _mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=1777")
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


def no_new_privs():
    """PR_SET_NO_NEW_PRIVS (Landlock and seccomp need it): '' on success, else why not."""
    ctypes, libc = _libc()
    if libc.prctl(38, ctypes.c_ulong(1), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        return "no_new_privs: " + os.strerror(ctypes.get_errno())
    return ""


def install_seccomp(policy):
    """The seccomp filter of ``policy`` (syscalls.yaml's allow-list for this architecture, from the grader),
    after no_new_privs; '' on success, else why not."""
    try:
        ctypes, libc = _libc()
        prog = seccomp_program(policy, os.getpid())
        if prog is None:
            return f"no seccomp policy for {os.uname().machine}"

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
    # Tried before the filter: it creates and removes a probe file where it should not be able to write,
    # and the filter refuses removing files.
    state["exposed"] = self_check(cfg)
    if cfg.get("seccomp", True):
        why = install_seccomp(cfg.get("seccomp_policy"))
        state["seccomp"] = "on" if not why else "off"
        if why:
            state["problems"].append(why)
    return state
