"""What the worker may see of the machine: bubblewrap's allow-list root, and the paths hidden otherwise.

bwrap_command builds the allow-list root (the interpreter, its libraries, the worker venv, the run
folder read-only, private scratch, a minimal /dev and /proc); where bubblewrap is missing or refused,
private_paths lists what the worker covers with empty tmpfs in a mount namespace of its own (lockdown.py),
and secret_files what it must find unreadable at its self-check.
"""

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .limits import Limits

PACKAGE = Path(__file__).resolve().parent.parent  # the grader's package (with the case table)

BWRAP_PATHS = "/usr/bin:/bin:/usr/sbin:/sbin"


_BWRAP_OK = {}


def bwrap_binary():
    """bubblewrap where installed (never one from a folder the caller can write: only system paths),
    unless $CONVGRADE_BWRAP is 0/off."""
    if os.environ.get("CONVGRADE_BWRAP", "").lower() in ("0", "off", "no", "false"):
        return None
    return shutil.which("bwrap", path=BWRAP_PATHS)


@functools.cache
def bwrap_features(binary):
    try:
        text = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    return frozenset(w for w in ("--size", "--perms", "--disable-userns", "--unshare-cgroup-try", "--die-with-parent")
                     if w in text)


def resolved(python):
    """The worker's interpreter with every folder on its way resolved (a venv reached through a linked
    folder, as deployment scripts make them): the path that is probed, bound and run is the one that exists
    inside bubblewrap's root. The file itself stays a link where it is one: a venv's bin/python points at its
    base interpreter, and following it would leave the venv (and its numpy) behind."""
    python = str(python)
    if os.sep not in python:
        python = shutil.which(python) or python
    folder, name = os.path.split(os.path.abspath(python))
    return os.path.join(os.path.realpath(folder), name)


def interpreter_paths(python):
    """What the worker's interpreter needs: (folders to bind read-only, folders to hide inside them).

    Asked of the interpreter itself: its venv, its standard library, the shared-library folders;
    the base interpreter's own site-packages are hidden (a system-wide torch would live there)."""
    return _interpreter_paths(resolved(python))


@functools.cache
def _interpreter_paths(python):
    # numpy is found, not imported (a tenth of a CPU-second per grading): bwrap_works's probe imports it
    probe = ("import json, os, sys, sysconfig, importlib.util\n"
             "numpy = importlib.util.find_spec('numpy')\n"
             "v = sysconfig.get_paths()\n"
             "b = sysconfig.get_paths(vars={'base': sys.base_prefix, 'platbase': sys.base_prefix})\n"
             "print(json.dumps({'exe': os.path.realpath(sys.executable), 'prefix': sys.prefix,\n"
             "  'base': sys.base_prefix, 'numpy': os.path.dirname(numpy.origin),\n"
             "  'stdlib': [v['stdlib'], v['platstdlib'], b['stdlib'], b['platstdlib']],\n"
             "  'site': [v['purelib'], v['platlib']], 'base_site': [b['purelib'], b['platlib']],\n"
             "  'dynload': [p for p in sys.path if p.endswith('lib-dynload')],\n"
             "  'multiarch': sysconfig.get_config_var('MULTIARCH') or '',\n"
             "  'libdir': sysconfig.get_config_var('LIBDIR') or ''}))\n")
    out = subprocess.run([python, "-I", "-c", probe], capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin"})
    if out.returncode != 0:
        raise RuntimeError(f"the worker interpreter {python} does not run: {out.stderr.strip()[-300:]}")
    info = json.loads(out.stdout)
    real = os.path.realpath
    binds = {real(info["exe"]), real(info["prefix"]), real(info["numpy"])}
    binds |= {real(p) for p in info["stdlib"] + info["dynload"] + info["site"] if p}
    ma = info["multiarch"]
    libdir = info["libdir"] if _inside(real(info["libdir"] or "/"), real(info["base"])) and real(
        info["base"]) not in ("/usr", "/usr/local", "/") else ""  # libpython of a self-built interpreter
    for lib in ("/lib", "/lib64", "/usr/lib64", f"/usr/lib/{ma}" if ma else "", f"/lib/{ma}" if ma else "",
                libdir):
        if lib and os.path.isdir(lib) and not os.path.islink(lib):
            binds.add(real(lib))
    if os.path.exists("/etc/ld.so.cache"):
        binds.add("/etc/ld.so.cache")
    own_site = {real(p) for p in info["site"]}
    hide = sorted({real(p) for p in info["base_site"] if p} - own_site)
    hide += [real(p) for p in ("/usr/lib/python3/dist-packages", "/usr/local/lib") if os.path.isdir(p)]
    binds = sorted(p for p in binds if os.path.exists(p) and p != "/")
    binds = [p for p in binds if not any(_inside(p, q) and p != q and not os.path.islink(q) for q in binds)]
    # links the loader and the interpreter go through (merged /usr: /lib -> usr/lib, /lib64 -> usr/lib64)
    links = {}
    for p in ("/lib", "/lib64", "/bin", "/sbin", python):
        for _ in range(40):  # every link on the way from the interpreter's name to the file
            if not os.path.islink(p):
                break
            links[p] = os.readlink(p)
            p = os.path.join(os.path.dirname(p), links[p])
    return binds, sorted(set(hide)), links


def bwrap_command(python, rundir, limits, carve_outs=()):
    """The bwrap prefix that starts the worker in an allow-list root: new mount, PID (its own /proc),
    IPC, network and UTS namespaces, a user namespace when not root; only the interpreter, numpy, the
    shared libraries, the run folder (read-only), a private small /tmp and /dev/shm, and bwrap's
    minimal /dev exist. As root the worker keeps CAP_SETUID/CAP_SETGID only, to drop to its sandbox
    user itself (then it has no capability left)."""
    binary = bwrap_binary()
    features = bwrap_features(binary)
    python = resolved(python)
    binds, hide, links = interpreter_paths(python)
    cmd = [binary, "--unshare-pid", "--unshare-ipc", "--unshare-net", "--unshare-uts"]
    if "--unshare-cgroup-try" in features:
        cmd.append("--unshare-cgroup-try")
    cmd += ["--die-with-parent"] if "--die-with-parent" in features else []
    if os.geteuid() == 0:
        cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        cmd += ["--unshare-user"]
        if "--disable-userns" in features:
            cmd.append("--disable-userns")
    cmd += ["--proc", "/proc", "--dev", "/dev"]
    for d in ("/tmp", "/var/tmp", "/dev/shm"):  # the scratch budget is /tmp's (TMPDIR); the other two next to nothing
        size = ["--size", str(int(limits.scratch_bytes if d == "/tmp" else SMALL_TMPFS))]
        cmd += ["--perms", "1777"] + size + ["--tmpfs", d] if "--size" in features else ["--tmpfs", d]
    made = {"/", "/tmp", "/var/tmp", "/dev/shm", "/dev", "/proc"}

    def parents(path):
        """bwrap would create missing parents 0700: the sandbox user must pass through them."""
        out = []
        for parent in reversed(Path(path).parents):
            p = str(parent)
            if p not in made and not any(_inside(p, b) for b in binds if b != path):
                out += ["--perms", "0755", "--dir", p]
                made.add(p)
        return out

    for path in binds:
        if os.path.islink(path):
            continue
        cmd += parents(path) + ["--ro-bind", path, path]
    for link, target in links.items():
        if not any(_inside(link, b) for b in binds):
            cmd += ["--symlink", target, link]
    for path in sorted(set(hide) | {str(p) for p in carve_outs}):
        inside = any(_inside(path, b) and path != b for b in binds)
        if os.path.isdir(path) and inside and not any(_inside(b, path) for b in binds):
            cmd += ["--tmpfs", path]
    cmd += parents(rundir) + ["--ro-bind", str(rundir), str(rundir), "--chdir", str(rundir), "--"]
    return cmd


def landlock_read(python, hidden=()):
    """What the worker may read under Landlock: its interpreter's folders (interpreter_paths), the random
    devices, never /proc (its own entry included) nor a hidden path (the base interpreter's site-packages, torch, the
    grader's tree). A Landlock rule covers everything beneath a folder, so a folder that holds a hidden
    path is allowed child by child, the hidden one left out."""
    binds, hide, _ = interpreter_paths(python)
    hidden = sorted({os.path.realpath(p) for p in [*hide, *map(str, hidden)] if os.path.exists(p)})
    out = []

    def allow(path, depth=0):
        inner = [h for h in hidden if _inside(h, path)]
        if not inner:
            out.append(path)
        elif path not in inner and depth < 8 and os.path.isdir(path) and not os.path.islink(path):
            try:
                children = sorted(os.listdir(path))
            except OSError:
                return
            for child in children:
                allow(os.path.join(path, child), depth + 1)

    for path in binds:
        allow(path)
    # not its /proc entry: /proc/self/smaps tells which pages another process maps too (a channel between two
    # gradings at once); the grader reads the worker's /proc from outside
    return out + ["/dev/urandom", "/dev/zero"]


def bwrap_works(python):
    """Does bwrap start this interpreter here (it fails where the kernel or a container refuses the
    namespaces, e.g. Docker's default seccomp profile)? Asked once per interpreter and user."""
    binary = bwrap_binary()
    if binary is None or not {"--perms", "--die-with-parent"} <= bwrap_features(binary):
        return False  # too old a bubblewrap: the worker's own namespaces instead
    python = resolved(python)
    key = (binary, python, os.geteuid())
    if key not in _BWRAP_OK:
        try:
            folder = tempfile.mkdtemp(prefix="convgrade-bwrap-probe-")
            try:
                os.chmod(folder, 0o755)
                cmd = bwrap_command(python, folder, Limits()) + [python, "-I", "-c", "import numpy"]
                res = subprocess.run(cmd, capture_output=True, timeout=60, stdin=subprocess.DEVNULL,
                                     env={"PATH": "/usr/bin:/bin"})
                _BWRAP_OK[key] = res.returncode == 0
                if res.returncode != 0:
                    BWRAP_PROBLEMS[key] = res.stderr.decode(errors="replace").strip()[-300:]
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        except (OSError, subprocess.SubprocessError, RuntimeError, ValueError) as exc:
            _BWRAP_OK[key] = False
            BWRAP_PROBLEMS[key] = str(exc)[:300]
    return _BWRAP_OK[key]


BWRAP_PROBLEMS = {}


def bwrap_may_work(python):
    """bwrap_works without its probe where none has run yet: a bubblewrap with the features exists and no probe
    said no. A worker's own start is then the probe (session.Sandbox: one that fails to start under bubblewrap
    asks bwrap_works, and starts again without it where bubblewrap does not work): a process less per grading."""
    binary = bwrap_binary()
    if binary is None or not {"--perms", "--die-with-parent"} <= bwrap_features(binary):
        return False
    return _BWRAP_OK.get((binary, python, os.geteuid()), True)


def _inside(path, other):
    path, other = str(path), str(other)
    return path == other or path.startswith(other.rstrip("/") + "/")


SMALL_TMPFS = 64 << 10  # /var/tmp and /dev/shm of the worker's own: they must exist, nothing needs them
SCRATCH = ["/tmp", "/var/tmp", "/dev/shm"]  # replaced by private, small tmpfs in the mount namespace


# Hidden from student code wherever they exist (the worker's own interpreter is bound back in).
SYSTEM_PRIVATE = ["/autograder", "/home", "/root", "/srv", "/mnt", "/media", "/opt", "/run", "/var/lib",
                  "/var/cache", "/var/log", "/var/mail", "/var/spool", "/var/backups", "/var/opt",
                  "/usr/local/lib", "/usr/lib/python3/dist-packages"]


def grader_root():
    """The folder the grader runs from: the repo checkout, or /autograder/source."""
    return PACKAGE.parent


def secret_files():
    """What student code must never read: the case table (hidden cases), the grader's
    package, and torch (an oracle, and a way around the numpy-only rule)."""
    out = [PACKAGE / "cases.yaml", PACKAGE]
    torch = sys.modules.get("torch")
    if torch is not None and getattr(torch, "__file__", None):
        out.append(Path(torch.__file__).resolve().parent)
    if sys.prefix != sys.base_prefix:
        out.append(Path(sys.prefix))
    root = Path(os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    out += [root / "source", root / "results", root / "grader-venv", root / "submission_metadata.json"]
    return out


def private_paths(submission_files=(), extra=()):
    """Directories the worker covers with an empty tmpfs in its mount namespace."""
    out = {grader_root(), Path(os.getcwd()).resolve()}
    out |= {p if os.path.isdir(p) else p.parent for p in secret_files()}  # the package among them
    if os.environ.get("AUTOGRADER_ROOT"):
        out.add(Path(os.environ["AUTOGRADER_ROOT"]))
    out |= {Path(p).resolve().parent for p in submission_files}
    out |= {Path(p) for p in extra}
    out |= {Path(p) for p in SYSTEM_PRIVATE}
    return sorted(str(p) for p in out if str(p) != "/")


# ----------------------------------------------------------------- the worker's interpreter and provided file
def provided_common():
    """The grader's own copy of the provided common.py (never the student's):
    $CONVGRADE_COMMON, else autograder/common.py (zip and handout builds), else assignment/common.py."""
    for p in (os.environ.get("CONVGRADE_COMMON"), PACKAGE / "common.py", PACKAGE.parent / "assignment" / "common.py"):
        if p and Path(p).is_file():
            return Path(p)
    raise FileNotFoundError("the provided common.py was not found next to the grader")


WORKER_VENVS = [PACKAGE.parent / ".venv-worker", Path("/autograder/worker-venv")]


def worker_python():
    """The worker's interpreter: $CONVGRADE_WORKER_PYTHON, else a numpy-only venv
    (.venv-worker here, /autograder/worker-venv on Gradescope), else this one; its folders resolved."""
    if os.environ.get("CONVGRADE_WORKER_PYTHON"):
        return resolved(os.environ["CONVGRADE_WORKER_PYTHON"])
    for venv in WORKER_VENVS:
        if (venv / "bin" / "python").exists():
            return resolved(venv / "bin" / "python")
    return resolved(sys.executable)
