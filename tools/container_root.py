"""The root file system of Gradescope's container on this machine: built once, one build per machine at a time.

Gradescope's image is Ubuntu 22.04 with its Python 3.10. Where Ubuntu's archive answers and the build
works, that is what is built (mmdebstrap, the archive's keys trusted only after the keyring package's pinned
sha256). Ubuntu's archive is not a source this project may rely on (CI reaches PyPI and Debian's packages
only), so wherever that build fails, for whatever reason (unreachable, a key it cannot check, a package
missing), the root comes from Debian's packages instead: Debian 12 (bookworm, whose python3 is 3.11) with
this machine's own Python 3.10 (a self-contained installation, pyenv's here) copied into /usr/local, ahead of
/usr/bin on the PATH, as the official python:3.10 images lay it out. setup.sh's ``python3`` is then 3.10, so
the worker runs Gradescope's Python; README ("Gradescope's container, here") says what else differs.

What it fetches: the packages of the root from Ubuntu's archive or Debian's (and Ubuntu's keyring package);
nothing else (pip runs later, in setup.sh, against what pip reaches here).

- One build at a time on the machine: an flock on /run/lock/convgrade-container-build.lock, which every
  test run and checkout takes (whatever its cache folder); the finished root is renamed into place whole.
- A network fault (a fetch that failed, a name that did not resolve, a time-out) is retried, twice.
- A build that fails raises BuildError with mmdebstrap's own message; a test run that waited for the lock
  while another one's build failed gets that failure at once (``FAILED``) instead of building again.

    python tools/container_root.py    # build (or find) the root and say which it is: `make container-image`
"""

import contextlib
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = yaml.safe_load((ROOT / "tools" / "container" / "docker-default.yaml").read_text(encoding="utf-8"))
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "convgrade" / "container"
LOCKS = (Path("/run/lock"), Path(tempfile.gettempdir()))  # the first one writable: one lock file per machine
LOCK_NAME = "convgrade-container-build.lock"
ATTEMPTS = 3  # per flavour, when the failure was the network's
BACKOFF = (5, 20)  # seconds before the 2nd and 3rd attempt
UBUNTU_HOLD = 24 * 3600  # after Ubuntu's build failed, Debian's is used without trying Ubuntu for this long
NETWORK = re.compile(r"Could not resolve|Temporary failure resolving|Failed to fetch|Could not connect|"
                     r"Connection (?:failed|timed out|reset|refused)|Unable to connect|Network is unreachable|"
                     r"No route to host|Undetermined Error|\b50[234]\b|Hash Sum mismatch|File has unexpected size|"
                     r"Read error|timed out", re.I)


class BuildError(RuntimeError):
    """The root could not be built; the message holds mmdebstrap's own."""


# ----------------------------------------------------------------- one build per machine
def lock_path():
    if os.environ.get("CONVGRADE_CONTAINER_LOCK_DIR"):  # tests of the lock itself, never a real build's
        return Path(os.environ["CONVGRADE_CONTAINER_LOCK_DIR"]) / LOCK_NAME
    for folder in LOCKS:
        if os.access(folder, os.W_OK | os.X_OK):
            return folder / LOCK_NAME
    return CACHE / LOCK_NAME


@contextlib.contextmanager
def machine_lock(say=print):
    """Hold the machine's build lock (never removed: an flock on a file that stays)."""
    path = lock_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for another build of the container's root on this machine ({path})")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _record(name, **fields):
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = CACHE / f".{name}.{os.getpid()}"
    tmp.write_text(json.dumps({"time": time.time(), **fields}))
    os.replace(tmp, CACHE / name)


def _recorded(name):
    try:
        return json.loads((CACHE / name).read_text())
    except (OSError, ValueError):
        return None


# ----------------------------------------------------------------- what goes in
def python310():
    """(executable, prefix, version) of a self-contained Python 3.10 on this machine ($CONVGRADE_PY310,
    pyenv's, python3.10 on the PATH), or None. Self-contained: its own prefix holds the interpreter, the
    standard library and libpython (never /usr, whose files belong to the system's packages)."""
    pyenv = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip() \
        if shutil.which("pyenv") else ""
    candidates = [os.environ.get("CONVGRADE_PY310", "")]
    for root in (pyenv, os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv")):
        if root:
            candidates += sorted(glob.glob(f"{root}/versions/3.10*/bin/python3.10"), reverse=True)
    candidates.append(shutil.which("python3.10") or "")
    probe = ("import sys; print(sys.base_prefix); print(sys.version.split()[0]); "
             "print(sys.version_info[:2] == (3, 10))")
    for exe in filter(None, candidates):
        try:
            out = subprocess.run([exe, "-I", "-c", probe], capture_output=True, text=True, timeout=30).stdout.split()
        except (OSError, subprocess.SubprocessError):
            continue
        if len(out) == 3 and out[2] == "True":
            prefix = Path(out[0]).resolve()
            if str(prefix) not in ("/usr", "/") and (prefix / "lib" / "python3.10" / "os.py").is_file() and \
                    (prefix / "bin" / "python3.10").is_file():
                return str(prefix / "bin" / "python3.10"), prefix, out[1]
    return None


def library_packages(prefix):
    """The Debian packages holding the shared libraries that the Python 3.10 in ``prefix`` and its
    extension modules load (ldd, then dpkg -S); [] where this machine is not Debian's."""
    if not shutil.which("dpkg") or not shutil.which("ldd"):
        return []
    files = [prefix / "bin" / "python3.10", *sorted((prefix / "lib" / "python3.10" / "lib-dynload").glob("*.so"))]
    libs = set()
    for f in files:
        out = subprocess.run(["ldd", str(f)], capture_output=True, text=True).stdout
        libs |= {m for m in re.findall(r"=> (/\S+)", out) if not m.startswith(str(prefix))}
    packages = set()
    for lib in sorted(libs):
        for path in {lib, os.path.realpath(lib)}:
            out = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True).stdout
            packages |= {line.split(":")[0].strip() for line in out.splitlines() if ":" in line}
    return sorted(p for p in packages if re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", p))


def flavours(grader_python):
    """[(name, spec, packages, description, the worker's Python)] to try, in order: Ubuntu 22.04 (unless its
    build failed here lately, or $CONVGRADE_CONTAINER_BASE says debian), then Debian 12 with this machine's
    Python 3.10 ($CONVGRADE_CONTAINER_BASE=ubuntu: Ubuntu only)."""
    base = os.environ.get("CONVGRADE_CONTAINER_BASE", "auto")
    out = []
    failed = _recorded("ubuntu-failed.json")
    if base == "ubuntu" or (base == "auto" and not (failed and time.time() - failed["time"] < UBUNTU_HOLD)):
        extra = [grader_python, f"{grader_python}-venv"] if grader_python != "python3" else []
        out.append(("ubuntu", DATA["ubuntu"], list(DATA["ubuntu"]["packages"]) + extra, "Ubuntu 22.04", "3.10"))
    if base in ("auto", "debian"):
        py = python310()
        extra = [grader_python, f"{grader_python}-venv"] if grader_python not in ("python3", "python3.11") else []
        packages = list(DATA["debian"]["packages"]) + extra
        if py:
            out.append(("debian", DATA["debian"], sorted(set(packages + library_packages(py[1]))),
                        f"Debian 12 with Python {py[2]} in /usr/local", "3.10"))
        else:
            out.append(("debian", DATA["debian"], packages,
                        "Debian 12 (Python 3.11: no Python 3.10 on this machine to copy in)", "3.11"))
    return out


# ----------------------------------------------------------------- the build
def reachable(url):
    try:
        urllib.request.urlopen(url, timeout=10).close()
        return True
    except OSError:
        return False


def mmdebstrap_message(output, code):
    """mmdebstrap's own words: its error and warning lines and apt's (each failed fetch with the reason
    indented below it), else its last lines."""
    lines, under_err = [], False
    for ln in output.splitlines():
        if re.match(r"^(E|W|Err):", ln):
            lines.append(ln)
            under_err = ln.startswith("Err:")
        elif under_err and ln[:1].isspace():
            lines.append(ln)
        else:
            under_err = False
    lines = lines or output.splitlines()[-12:]
    return f"mmdebstrap exited with status {code}:\n" + "\n".join(lines[-30:])


def headline(message):
    """The line of a build failure that says most: apt's first error, else the first line."""
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith("E:") and "mmdebstrap failed" not in ln and "failed to run" not in ln:
            return ln[:200]
    if len(lines) > 1 and lines[0].startswith("mmdebstrap exited"):
        return lines[1][:200]
    return lines[0][:200] if lines else ""


def ubuntu_keyring(folder):
    """Ubuntu's archive keyring in ``folder`` (apt checks signatures as the user _apt, who must be able to
    read it: never a file under /root), from its package, trusted only with the pinned sha256."""
    ubuntu = DATA["ubuntu"]
    cached = CACHE / "ubuntu-archive-keyring.gpg"
    if not cached.exists():
        try:
            with urllib.request.urlopen(f"{ubuntu['mirror']}/{ubuntu['keyring_deb']}", timeout=60) as r:
                data = r.read()
        except OSError as exc:
            raise BuildError(f"Ubuntu's keyring package could not be fetched: {exc}") from exc
        if hashlib.sha256(data).hexdigest() != ubuntu["keyring_sha256"]:
            raise BuildError("Ubuntu's keyring package does not have the pinned sha256: not trusted")
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "k.deb").write_bytes(data)
            subprocess.run(["dpkg-deb", "-x", str(Path(tmp) / "k.deb"), tmp], check=True)
            shutil.copyfile(Path(tmp) / ubuntu["keyring_file"], CACHE / ".keyring.tmp")
            os.replace(CACHE / ".keyring.tmp", cached)
    target = Path(folder) / "ubuntu-archive-keyring.gpg"
    shutil.copyfile(cached, target)
    os.chmod(folder, 0o755)
    os.chmod(target, 0o644)
    return target


def run_mmdebstrap(name, spec, packages, target, say=print):
    """mmdebstrap ``spec``'s suite into ``target``, retried on a network fault; BuildError otherwise."""
    suites = [spec["suite"]] + ([f"{spec['suite']}-updates"] if name == "ubuntu" else [])
    sources = [f"deb {spec['mirror']} {s} {' '.join(spec['components'])}" for s in suites]
    for attempt in range(ATTEMPTS):
        shutil.rmtree(target, ignore_errors=True)
        with tempfile.TemporaryDirectory(prefix="convgrade-keyring-") as keys:
            cmd = ["mmdebstrap", "--variant=minbase", f"--include={','.join(packages)}", spec["suite"], str(target)]
            if name == "ubuntu":
                cmd.insert(1, f"--keyring={ubuntu_keyring(keys)}")
            try:
                proc = subprocess.run(cmd + sources, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                      timeout=1200)
                code, output = proc.returncode, proc.stdout
            except subprocess.TimeoutExpired as exc:
                code, output = "(killed after 1200 s)", (exc.stdout or b"").decode(errors="replace") + "\ntimed out"
        if code == 0:
            return
        message = mmdebstrap_message(output, code)
        if attempt + 1 < ATTEMPTS and NETWORK.search(message):
            say(f"{name} root: a network fault, trying again in {BACKOFF[attempt]} s:\n{message}")
            time.sleep(BACKOFF[attempt])
            continue
        shutil.rmtree(target, ignore_errors=True)
        raise BuildError(message)


def add_python310(target, say=print):
    """This machine's Python 3.10 into ``target``/usr/local (its standard library without the tests and
    without what was installed into it: a fresh interpreter, as Ubuntu's python3 is), then checked there."""
    exe, prefix, version = python310()
    local = Path(target) / "usr" / "local"
    skip = shutil.ignore_patterns("test", "__pycache__", "site-packages", "idle_test", "tkinter", "idlelib")
    shutil.copytree(prefix / "lib" / "python3.10", local / "lib" / "python3.10", ignore=skip, dirs_exist_ok=True)
    (local / "lib" / "python3.10" / "site-packages").mkdir(exist_ok=True)
    for lib in (prefix / "lib").glob("libpython3*.so*"):
        shutil.copy2(lib, local / "lib" / lib.name, follow_symlinks=False)
    (local / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2(exe, local / "bin" / "python3.10")
    for alias in ("python3", "python"):
        (local / "bin" / alias).unlink(missing_ok=True)
        (local / "bin" / alias).symlink_to("python3.10")
    subprocess.run(["ldconfig", "-r", str(target)], check=True, capture_output=True)
    check = ("import sys, ssl, ctypes, sqlite3, lzma, bz2, zlib, venv, ensurepip, decimal, uuid, json; "
             "assert sys.prefix == '/usr/local', sys.prefix; print(sys.version.split()[0])")
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    out = subprocess.run([chroot, str(target), "/usr/local/bin/python3", "-I", "-c", check],
                         capture_output=True, text=True, env={"PATH": "/usr/local/bin:/usr/bin:/bin"})
    if out.returncode != 0 or out.stdout.strip() != version:
        raise BuildError(f"Python {version} copied from {prefix} does not run in the Debian root:\n"
                         f"{out.stderr.strip()[-1500:]}")
    say(f"debian root: Python {version} from {prefix} in /usr/local")


def build_root(grader_python, say=print):
    """(folder, description, the worker's Python version) of the container's root, built here where it is
    not cached yet. BuildError (with mmdebstrap's message) when no flavour could be built."""
    waited_from = time.time()
    with machine_lock(say):
        errors = []
        held = _recorded("ubuntu-failed.json")
        for name, spec, packages, description, version in flavours(grader_python):
            if name == "debian" and os.environ.get("CONVGRADE_CONTAINER_BASE", "auto") == "auto":
                why = errors[0] if errors else held["message"] if held else ""
                description += f" (Ubuntu 22.04 could not be built here: {headline(why)})" if why else ""
            py = python310() if name == "debian" else None
            what = [name, spec, packages, py and [str(py[1]), py[2]]]
            key = hashlib.sha256(json.dumps(what).encode()).hexdigest()[:16]
            folder = CACHE / f"root-{spec['suite']}-{key}"
            if (folder / ".complete").exists():
                return folder, description, version
            failed = _recorded(f"failed-{key}.json")
            if failed and failed["time"] >= waited_from:  # built (and failed) while this run waited
                errors.append(f"{failed['message']}\n(the build another run did while this one waited for the lock)")
                continue
            if name == "ubuntu" and not reachable(f"{spec['mirror']}/dists/{spec['suite']}/Release"):
                errors.append(f"{spec['mirror']} cannot be reached")
                _record("ubuntu-failed.json", message=errors[-1])
                continue
            CACHE.mkdir(parents=True, exist_ok=True)
            partial = CACHE / f".partial-{name}-{os.getpid()}"
            say(f"building the container's root: {description} (mmdebstrap, a few minutes)")
            try:
                run_mmdebstrap(name, spec, packages, partial, say)
                if py:
                    add_python310(partial, say)
            except (BuildError, OSError, subprocess.SubprocessError) as exc:
                shutil.rmtree(partial, ignore_errors=True)
                exc = exc if isinstance(exc, BuildError) else BuildError(f"{type(exc).__name__}: {exc}")
                _record(f"failed-{key}.json", message=str(exc))
                if name == "ubuntu":
                    _record("ubuntu-failed.json", message=str(exc))
                errors.append(f"{description}: {exc}")
                continue
            except BaseException:
                shutil.rmtree(partial, ignore_errors=True)
                raise
            (partial / ".complete").touch()
            shutil.rmtree(folder, ignore_errors=True)
            os.rename(partial, folder)
            return folder, description, version
    raise BuildError("the root of Gradescope's container could not be built:\n" + "\n".join(errors))


def main():
    import gradescope_container as gc

    source = gc.torch_source()
    try:
        folder, description, version = build_root(source[0] if source else "python3")
    except BuildError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"the container's root: {description}; the worker's Python {version}\n  {folder}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "tools"))
    sys.exit(main())
