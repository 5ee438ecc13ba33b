"""Hostile submissions for Gradescope's own container (tests/test_gradescope_container.py): what a student
who has read the grader tries where there is no namespace at all, only the sandbox user, Landlock, seccomp
and permissions. Built with the Attack machinery of attacks.py: a probe answers honestly only when it got
nothing, so any success costs dilate_kernel's points.

Placeholders: @COPY@ (a world-readable copy of the course elsewhere in the container), @SHARED@ (the
world-writable places a leaker writes to and a reader looks in).
"""

from .attacks import DK, LOCK_CHANNEL, UNIX_SOCKETS, Attack, probe, wrap_dk
from .refused import REFUSED_PROBE

# A world-writable folder tree nobody cleans by name: a leaker's file deep inside it must still go.
SHARED = ["/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/tmp/convgrade-shared/deep"]

READ = probe("""
for path in ("/autograder/source/autograder/cases.yaml", "/autograder/source/setup.sh",
             "/autograder/submission_metadata.json", "/autograder/results/results.json",
             "@COPY@/cases.yaml", "@COPY@/autograder.zip", "/etc/shadow", "/proc/1/environ", "/proc/1/cmdline"):
    try:
        with open(path, "rb") as f:
            if f.read(16):
                found.append(path)
    except OSError:
        pass
for folder in ("/autograder", "/autograder/source", "/autograder/grader-venv", "/autograder/results", "@COPY@",
               "/root", "/proc", "/tmp", "/home"):
    try:
        if os.listdir(folder):
            found.append(folder)
    except OSError:
        pass
""")

ESCAPE = probe("""
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x10000000 | 0x00020000) == 0:  # CLONE_NEWUSER | CLONE_NEWNS
    found.append("unshare")
import socket
try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    found.append("socket")
except OSError:
    pass
try:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    found.append("fork")
except OSError:
    pass
for target in (1, -1, os.getppid()):
    try:
        os.kill(target, 0)
        found.append(("signal", target))
    except OSError:
        pass
if libc.ptrace(16, 1, None, None) == 0:  # PTRACE_ATTACH to the container's first process
    found.append("ptrace")
try:
    os.memfd_create("x")  # memory no process is charged for
    found.append("memfd")
except OSError:
    pass
if libc.shmget(0x5EC12E9, 4096, 0o1666) >= 0:  # SysV shared memory: a channel to another grading
    found.append("shmget")
if libc.msgget(0x5EC12E9, 0o1666) >= 0:
    found.append("msgget")
try:
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("-1000")
    found.append("oom_score_adj lowered")
except OSError:
    pass
for path in ("/tmp/convgrade-probe", "/dev/shm/convgrade-probe", "/autograder/results/probe"):
    try:
        with open(path, "w") as f:
            f.write("x")
        found.append(("wrote", path))
    except OSError:
        pass
try:
    os.setuid(0)
    found.append("setuid 0")
except OSError:
    pass
""")

WRITE_RESULTS = wrap_dk("""
import json
for path in ("/autograder/results/results.json", "/autograder/results/.results-forged"):
    try:
        with open(path, "w") as f:
            json.dump({"score": 1000, "tests": []}, f)
    except OSError:
        pass
""")

# Memory the worker holds until the container's 768 MB run out: the kernel must end the worker (its OOM
# score is the highest), never the grader; only this case fails, as "ran out of memory".
OOM = """
_hog = []
def dilate_kernel(w, dilation):
    for path in ("/dev/shm/convgrade-hog",):  # memory no process is charged for, where it can be had
        try:
            with open(path, "wb") as f:
                for _ in range(8):
                    f.write(b"x" * (8 << 20))
        except OSError:
            pass
    while True:
        _hog.append(np.ones(2 << 20))  # 16 MB at a time, touched
"""

# The scratch folder is on the container's disk (no tmpfs can be mounted): 8 MB files, as many as it likes.
FILL_DISK = wrap_dk("""
import tempfile
chunk = b"x" * (1 << 20)
for i in range(400):
    with open(os.path.join(tempfile.gettempdir(), f"fill-{i}"), "wb") as f:
        for _ in range(8):
            f.write(chunk)
""")

FD_LEAK = """
_kept = []
def dilate_kernel(w, dilation):
    try:
        while True:
            _kept.append(open("/dev/null"))
    except OSError:
        pass
    return _honest_dk(w, dilation)
"""

LEAK = wrap_dk("""
import tempfile
for folder in @SHARED@ + [tempfile.gettempdir()]:
    try:
        os.makedirs(folder, exist_ok=True)
        os.chmod(folder, 0o777)
    except OSError:
        pass
    try:
        with open(os.path.join(folder, "convgrade-answers"), "w") as f:
            f.write(repr(w.tolist()))
        os.chmod(os.path.join(folder, "convgrade-answers"), 0o666)
    except OSError:
        pass
""")

FIND_LEAK = probe("""
for folder in @SHARED@:
    try:
        with open(os.path.join(folder, "convgrade-answers")) as f:
            found.append((folder, f.read(16)))
    except OSError:
        pass
""")

# Issue 26's families where nothing but the filter and Landlock stand: every refused call (tests/hostile/refused.py),
# locks on numpy's own files, path-named sockets, and the scratch budget's blind spots (a file kept open or mapped
# after it was deleted or renamed away, where /proc/<pid>/fd cannot be read without CAP_SYS_PTRACE).
REFUSED = probe("""
from refused_probe import try_all
found += [name for name, code in try_all(1).items() if code == 0]
""")
HOLD_UNNAMED = wrap_dk("""
import mmap, tempfile
_held = globals().setdefault("_held", [])
chunk = b"x" * (1 << 20)
for i in range(80):
    name = os.path.join(tempfile.gettempdir(), f"held-{i}")
    f = open(name, "w+b")
    for _ in range(8):
        f.write(chunk)
    f.flush()
    _held.append((f, mmap.mmap(f.fileno(), 0)))
    for how in (lambda: os.unlink(name), lambda: os.rename(name, f"/tmp/../held-away-{i}")):
        try:
            how()
        except OSError:
            pass
""")

# (name, what it does, code, parts allowed to lose points)
GRADESCOPE = [
    Attack("read_course", "reads the grader, the case table, the metadata, a world-readable copy of the "
           "course, other processes' /proc", READ),
    Attack("escape", "namespaces, sockets, fork, signals to the grader, ptrace, memfd, lowering its OOM score, "
           "writing outside its scratch, setuid(0)", ESCAPE),
    Attack("write_results", "writes a perfect results.json", WRITE_RESULTS),
    Attack("oom", "holds memory until the container runs out", OOM, lose=(DK,)),
    Attack("fd_leak", "keeps every file descriptor it can open", FD_LEAK),
    Attack("fill_disk", "writes 3 GB of files into its scratch folder on the container's disk", FILL_DISK, lose=(DK,)),
    Attack("refused_calls", "one call of every family the filter refuses (processes, sockets, IPC, memfd, removing "
           "and renaming files, locks, watches, the machine's state, other processes, privileges, metadata, "
           "sessions)", REFUSED, files={"refused_probe.py": REFUSED_PROBE}),
    Attack("lock_channel", "locks on numpy's own files, the channel between two gradings at once", LOCK_CHANNEL),
    Attack("unix_sockets", "a socketpair's datagram end sends to path-named sockets", UNIX_SOCKETS),
    Attack("hold_unnamed", "640 MB in files it keeps open and mapped, then deletes or renames away",
           HOLD_UNNAMED, lose=(DK,)),
]
LEAKER = Attack("a_leaker", "writes what it gets into every world-writable place", LEAK)
READER = Attack("b_reader", "looks for what an earlier submission left", FIND_LEAK)
