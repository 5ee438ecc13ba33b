"""The hostile submissions, as patches of the reference solutions.

Each Attack appends ``code`` to one solution module (dilated.py unless said
otherwise), so the honest functions are still there to call. Two kinds:

- damage: the attack breaks its own calls (loops, bombs, crashes, garbage);
  only the parts in ``lose`` may score below the honest code, every other part
  keeps full marks.
- probe: the attack tries to get at something it must not have (hidden cases,
  torch, the network, the grader's process, results.json) and answers
  honestly only when it found nothing, so any success shows up as lost points
  (``lose`` is empty) or in the test's own checks (canary, token file, server
  sockets, results.json, processes left).

Placeholders filled in by the test: @RESULTS@ (results.json), @CANARY@ (a
read-only file outside the sandbox), @TOKEN@ (a path under /tmp that must
never exist: only the grader itself could create it), @CASES@ (the real case
table), @REPO@, @TORCH@ (torch's package folder in the grader's venv), @SITE@
(its site-packages), @TCP_PORT@ / @UDP_PORT@ (sockets the test listens on),
@GRADER_PID@.
"""

import os
import zlib
from dataclasses import dataclass, field

# This test run's id (tests/conftest.py): the IPC keys and names an attack leaves for the next grading are the
# run's own, so that another test run's grading on the machine, with its IPC namespace shared, never finds them.
RUN = os.environ.get("CONVGRADE_TEST_RUN", "0")
SHM_KEY = 0x5EC00000 + 2 * (zlib.crc32(RUN.encode()) & 0x7FFF)


def run_names(code):
    return code.replace("@SHMKEY@", hex(SHM_KEY)).replace("@MSGKEY@", hex(SHM_KEY + 1)).replace("@RUN@", RUN)


DK, RF, NEAREST = "dilate_kernel", "receptive_field", "nearest"
PARTS = (DK, RF, NEAREST)  # two parts of dilated.py, one of upsample.py as the untouched control

PRELUDE = """
import os, sys, time, signal
import numpy as np
_honest_dk = dilate_kernel
_honest_rf = receptive_field
def _garbage():
    return np.full((1,), 42.0)
"""


@dataclass
class Attack:
    name: str
    doc: str
    code: str = ""  # appended to the module, after PRELUDE
    module: str = "dilated"
    lose: tuple = ()  # parts that may score below the honest code
    files: dict = field(default_factory=dict)  # extra files: name -> text, or ("symlink", target)
    symlink_module: str = ""  # replace the module by a symlink to this target
    zip_entries: list = None  # grade a zip: honest files plus these (name, data, kind) entries
    limits: dict = field(default_factory=dict)  # overrides of the test limits (seccomp=False, ...)
    world_writable_results: bool = False  # results folder created 0777 in a world-reachable place
    after: float = 0.0  # seconds to wait after grading before the final checks (daemons)
    expect_notes: tuple = ()  # words that must appear in the grader's notes
    unreadable: bool = False  # the whole submission is refused (zip bomb)
    parts: tuple = PARTS


def probe(body):
    """A probe attack: ``body`` sets ``found`` to a list of what it got; any find costs points."""
    return "def _probe():\n    found = []\n" + "\n".join("    " + line for line in body.strip("\n").splitlines()) + """
    return found
def dilate_kernel(w, dilation):
    found = _probe()
    if found:
        print("FOUND:", found)
        return _garbage()
    return _honest_dk(w, dilation)
"""


def wrap_dk(body):
    """dilate_kernel runs ``body`` first, then answers honestly."""
    return "def dilate_kernel(w, dilation):\n" + "\n".join(
        "    " + line for line in body.strip("\n").splitlines()) + "\n    return _honest_dk(w, dilation)\n"


ATTACKS = [
    # ------------------------------------------------------------- time, memory, processes, output
    Attack("import_infinite_loop", "an infinite loop at module level: every part of the module fails, "
           "the others keep their points", "while True:\n    pass\n", lose=(DK, RF)),
    Attack("call_infinite_loop", "an infinite loop in one function only: the other part of the "
           "same module keeps its points", wrap_dk("while True:\n    pass"), lose=(DK,)),
    Attack("ignore_sigterm", "ignores SIGTERM/SIGINT/SIGHUP and loops: only SIGKILL ends it",
           wrap_dk("""
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(s, signal.SIG_IGN)
while True:
    pass"""), lose=(DK,)),
    Attack("memory_bomb", "allocates until the address-space limit stops it", wrap_dk("""
hog = []
while True:
    hog.append(np.ones(10**7))"""), lose=(DK,)),
    Attack("fork_bomb", "forks 200 times, children sleep (seccomp refuses the forks)", wrap_dk("""
for _ in range(200):
    try:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
    except OSError:
        break"""), lose=(DK,)),
    Attack("fork_bomb_no_seccomp", "the same with seccomp off: RLIMIT_NPROC bounds it, the kill by "
           "uid ends it", wrap_dk("""
for _ in range(200):
    try:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
    except OSError:
        break"""), lose=(DK,), limits={"seccomp": False}),
    Attack("threads_forever", "non-daemon threads that never end, started at import", """
import threading
def _spin():
    while True:
        time.sleep(0.05)
for _ in range(8):
    threading.Thread(target=_spin).start()
"""),
    Attack("output_flood", "100 MB on stdout: the log is capped, the feedback stays short",
           wrap_dk('sys.stdout.write("A" * 100_000_000)\nsys.stdout.flush()'), lose=(DK,)),
    Attack("huge_file", "writes 1 GB files in its folder, /tmp and /dev/shm (SIGXFSZ ignored)", wrap_dk("""
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
chunk = b"x" * (1 << 20)
for path in ("big.bin", "@TOKEN@", "/dev/shm/convgrade-big", "/var/tmp/convgrade-big"):
    try:
        with open(path, "wb") as f:
            for _ in range(1024):
                f.write(chunk)
    except OSError:
        pass"""), lose=(DK,)),
    Attack("fd_exhaustion_and_huge_return", "opens files until EMFILE, then returns 60 M elements",
           """
_keep = []
def dilate_kernel(w, dilation):
    try:
        while True:
            _keep.append(open("/dev/null"))
    except OSError:
        pass
    return np.zeros(60_000_000)
""", lose=(DK,)),  # the leaked files stay in its worker: a fresh one grades the other parts
    Attack("recursion_bomb", "unbounded recursion with the recursion limit lifted (C stack overflow)",
           """
def _down(n):
    return _down(n + 1) + 1
def dilate_kernel(w, dilation):
    sys.setrecursionlimit(10**8)
    return _down(0)
""", lose=(DK,)),
    # ------------------------------------------------------------- exits and signals
    Attack("sys_exit_at_import", "sys.exit at import", "sys.exit(3)\n", lose=(DK, RF)),
    Attack("os_exit_at_import", "os._exit at import", "os._exit(0)\n", lose=(DK, RF)),
    Attack("kill_the_grader", "SIGKILLs its parent, the grader's pid and every process it may signal",
           wrap_dk("""
for pid in (os.getppid(), @GRADER_PID@, -1, 1):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass""")),
    Attack("chdir_and_delete", "chdir('/') and tries to delete its own files, the case table, the "
           "reference solutions and the canary", wrap_dk("""
import shutil
here = os.getcwd()
os.chdir("/")
for name in os.listdir(here):
    try:
        os.remove(os.path.join(here, name))
    except OSError:
        pass
for path in ("@CASES@", "@CANARY@", "@REPO@/solutions/conv.py"):
    try:
        os.remove(path)
    except OSError:
        pass
    try:
        with open(path, "w") as f:
            f.write("pwned")
    except OSError:
        pass
shutil.rmtree("@REPO@/autograder", ignore_errors=True)""")),
    # ------------------------------------------------------------- what comes back
    Attack("nan_inf", "NaN and inf instead of values", """
def dilate_kernel(w, dilation):
    out = _honest_dk(w, dilation).copy()
    out[...] = np.nan
    out.flat[0] = np.inf
    return out
""", lose=(DK,)),
    Attack("wrong_shape_dtype", "float32, transposed", """
def dilate_kernel(w, dilation):
    return _honest_dk(w, dilation).astype(np.float32).T
def receptive_field(kernel_sizes, strides=None, dilations=None):
    return np.array(_honest_rf(kernel_sizes, strides, dilations), dtype=np.int8)
""", lose=(DK, RF)),
    Attack("returns_none", "None everywhere", """
def dilate_kernel(w, dilation):
    return None
def receptive_field(kernel_sizes, strides=None, dilations=None):
    return None
""", lose=(DK, RF)),
    Attack("lying_subclass", "an ndarray subclass whose operators all say 'equal' around wrong values",
           """
class Liar(np.ndarray):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __array_function__(self, func, types, args, kwargs): return True
    def __array_ufunc__(self, *a, **k): return True
    def __bool__(self): return True
    def __reduce__(self): return (os.system, ("touch @TOKEN@",))
def dilate_kernel(w, dilation):
    return (_honest_dk(w, dilation) + 1).view(Liar)
""", lose=(DK,)),
    Attack("pickle_payload", "an object array whose pickle runs a command where it is unpickled", """
class Evil:
    def __reduce__(self):
        return (os.system, ("touch @TOKEN@",))
def dilate_kernel(w, dilation):
    return np.array([Evil(), Evil()], dtype=object)
def receptive_field(kernel_sizes, strides=None, dilations=None):
    return {"x": Evil()}
""", lose=(DK, RF)),
    Attack("forged_reply", "writes its own reply on every pipe: an object-dtype .npy with a pickle "
           "payload, then a reply nested 100000 deep", """
import io, json, struct
class Evil:
    def __reduce__(self):
        return (os.system, ("touch @TOKEN@",))
def _frame(header, blob=b""):
    head = json.dumps(header).encode()
    return struct.pack(">Q", len(head)) + head + blob
def dilate_kernel(w, dilation):
    buf = io.BytesIO()
    np.save(buf, np.array([Evil()], dtype=object), allow_pickle=True)
    blob = buf.getvalue()
    evil = _frame({"ok": True, "cache": None, "result": {"kind": "array", "index": 0}, "echo": [],
                   "origin_echo": {}, "arrays": [len(blob)]}, blob)
    deep = b"[" * 100000 + b"]" * 100000
    deep = struct.pack(">Q", len(deep)) + deep
    for fd in range(3, 64):
        for data in (evil, deep):
            try:
                os.write(fd, data)
            except OSError:
                pass
    time.sleep(60)
""", lose=(DK,)),
    Attack("patch_transport", "replaces the worker's own framing and encoding (its __main__ globals) at import, "
           "to send lighter replies or none", """
import __main__
__main__.pack = lambda header, arrays=(): b""
__main__.send = lambda fd, data: None
__main__.encode_value = lambda value, arrays, max_elements: {"kind": "none"}
"""),
    Attack("type_name_injection", "returns an object whose class name holds line breaks and Markdown",
           """
def dilate_kernel(w, dilation):
    return type("Evil\\n| forged | table |\\n# HEADLINE", (), {})()
""", lose=(DK,)),
    Attack("terminal_escapes", "prints and raises text full of terminal escapes, with a raising __str__",
           """
class Nasty(Exception):
    def __str__(self):
        raise RuntimeError("\\x1b[2J no str for you")
def dilate_kernel(w, dilation):
    print("\\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mRED\\udcff")
    raise Nasty()
def receptive_field(kernel_sizes, strides=None, dilations=None):
    raise ValueError("\\x1b[2J\\x1b[1;1H" + "\\u202e" * 10 + "x" * 100000)
""", lose=(DK, RF)),
    Attack("monkeypatch_numpy", "patches numpy's comparison functions, returns zeros", """
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.isclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
def dilate_kernel(w, dilation):
    return np.zeros_like(_honest_dk(w, dilation))
""", lose=(DK,)),
    # ------------------------------------------------------------- results.json
    Attack("write_results", "overwrites, renames over and symlinks results.json with a perfect score",
           wrap_dk("""
import json
fake = json.dumps({"score": 100, "output": "pwned", "tests": []})
path = "@RESULTS@"
for attempt in range(3):
    try:
        with open(path, "w") as f:
            f.write(fake)
    except OSError:
        pass
    try:
        with open(path + ".tmp", "w") as f:
            f.write(fake)
        os.replace(path + ".tmp", path)
    except OSError:
        pass
    try:
        os.symlink("/etc/passwd", path + ".lnk")
        os.replace(path + ".lnk", path)
    except OSError:
        pass
    try:
        os.chmod(os.path.dirname(path), 0o777)
    except OSError:
        pass"""), world_writable_results=True),
    Attack("atexit_rewrite", "atexit hook, weakref finalizer, __del__ and a SIGTERM handler that would "
           "rewrite results.json after the grader is done", """
import atexit, json, weakref
def _rewrite(*_):
    try:
        with open("@RESULTS@", "w") as f:
            f.write(json.dumps({"score": 100, "output": "pwned", "tests": []}))
    except OSError:
        pass
atexit.register(_rewrite)
class _Bomb:
    def __del__(self):
        _rewrite()
_bomb = _Bomb()
weakref.finalize(_Bomb, _rewrite)
signal.signal(signal.SIGTERM, _rewrite)
signal.signal(signal.SIGHUP, _rewrite)
""", world_writable_results=True, after=1.0),
    Attack("daemon_rewrite", "a double-forked daemon that sleeps, then rewrites results.json "
           "(seccomp refuses the fork)", wrap_dk("""
import json
try:
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(1.0)
            for _ in range(50):
                try:
                    with open("@RESULTS@", "w") as f:
                        f.write(json.dumps({"score": 100, "output": "pwned", "tests": []}))
                except OSError:
                    pass
                time.sleep(0.1)
        os._exit(0)
except OSError:
    pass"""), world_writable_results=True, after=2.5),
]


def _variant(attack, suffix, doc, **changes):
    from dataclasses import replace

    return replace(attack, name=f"{attack.name}_{suffix}", doc=f"{attack.doc} ({doc})", **changes)


_daemon = ATTACKS[-1]
_killer = next(a for a in ATTACKS if a.name == "kill_the_grader")
ATTACKS += [
    _variant(_killer, "no_seccomp", "seccomp off: kill(-1) reaches only its own slot's processes, "
             "the grader is another user", limits={"seccomp": False}),
    _variant(_daemon, "no_seccomp", "seccomp off: the mount namespace hides results.json and the kill "
             "by uid ends the daemon", limits={"seccomp": False}),
    _variant(_daemon, "permissions_only", "seccomp and mount namespace off: folder permissions and "
             "the kill by uid", limits={"seccomp": False, "mount_isolation": False}),
]

# ------------------------------------------------------------- reading what it must not read

def read_secrets(paths):
    return probe(f"""
for path in {paths!r}:
    try:
        with open(path) as f:
            found.append((path, f.read(40)))
    except OSError:
        pass
for folder in ("@REPO@/autograder", "/autograder/source"):
    try:
        found.append((folder, os.listdir(folder)[:3]))
    except OSError:
        pass
""")


SECRETS = ("@CASES@", "/autograder/source/autograder/cases.yaml", "/autograder/submission_metadata.json",
           "@RESULTS@")
# Without a mount namespace the checkout's reference solutions stay world-readable (they are
# never on Gradescope): only the mount namespace hides them.
READ_SECRETS = read_secrets(SECRETS + ("@REPO@/solutions/dilated.py",))
READ_SECRETS_PERMISSIONS = read_secrets(SECRETS)
READ_TORCH = probe("""
import importlib, importlib.util, ctypes
for attempt in ("import", "meta_path", "spec", "ctypes", "listdir"):
    try:
        if attempt == "import":
            sys.path.insert(0, "@SITE@")
            importlib.import_module("to" + "rch")
        elif attempt == "meta_path":
            sys.meta_path[:] = [m for m in sys.meta_path if "Blocker" not in type(m).__name__]
            sys.path.insert(0, "@SITE@")
            __import__("to" + "rch")
        elif attempt == "spec":
            spec = importlib.util.spec_from_file_location("t", "@TORCH@" + "/__init__.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        elif attempt == "ctypes":
            ctypes.CDLL("@TORCH@" + "/lib/libc10.so")
        else:
            os.listdir("@TORCH@")
        found.append(attempt)
    except BaseException:
        pass
""")
NETWORK = probe("""
import socket
try:
    s = socket.create_connection(("127.0.0.1", @TCP_PORT@), timeout=1)
    s.sendall(b"leak")
    found.append("tcp")
except OSError:
    pass
try:  # a datagram sent into a namespace's own loopback goes nowhere: the test's UDP socket tells
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(b"leak", ("127.0.0.1", @UDP_PORT@))
except OSError:
    pass
try:
    socket.getaddrinfo("pypi.org", 443)
    found.append("dns")
except OSError:
    pass
try:
    socket.create_connection(("1.1.1.1", 53), timeout=1)
    found.append("internet")
except OSError:
    pass
""")
PROC_SNOOP = probe("""
for path in ("/proc/@GRADER_PID@/environ", "/proc/@GRADER_PID@/mem", "/proc/@GRADER_PID@/maps",
             "/proc/1/environ"):
    try:
        with open(path, "rb") as f:
            f.read(16)
        found.append(path)
    except OSError:
        pass
try:
    found.append(os.listdir("/proc/@GRADER_PID@/fd")[:1])
except OSError:
    pass
""")

ATTACKS += [
    Attack("read_hidden_cases", "reads the case table, the grader, the reference solutions and the results",
           READ_SECRETS),
    Attack("read_hidden_cases_permissions_only", "the same without the mount namespace: only permissions",
           READ_SECRETS_PERMISSIONS, limits={"mount_isolation": False}),
    Attack("import_torch", "imports torch by computed name, with the import hook removed, by path "
           "(spec_from_file_location), and loads libtorch with ctypes", READ_TORCH),
    Attack("import_torch_permissions_only", "the same without the mount namespace", READ_TORCH,
           limits={"mount_isolation": False}),
    Attack("network", "TCP and UDP to sockets the test listens on, DNS, the internet", NETWORK),
    Attack("network_no_seccomp", "the same with seccomp off: the network namespace alone", NETWORK,
           limits={"seccomp": False}),
    Attack("network_seccomp_only", "the same without namespaces (a container without CAP_SYS_ADMIN): "
           "seccomp alone", NETWORK, limits={"network_namespace": False, "mount_isolation": False}),
    Attack("proc_snoop", "reads the grader's environment and memory through /proc", PROC_SNOOP),
    # ------------------------------------------------------------- files of the submission
    Attack("shadowing_files", "ships numpy.py, sitecustomize.py, usercustomize.py, common.py, random.py, "
           "json.py, torch.py, autograder.py and a .pth that would all sabotage if imported", files={
               **{name: 'raise SystemExit("shadowed: @TOKEN@")\n' for name in (
                   "numpy.py", "sitecustomize.py", "usercustomize.py", "random.py", "json.py", "torch.py",
                   "autograder.py", "site.py", "worker.py", "conftest.py")},
               "common.py": "def pair(v):\n    return (99, 99)\n",
               "evil.pth": "import os; os.system('touch @TOKEN@')\n",
           }, expect_notes=("ignored", "provided")),
    Attack("symlinks", "dilated.py is a symlink to /etc/passwd, helper.py one to the case table",
           files={"helper.py": ("symlink", "@CASES@")}, symlink_module="/etc/passwd", lose=(DK, RF),
           expect_notes=("symbolic link",)),
    Attack("zip_slip", "a zip with ../ and absolute paths, and symlink entries to the case table "
           "and /etc/passwd", zip_entries=[
               ("../../convgrade-zipslip-@NAME@.py", b"print('escaped')\n", "file"),
               ("/tmp/convgrade-zipslip-abs-@NAME@.py", b"print('escaped')\n", "file"),
               ("hw/../../../convgrade-zipslip-deep-@NAME@.py", b"print('escaped')\n", "file"),
               ("hw/helper.py", b"@CASES@", "symlink"),
               ("hw/passwd.py", b"/etc/passwd", "symlink"),
           ], expect_notes=("unsafe path", "symbolic links")),
    Attack("zip_bomb", "a zip whose one entry unpacks to 200 MB of zeros", zip_entries=[
        ("pad.bin", b"\0" * (200 << 20), "file")], lose=PARTS, unreadable=True),
]

# ------------------------------------------------------------- issue 11: what a student who read the grader tries
ALLOW_LIST = probe("""
for path in ("/etc/passwd", "/etc/shadow", "/etc/hostname", "/proc/@GRADER_PID@/cmdline", "@REPO@/README.md",
             "@REPO@/solutions/dilated.py"):
    try:
        with open(path, "rb") as f:
            f.read(64)
        found.append(path)
    except OSError:
        pass
# other processes: only its own and the namespace's init (pid 1, bwrap's) may be there (Landlock: not even /proc)
try:
    others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (os.getpid(), os.getppid(), 1)]
except OSError:
    others = []
if others:
    found.append(("other processes", others[:5]))
for folder in ("@REPO@/autograder", "@REPO@/solutions", "/home", "/root", "/usr/share", "/usr/local", "/var/lib",
               "/opt", "/srv"):
    try:
        if os.listdir(folder):
            found.append(folder)
    except OSError:
        pass
""")
IPC_SNOOP = run_names(probe("""
import ctypes, mmap
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
# SysV: a segment and a message queue under a fixed key, left by an earlier submission
for key in (@SHMKEY@, @MSGKEY@):
    ident = libc.shmget(key, 0, 0)
    if ident >= 0:
        addr = libc.shmat(ident, None, 0)
        if addr not in (None, ctypes.c_void_p(-1).value):
            found.append(("shm", ctypes.string_at(addr, 16)))
    if libc.msgget(key, 0) >= 0:
        found.append("msg queue")
for path in ("/dev/shm/convgrade-answers-@RUN@", "/dev/mqueue/convgrade-answers-@RUN@",
             "/tmp/convgrade-answers-@RUN@"):
    try:
        with open(path, "rb") as f:
            found.append((path, f.read(16)))
    except OSError:
        pass
try:
    from multiprocessing import shared_memory
    found.append(("posix shm", bytes(shared_memory.SharedMemory("convgrade-answers-@RUN@").buf[:16])))
except Exception:
    pass
"""))
IPC_LEAVE = run_names(wrap_dk("""
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
for key in (@SHMKEY@,):
    ident = libc.shmget(key, 4096, 0o1666)  # IPC_CREAT | rw for everyone
    if ident >= 0:
        addr = libc.shmat(ident, None, 0)
        if addr not in (None, ctypes.c_void_p(-1).value):
            ctypes.memmove(addr, b"ANSWERS-IN-SHM!!", 16)
libc.msgget(@MSGKEY@, 0o1666)
try:
    from multiprocessing import shared_memory
    seg = shared_memory.SharedMemory("convgrade-answers-@RUN@", create=True, size=4096)
    seg.buf[:16] = b"ANSWERS-IN-PSHM!"
except Exception:
    pass
for path in ("/tmp/convgrade-answers-@RUN@",):
    try:
        with open(path, "wb") as f:
            f.write(b"ANSWERS-IN-TMP!!")
        os.chmod(path, 0o666)
    except OSError:
        pass
try:
    libc.mq_open.restype = ctypes.c_int
    libc.mq_open(b"/convgrade-answers-@RUN@", 0o100 | 0o2, 0o666, None)  # O_CREAT | O_RDWR
except Exception:
    pass"""))
LOWER_OOM_SCORE = probe("""
import ctypes
ctypes.CDLL(None, use_errno=True).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: /proc/self owned by its own uid again
for value in ("999", "0"):
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(value)
    except OSError:
        pass
with open("/proc/self/oom_score_adj") as f:
    if f.read().strip() != "1000":
        found.append("oom_score_adj lowered")
""")
FORGED_FENCE = """
def dilate_kernel(w, dilation):
    print("done")
    print("  (end of what your code printed)")
    print("Note: isolation reduced: forged by the submission")
    print("case 1: w (2, 3, 3, 3), dilation=2: passed")
    raise ValueError("boom\\nNote: isolation reduced: forged in an exception\\ncase 2 (hidden): passed")
"""

ATTACKS += [
    Attack("zip_conflicting_entries", "a zip with a file and a folder of the same name, a name twice, a "
           "folder over a file", zip_entries=[
               ("hw/dilated.py/inner.py", b"x = 1\n", "file"),
               ("hw/upsample.py", b"raise SystemExit('the second upsample.py')\n", "file"),
               ("hw/extra/", b"", "file"),
               ("hw/extra", b"x = 1\n", "file"),
           ], expect_notes=("conflicts with another entry", "holds this name twice")),
    Attack("allow_list_root", "reads /etc/passwd, the grader's command line in /proc, lists other processes "
           "and folders of the machine outside the interpreter", ALLOW_LIST),
    Attack("forged_fence", "prints and raises lines that look like the end of its output, a grader note and "
           "passed cases", FORGED_FENCE, lose=(DK,)),
    Attack("ipc_snoop", "reads SysV shared memory / message queues and POSIX shm left under fixed names",
           IPC_SNOOP),
    Attack("lower_oom_score_no_landlock", "makes itself dumpable again (its /proc entry then its own) and lowers "
           "its OOM score, so that the OOM killer would take the larger grader instead (Landlock off: an older "
           "kernel)", LOWER_OOM_SCORE, limits={"landlock": False}),
]


# ------------------------------------------------------------- issue 26: what a deny-list left open
LOCK_CHANNEL = probe("""
import fcntl, struct
# POSIX byte-range locks (and flock, OFD locks, the lock table F_GETLK reads) on a file every worker may open
# read-only carry bits between two gradings that run at once: the filter refuses every lock
for path in (np.__file__, os.path.join(os.path.dirname(np.__file__), "version.py"), "/dev/null"):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        continue
    lock = struct.pack("hhqqi4x", fcntl.F_RDLCK, 0, 0, 0, 0)
    for name, act in (("flock", lambda: fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)),
                      ("lockf", lambda: fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)),
                      ("F_GETLK", lambda: fcntl.fcntl(fd, fcntl.F_GETLK, lock)),
                      ("F_OFD_SETLK", lambda: fcntl.fcntl(fd, 37, lock)),
                      ("F_SETLEASE", lambda: fcntl.fcntl(fd, 1024, fcntl.F_RDLCK))):
        try:
            act()
            found.append((path, name))
        except OSError:
            pass
""")
UNIX_SOCKETS = probe("""
import socket
# no socket() needed: a datagram end of a socketpair can sendto() any path-named socket it may write to (a
# forged line in the machine's log where one listens)
for family in ("pair", "unix"):
    try:
        a = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)[0] if family == "pair" else \
            socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        found.append(family)
    except OSError:
        continue
    for target in ("@UNIX_SOCKET@", "/dev/log", "/run/systemd/journal/socket"):
        try:
            a.sendto(b"<13>convgrade: forged", target)
            found.append(target)
        except OSError:
            pass
""")

ATTACKS += [
    Attack("lock_channel", "locks on numpy's own files (the channel between two gradings at once)", LOCK_CHANNEL),
    Attack("lock_channel_no_namespaces", "the same where no namespace can be had (Gradescope's container)",
           LOCK_CHANNEL, limits={"wrapper": "none", "mount_isolation": False, "network_namespace": False,
                                 "ipc_namespace": False}),
    Attack("unix_sockets", "a socketpair's datagram end sends to a path-named socket the test listens on",
           UNIX_SOCKETS),
    Attack("unix_sockets_no_namespaces", "the same where no namespace can be had", UNIX_SOCKETS,
           limits={"wrapper": "none", "mount_isolation": False, "network_namespace": False, "ipc_namespace": False}),
]
