"""Gradescope's container on this machine: the autograder zip set up and run the way Gradescope does it.

    python tools/gradescope_container.py [--zip dist/autograder.zip] SUBMISSION [SUBMISSION ...]

Gradescope runs ``setup.sh`` once, then ``run_autograder`` per submission, as root in a Docker container
with Docker's default capabilities and seccomp profile (no CAP_SYS_ADMIN: no namespaces, no bubblewrap),
768 MB and half a CPU, on Ubuntu 22.04. This builds the same here with podman (Debian's package, runc as
its runtime), every setting from tools/container/docker-default.yaml: Docker's capability set, Docker's
seccomp profile derived from podman's own, the memory and CPU limits, ulimits at or under this machine's
hard limits, the root tools/container_root.py builds (Ubuntu 22.04 where Ubuntu's archive works, else Debian
12 with this machine's Python 3.10 in /usr/local), Gradescope's layout (/autograder/source, submission,
results). setup.sh installs torch from what pip reaches here (this machine's wheel folder; PyTorch's CPU
index on Gradescope): CONVGRADE_TORCH_SOURCE, and the grader's Python where that wheel needs another one
than the image's python3 (CONVGRADE_GRADER_PYTHON). Each submission runs in a fresh overlay of the set-up
image, as on Gradescope.

tests/test_gradescope_container.py (``make gradescope-test``, and part of ``make test`` where podman runs)
and tools/bench.py use it. ``unavailable()`` says why it cannot run here; the roots it builds are cached
under ~/.cache/convgrade/container/ (outside the checkout: they hold device files). A build that fails raises
container_root.BuildError with mmdebstrap's (or setup.sh's) own message.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from container_root import CACHE, DATA, NETWORK, ROOT, BuildError, build_root  # noqa: E402
PODMAN_PROFILE = Path("/usr/share/containers/seccomp.json")
TORCH = "2.13.0"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
TOOLS = ("podman", "runc", "mmdebstrap")
SETUP_ATTEMPTS = 2  # setup.sh again (on a fresh copy of the root) when apt or pip met a network fault


def unavailable():
    """Why Gradescope's container cannot be built here ('' when it can)."""
    if os.geteuid() != 0:
        return "podman runs the container as root: run the tests as root (CI does)"
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        return f"{', '.join(missing)} not installed (make container-deps installs them from Debian's packages)"
    if not PODMAN_PROFILE.is_file():
        return f"podman's seccomp profile {PODMAN_PROFILE} is missing"
    try:
        subprocess.run(["podman", "info"], check=True, capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"podman does not work here ({type(exc).__name__})"
    if torch_source() is None:
        return f"no CPU build of torch {TORCH} that pip reaches here, for the container"
    return ""


# ----------------------------------------------------------------- Docker's defaults
def seccomp_profile():
    """Docker's default seccomp profile, derived from podman's (tools/container/docker-default.yaml says
    what differs and where each rule comes from); written into the cache folder."""
    spec = DATA["seccomp"]
    profile = json.loads(PODMAN_PROFILE.read_text())
    gated = {name: cap for cap, names in spec["only_with_capability"].items() for name in names}
    taken = set(gated) | set(spec["refused"])
    for rule in profile["syscalls"]:
        if not rule.get("includes") and not rule.get("excludes") and rule["action"] == "SCMP_ACT_ALLOW":
            rule["names"] = [n for n in rule["names"] if n not in taken]
    profile["syscalls"] = [r for r in profile["syscalls"] if r["names"]]
    for cap in spec["only_with_capability"]:
        names = sorted(n for n, c in gated.items() if c == cap)
        profile["syscalls"].append({"names": names, "action": "SCMP_ACT_ALLOW", "includes": {"caps": [f"CAP_{cap}"]}})
    profile["syscalls"].append({"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                                "args": [{"index": 0, "value": spec["clone_namespace_mask"], "valueTwo": 0,
                                          "op": "SCMP_CMP_MASKED_EQ"}],
                                "excludes": {"caps": ["CAP_SYS_ADMIN"]}})
    profile["syscalls"].append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": spec["clone3_errno"],
                                "excludes": {"caps": ["CAP_SYS_ADMIN"]}})
    profile["defaultErrnoRet"] = spec["default_errno"]
    profile.pop("defaultErrno", None)
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / "docker-default-seccomp.json"
    tmp = CACHE / f".seccomp.{os.getpid()}"  # another test run may be reading it: replaced whole
    tmp.write_text(json.dumps(profile, indent=1))
    os.replace(tmp, out)
    return out


def hard_limit(flag):
    """The shell's hard limit for ``ulimit -H<flag>`` (a number), or None when unlimited."""
    out = subprocess.run(["bash", "-c", f"ulimit -H{flag}"], capture_output=True, text=True).stdout.strip()
    return int(out) if out.isdigit() else None


def security_args():
    """podman arguments for Docker's default security: capabilities, seccomp, resources, ulimits at or
    under this machine's hard limits (runc refuses more)."""
    args = ["--runtime", "runc", "--cap-drop", "all"]
    for cap in DATA["capabilities"]:
        args += ["--cap-add", f"CAP_{cap}"]
    nofile = min(hard_limit("n") or 1 << 20, 1 << 20)
    nproc = min(hard_limit("u") or 4096, 4096)
    return args + ["--security-opt", f"seccomp={seccomp_profile()}", "--memory", DATA["memory"],
                   "--memory-swap", DATA["memory"], "--cpus", str(DATA["cpus"]), "--shm-size", "64m",
                   "--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", f"nproc={nproc}:{nproc}"]


# ----------------------------------------------------------------- what pip reaches here
def pip_config():
    """{key: value} of this machine's pip configuration (find-links, extra-index-url, cert, ...)."""
    out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    config = {}
    for line in out.splitlines():
        m = re.match(r"^[^.]+\.([\w-]+)='(.*)'$", line.strip())
        if m:
            config[m[1]] = m[2]
    return config


def local_paths(value):
    """The local folders and files a pip setting names (file:// URLs and plain paths; for a local index,
    the folder above its simple/, where its files lie)."""
    out = []
    for item in value.split():
        path = item[len("file://"):] if item.startswith("file://") else item
        path = path.rstrip("/")
        if path.startswith("/") and os.path.exists(path):
            out.append(os.path.dirname(path) if path.endswith("/simple") else path)
    return out


def pip_passthrough():
    """(environment, read-only mounts) that let pip in the container reach what it reaches here: the local
    wheel folders and indexes, and the certificate authority this machine's network needs."""
    config, env, mounts = pip_config(), {}, []
    for key, var in (("find-links", "PIP_FIND_LINKS"), ("extra-index-url", "PIP_EXTRA_INDEX_URL"),
                     ("index-url", "PIP_INDEX_URL"), ("cert", "PIP_CERT")):
        if config.get(key):
            env[var] = config[key]
            mounts += local_paths(config[key])
    return env, sorted(set(mounts))


def torch_source():
    """(the grader's Python in the container, CONVGRADE_TORCH_SOURCE) for setup.sh: a CPU wheel of torch on
    this machine's disk (its Python tag picks the interpreter), else PyTorch's CPU index when it answers;
    None when neither."""
    for folder in local_paths(pip_config().get("find-links", "")):
        for wheel in sorted(Path(folder).glob(f"torch-{TORCH}+cpu-cp3*-linux_*.whl")) + sorted(
                Path(folder).glob(f"torch-{TORCH}+cpu-cp3*-manylinux*.whl")):
            tag = re.search(r"-cp3(\d+)-", wheel.name)
            if tag:
                return f"python3.{tag[1]}", f"--find-links {folder}"
    try:
        urllib.request.urlopen(f"{CPU_INDEX}/torch/", timeout=5)
        return "python3", f"--index-url {CPU_INDEX}"
    except OSError:
        return None


# ----------------------------------------------------------------- set up and run
def sweep():
    """Remove the image folders of runs that were killed before they removed their own (each folder is named
    after the process that made it; another run's, still alive, is left alone)."""
    for folder in CACHE.glob("image-*-*"):
        m = re.match(r"image-(\d+)-", folder.name)
        if m and not Path(f"/proc/{m[1]}").exists():
            shutil.rmtree(folder, ignore_errors=True)



@dataclass
class Run:
    results: dict  # results.json (None: not written or not JSON)
    log: str  # what run_autograder printed (Gradescope shows it to staff)
    seconds: float  # run_autograder's wall time inside the container
    peak_bytes: int  # the container's peak memory (its cgroup), or 0
    exit_code: int = 0
    files: dict = field(default_factory=dict)


class Image:
    """The autograder zip, set up by its setup.sh in a container like Gradescope's."""

    def __init__(self, autograder_zip, prepare=None, say=print):
        """``prepare(root)``: add files to the image before setup.sh runs (tests: a world-readable copy of
        the course elsewhere on the machine). Raises BuildError (mmdebstrap's or setup.sh's own message)."""
        self.zip = Path(autograder_zip)
        source = torch_source()
        if source is None:
            raise BuildError(f"no CPU build of torch {TORCH} that pip reaches here, for the container")
        self.grader_python, self.torch = source
        base, self.description, self.worker_version = build_root(self.grader_python, say)
        self.env, self.mounts = pip_passthrough()
        sweep()
        for attempt in range(SETUP_ATTEMPTS):
            self.folder = Path(tempfile.mkdtemp(prefix=f"image-{os.getpid()}-", dir=CACHE))
            setup = self._set_up(base, prepare)
            if setup.returncode == 0:
                return
            self.close()
            log = setup.stdout[-3000:]
            if attempt + 1 < SETUP_ATTEMPTS and NETWORK.search(log):
                say(f"setup.sh met a network fault, trying again:\n{log[-800:]}")
                time.sleep(10)
                continue
            raise BuildError(f"setup.sh failed in the container ({self.description}), exit status "
                             f"{setup.returncode}:\n{log}")

    def _set_up(self, base, prepare):
        """A copy of the root with the zip unpacked as Gradescope does, then setup.sh: its CompletedProcess."""
        subprocess.run(["cp", "-a", f"{base}/.", str(self.folder)], check=True)
        autograder = self.folder / "autograder"
        with zipfile.ZipFile(self.zip) as zf:
            zf.extractall(autograder / "source")
        for name in ("setup.sh", "run_autograder"):
            os.chmod(autograder / "source" / name, 0o755)
        shutil.copyfile(autograder / "source" / "run_autograder", autograder / "run_autograder")
        os.chmod(autograder / "run_autograder", 0o755)
        # setup.sh's useradd --system picks the sandbox user's uid: from a range of its own here, so that
        # it is never the uid of a sandbox user of a grader running on this machine outside the container
        defs = self.folder / "etc" / "login.defs"
        defs.write_text(defs.read_text() + "\nSYS_UID_MIN 47000\nSYS_UID_MAX 47999\nSYS_GID_MIN 47000\n"
                        "SYS_GID_MAX 47999\n")
        if prepare:
            prepare(self.folder)
        started = time.monotonic()
        setup = self.podman(["bash", "-c", "cd /autograder/source && ./setup.sh"], overlay=False,
                            env={"CONVGRADE_GRADER_PYTHON": self.grader_python, "CONVGRADE_TORCH_SOURCE": self.torch,
                                 **self.env}, mounts=[(m, m, "ro") for m in self.mounts], timeout=1800)
        self.setup_seconds = time.monotonic() - started
        self.setup_log = setup.stdout
        return setup

    def podman(self, command, overlay=True, env=None, mounts=(), timeout=None, name=None):
        name = name or f"convgrade-{uuid.uuid4().hex[:12]}"
        cmd = ["podman", "run", "--rm", "--name", name, *security_args(), "--workdir", "/autograder"]
        for var, value in (env or {}).items():
            cmd += ["-e", f"{var}={value}"]
        for host, inside, mode in mounts:
            cmd += ["-v", f"{host}:{inside}:{mode}"]
        cmd += ["--rootfs", f"{self.folder}{':O' if overlay else ''}"]  # the root, then the command
        try:
            # from the cache folder: conmon leaves a file named "oom" in its working folder when the container
            # ran out of memory (the oom test does), never in the checkout
            return subprocess.run(cmd + list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  timeout=timeout, cwd=CACHE)
        except subprocess.TimeoutExpired:
            subprocess.run(["podman", "kill", name], capture_output=True)
            raise

    def run(self, submission, metadata=None, command=None, keep=(), mounts=()):
        """Grade ``submission`` (a folder of files) the way Gradescope does: a fresh container from the set-up
        image, the files in /autograder/submission, run_autograder, /autograder/results/results.json.
        ``command``: run that instead of run_autograder (same container, same mounts). ``keep``: paths
        inside the container to copy out after the run (``Run.files``: {path below its folder: bytes}).
        ``mounts``: more (host path, path inside) to mount read-only."""
        extra = mounts
        with tempfile.TemporaryDirectory(prefix="gs-run-", dir=CACHE) as tmp:
            tmp = Path(tmp)
            shutil.copytree(submission, tmp / "submission")
            (tmp / "results").mkdir()
            (tmp / "keep").mkdir()
            mounts = [(tmp / "submission", "/autograder/submission", "rw"),
                      (tmp / "results", "/autograder/results", "rw"), (tmp / "keep", "/convgrade-keep", "rw")]
            mounts += [(Path(host), inside, "ro") for host, inside in extra]
            if metadata is not None:
                (tmp / "metadata.json").write_text(json.dumps(metadata))
                mounts.append((tmp / "metadata.json", "/autograder/submission_metadata.json", "rw"))
            inner = command or "./run_autograder"
            copy = "".join(f"; cp -a {p} /convgrade-keep/ 2>/dev/null" for p in keep)
            script = (f"start=$(date +%s.%N); {inner}; code=$?; end=$(date +%s.%N); "
                      f"peak=$(cat /sys/fs/cgroup/memory/memory.max_usage_in_bytes /sys/fs/cgroup/memory.peak "
                      f"2>/dev/null | head -n 1){copy}; "
                      f"echo; echo \"CONVGRADE-RUN code=$code start=$start end=$end peak=${{peak:-0}}\"")
            proc = self.podman(["bash", "-c", script], mounts=[(str(h), i, m) for h, i, m in mounts],
                               timeout=DATA["timeout_seconds"] + 120)
            out = proc.stdout
            m = re.search(r"CONVGRADE-RUN code=(\d+) start=([\d.]+) end=([\d.]+) peak=(\d+)", out)
            try:
                results = json.loads((tmp / "results" / "results.json").read_text())
            except (OSError, ValueError):
                results = None
            files = {p.relative_to(tmp / "keep").as_posix(): p.read_bytes()
                     for p in (tmp / "keep").rglob("*") if p.is_file() and not p.is_symlink()}
            if not m:
                return Run(results, out, 0.0, 0, proc.returncode, files)
            return Run(results, out[: m.start()], float(m[3]) - float(m[2]), int(m[4]), int(m[1]), files)

    def close(self):
        shutil.rmtree(self.folder, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", nargs="+", type=Path)
    parser.add_argument("--zip", type=Path, default=ROOT / "dist" / "autograder.zip")
    args = parser.parse_args(argv)
    why = unavailable()
    if why:
        print(f"Gradescope's container cannot run here: {why}", file=sys.stderr)
        return 2
    try:
        image = Image(args.zip)
    except BuildError as exc:
        print(f"Gradescope's container could not be built: {exc}", file=sys.stderr)
        return 1
    try:
        print(f"image: {image.description}; setup.sh took {image.setup_seconds:.0f} s")
        for sub in args.submissions:
            run = image.run(sub)
            score = run.results.get("score") if run.results else None
            print(f"{sub}: score {score}, {run.seconds:.1f} s, peak {run.peak_bytes / 2**20:.0f} MB")
    finally:
        image.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
