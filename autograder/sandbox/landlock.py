"""Landlock: the worker's filesystem allow-list where no mount namespace can be had (kernel 5.13+).

Docker's default seccomp profile allows the three landlock_* calls and they need no capability, so this
holds in Gradescope's container, where bubblewrap and every namespace are refused. The worker restricts
itself, after dropping privileges and before any student code runs: read-only its interpreter, its
standard library, numpy and the run folder; read-write its scratch folder only; nothing else of the
filesystem, whatever its permissions (a world-readable copy of the course, another grading's files). From
ABI 4 it may open no TCP port, from ABI 6 it may signal no process outside its own domain and connect to no
abstract unix socket. A ruleset is permanent: the process and all its threads keep it.

Like codec.py and lockdown.py, this file is inlined into the worker's source (standard library only).
"""

import ctypes
import os
import stat

# Syscall numbers: the same on x86_64 and aarch64 (allocated in the common range).
LANDLOCK_CREATE_RULESET, LANDLOCK_ADD_RULE, LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1

# Filesystem landlock_rights (include/uapi/linux/landlock.h), and the ABI that introduced each.
LANDLOCK_FS = (
    (1, "execute", 1 << 0), (1, "write_file", 1 << 1), (1, "read_file", 1 << 2), (1, "read_dir", 1 << 3),
    (1, "remove_dir", 1 << 4), (1, "remove_file", 1 << 5), (1, "make_char", 1 << 6), (1, "make_dir", 1 << 7),
    (1, "make_reg", 1 << 8), (1, "make_sock", 1 << 9), (1, "make_fifo", 1 << 10), (1, "make_block", 1 << 11),
    (1, "make_sym", 1 << 12), (2, "refer", 1 << 13), (3, "truncate", 1 << 14), (5, "ioctl_dev", 1 << 15),
)
LANDLOCK_NET = ((4, "bind_tcp", 1 << 0), (4, "connect_tcp", 1 << 1))
LANDLOCK_SCOPES = ((6, "abstract_unix_socket", 1 << 0), (6, "signal", 1 << 1))
LANDLOCK_FILE_ONLY = ("execute", "write_file", "read_file", "truncate", "ioctl_dev")  # rights a rule on a file may hold
LANDLOCK_READ = ("execute", "read_file", "read_dir")
# The scratch folder: files and folders are made, written and read there, never removed, renamed (refer, and
# remove_* on the source), linked or turned into sockets, pipes or devices: everything written keeps its name
# where the scratch budget (scratch.py) counts it.
LANDLOCK_SCRATCH = ("read_file", "read_dir", "write_file", "make_reg", "make_dir", "truncate")


class LandlockRulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class LandlockPathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _landlock_libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def landlock_abi():
    """The kernel's Landlock ABI (1, 2, ...), or 0 with the reason when there is none."""
    try:
        libc = _landlock_libc()
        v = libc.syscall(ctypes.c_long(LANDLOCK_CREATE_RULESET), None, ctypes.c_size_t(0),
                         ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    except (OSError, AttributeError) as exc:
        return 0, f"Landlock: {exc}"
    if v < 0:
        err = ctypes.get_errno()
        why = {38: "the kernel has no Landlock (older than 5.13, or not built in)",
               95: "Landlock is not enabled at boot (lsm=)",
               1: "the seccomp profile refuses Landlock"}.get(err, os.strerror(err))
        return 0, f"Landlock unavailable: {why}"
    return int(v), ""


def landlock_rights(table, abi, names=None):
    """The bit mask of the landlock_rights of ``table`` that ``abi`` knows (only ``names``, when given)."""
    return sum(bit for since, name, bit in table if since <= abi and (names is None or name in names))


def landlock_restrict(read_paths, write_paths, abi):
    """Restrict this process to reading ``read_paths`` and, in ``write_paths`` (files or folders, everything
    beneath a folder), to the rights of LANDLOCK_SCRATCH (make, write and read files and folders; never remove,
    rename or link), with every filesystem right the ABI knows handled; TCP and, from ABI 6, signals and
    abstract unix sockets out of this domain refused. Paths that cannot be opened are skipped (they are then
    not reachable at all). Returns '' on success, else why not. Needs no_new_privs."""
    libc = _landlock_libc()
    handled = landlock_rights(LANDLOCK_FS, abi)
    attr = LandlockRulesetAttr(handled, landlock_rights(LANDLOCK_NET, abi), landlock_rights(LANDLOCK_SCOPES, abi))
    size = ctypes.sizeof(ctypes.c_uint64) * (1 if abi < 4 else 2 if abi < 6 else 3)
    fd = libc.syscall(ctypes.c_long(LANDLOCK_CREATE_RULESET), ctypes.byref(attr), ctypes.c_size_t(size),
                      ctypes.c_uint32(0))
    if fd < 0:
        return f"landlock_create_ruleset: {os.strerror(ctypes.get_errno())}"
    try:
        for paths, allowed in ((read_paths, landlock_rights(LANDLOCK_FS, abi, LANDLOCK_READ)),
                               (write_paths, landlock_rights(LANDLOCK_FS, abi, LANDLOCK_SCRATCH))):
            for path in paths:
                problem = _landlock_allow(libc, fd, path, allowed, abi)
                if problem:
                    return problem
        if libc.syscall(ctypes.c_long(LANDLOCK_RESTRICT_SELF), ctypes.c_int(fd), ctypes.c_uint32(0)) != 0:
            return f"landlock_restrict_self: {os.strerror(ctypes.get_errno())}"
        return ""
    finally:
        os.close(fd)


def _landlock_allow(libc, ruleset, path, allowed, abi):
    try:
        pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return ""  # missing or not reachable for this user: nothing to allow
    try:
        if not stat.S_ISDIR(os.fstat(pfd).st_mode):
            allowed &= landlock_rights(LANDLOCK_FS, abi, LANDLOCK_FILE_ONLY)
        rule = LandlockPathBeneathAttr(allowed, pfd)
        if libc.syscall(ctypes.c_long(LANDLOCK_ADD_RULE), ctypes.c_int(ruleset),
                        ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH), ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
            return f"landlock_add_rule {path}: {os.strerror(ctypes.get_errno())}"
        return ""
    finally:
        os.close(pfd)
