"""One call of each family the worker's filter refuses (syscalls.yaml's `refused`), made by student code.

``REFUSED_PROBE`` is a submission module with ``try_all(grader_pid)``: it makes every call below and returns
{"family:call": errno}, 0 where the call went through. Each call is harmless where it does go through (a
missing path, a zero length, the grader's own settings read back): outside the sandbox they answer 0,
ENOENT, EFAULT, ...; under the filter, EPERM (or ENOSYS, clone3's answer).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    family: str
    calls: dict  # call name -> one statement that makes it (raises OSError, or sets ``rc`` from a raw syscall)


# raw numbers of calls Python has no function for: {name: (x86_64, aarch64)}
RAW = {"bpf": (321, 280), "userfaultfd": (323, 282), "io_uring_setup": (425, 425), "perf_event_open": (298, 241),
       "seccomp": (317, 277), "landlock_create_ruleset": (444, 444), "keyctl": (250, 219), "setns": (308, 268),
       "tkill": (200, 130), "ptrace": (101, 117), "process_vm_readv": (310, 270), "fanotify_init": (300, 262),
       "inotify_init1": (294, 26), "sysinfo": (99, 179), "mincore": (27, 232), "msgget": (68, 186),
       "shmget": (29, 194), "mq_open": (240, 180), "mount": (165, 40), "clone3": (435, 435), "vfork": (58, None),
       "flock": (73, 32), "renameat2": (316, 276), "linkat": (265, 37), "unshare": (272, 97)}

FAMILIES = [
    Family("processes", {
        "fork": "pid = os.fork()\nif pid == 0:\n    os._exit(0)\nos.waitpid(pid, 0)",
        "execve": "os.execv('/nonexistent-convgrade', ['x'])",
        "posix_spawn": "os.waitpid(os.posix_spawn('/nonexistent-convgrade', ['x'], {}), 0)",
        "clone3": "rc = raw('clone3', 0, 0)",
    }),
    Family("sockets", {
        "socket": "socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).close()",
        "socketpair": "[s.close() for s in socket.socketpair()]",
        "socket_inet": "socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()",
    }),
    Family("ipc", {
        "pipe": "[os.close(fd) for fd in os.pipe()]",
        "eventfd": "os.close(os.eventfd(0)) if hasattr(os, 'eventfd') else (_ for _ in ()).throw(OSError(1, 'x'))",
        "shmget": "rc = raw('shmget', 0, 0, 0)",
        "msgget": "rc = raw('msgget', 0x5EC12E9, 0)",
        "mq_open": "rc = raw('mq_open', 0, 0, 0, 0)",
    }),
    Family("memfd", {"memfd_create": "os.close(os.memfd_create('convgrade'))"}),
    Family("names", {
        "unlink": "os.unlink(scratch('a'))",
        "rename": "os.rename(scratch('a'), scratch('b'))",
        "renameat2": "rc = raw('renameat2', -100, path(scratch('a')), -100, path(scratch('c')), 0)",
        "link": "os.link(scratch('a'), scratch('d'))",
        "symlink": "os.symlink(scratch('a'), scratch('e'))",
        "rmdir": "os.rmdir(scratch('dir'))",
        "O_TMPFILE": "os.close(os.open(tempfile.gettempdir(), os.O_TMPFILE | os.O_RDWR, 0o600))",
    }),
    Family("locks", {
        "flock": "fcntl.flock(shared(), fcntl.LOCK_SH | fcntl.LOCK_NB)",
        "lockf": "fcntl.lockf(shared(), fcntl.LOCK_SH | fcntl.LOCK_NB)",
        "F_GETLK": "fcntl.fcntl(shared(), fcntl.F_GETLK, struct.pack('hhqqi4x', fcntl.F_RDLCK, 0, 0, 0, 0))",
        "F_OFD_SETLK": "fcntl.fcntl(shared(), 37, struct.pack('hhqqi4x', fcntl.F_RDLCK, 0, 0, 0, 0))",
        "F_SETLEASE": "fcntl.fcntl(shared(), 1024, fcntl.F_RDLCK)",
    }),
    Family("watches", {
        "inotify_init1": "rc = raw('inotify_init1', 0)",
        "fanotify_init": "rc = raw('fanotify_init', 0, 0)",
    }),
    Family("machine", {
        "statvfs": "os.statvfs('/')",
        "fstatvfs": "os.fstatvfs(shared())",
        "sysinfo": "rc = raw('sysinfo', ctypes.addressof(ctypes.create_string_buffer(256)))",
        "mincore": "rc = raw('mincore', 0, 0, 0)",
    }),
    Family("other_processes", {
        "kill": "os.kill(grader, 0)",
        "tkill": "rc = raw('tkill', grader, 0)",
        "prlimit": "resource.prlimit(grader, resource.RLIMIT_CORE)",
        "sched_setaffinity": "os.sched_setaffinity(grader, os.sched_getaffinity(0))",
        "getpriority": "os.getpriority(os.PRIO_PROCESS, grader)",
        "ptrace": "rc = raw('ptrace', 0x4206, 0, 0, 0)",  # PTRACE_SEIZE of pid 0: ESRCH without the filter
        "process_vm_readv": "rc = raw('process_vm_readv', grader, 0, 0, 0, 0, 0)",
    }),
    Family("privileges", {
        "setuid": "os.setuid(os.getuid())",
        "unshare": "rc = raw('unshare', 0)",
        "setns": "rc = raw('setns', -1, 0)",
        "mount": "rc = raw('mount', 0, path('/nonexistent-convgrade'), path('tmpfs'), 0, 0)",
        "chroot": "os.chroot('/nonexistent-convgrade')",
        "bpf": "rc = raw('bpf', 0, 0, 0)",
        "perf_event_open": "rc = raw('perf_event_open', 0, 0, -1, -1, 0)",
        "userfaultfd": "rc = raw('userfaultfd', 0)",
        "io_uring_setup": "rc = raw('io_uring_setup', 1, 0)",
        "keyctl": "rc = raw('keyctl', 0, -1, 0)",
        "seccomp": "rc = raw('seccomp', 2, 0, ctypes.addressof(ctypes.c_uint32(0x7FFF0000)))",
        "landlock": "rc = raw('landlock_create_ruleset', 0, 0, 1)",
    }),
    Family("metadata", {
        "chmod": "os.chmod(scratch('a'), 0o600)",
        "chown": "os.chown(scratch('a'), -1, -1)",
        "utime": "os.utime(scratch('a'))",
        "setxattr": "os.setxattr(scratch('a'), 'user.convgrade', b'1')",
    }),
    Family("session", {"setsid": "os.setsid()", "setpgid": "os.setpgid(0, 0)"}),
]

_HEAD = '''
import ctypes, errno, fcntl, os, resource, socket, struct, tempfile
import numpy as np

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
RAW = {raw!r}


def raw(name, *args):
    """A raw system call; -errno on failure."""
    nr = RAW[name][0 if os.uname().machine == "x86_64" else 1]
    if nr is None:
        return -errno.ENOSYS
    r = _libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    return -ctypes.get_errno() if r < 0 else 0


_keep = []


def path(text):
    buf = ctypes.create_string_buffer(text.encode())
    _keep.append(buf)
    return ctypes.addressof(buf)


def scratch(name):
    return os.path.join(tempfile.gettempdir(), "convgrade-refused-" + name)


def shared():
    """A file every worker may open read-only: numpy's own."""
    fd = os.open(np.__file__, os.O_RDONLY)
    _keep.append(fd)
    return fd


def try_all(grader):
    for name in ("a",):
        with open(scratch(name), "w") as f:
            f.write("x")
    try:
        os.mkdir(scratch("dir"))
    except OSError:
        pass
    found = {{}}
'''


def _probe():
    lines = [_HEAD.format(raw=RAW)]
    for fam in FAMILIES:
        for call, code in fam.calls.items():
            body = "\n".join("        " + line for line in code.splitlines())
            lines.append(f"    try:\n        rc = 0\n{body}\n        found[{fam.family + ':' + call!r}] = -rc\n"
                         f"    except OSError as exc:\n        found[{fam.family + ':' + call!r}] = exc.errno or -1\n"
                         f"    except Exception:\n        found[{fam.family + ':' + call!r}] = -1\n")
    lines.append("    return found\n")
    return "".join(lines)


REFUSED_PROBE = _probe()
