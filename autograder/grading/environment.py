"""One environment everywhere: the pinned versions, and the fingerprint of a grading.

The versions Gradescope grades with are named here once. Every requirements
file (requirements*.txt, assignment/requirements-student.txt) and
gradescope/setup.sh pins exactly these, and tests/test_environment.py fails
when any of them disagrees, so the worker of ``make grade``, the one
Gradescope's setup.sh builds and the one a student's ``check.py`` runs all
execute student code with the same numpy: numpy versions differ in what they
accept (``int()`` of a one-element array warns on numpy 2.2 and raises a
TypeError from numpy 2.4 on), so a different numpy can change a score.

``fingerprint`` records, for results.json's staff-only ``extra_data`` and
``python -m autograder grade -v``, the Python, numpy and torch of the grader
and the Python and numpy of the worker, and how they differ from the pins.
``advice`` tells a student (check.py) what to install when their Python,
numpy or torch is not what Gradescope uses.

Standard library only: check.py loads this module before it knows whether
numpy and torch are installed at all.
"""

import json
import os
import platform
import re
import subprocess
import sys
from dataclasses import dataclass

PYTHON = "3.10"  # Gradescope's Ubuntu 22.04 python3 (3.10.12): setup.sh builds both venvs with it
NUMPY = "2.2.6"  # the newest numpy with wheels for Python 3.10 ... 3.13
TORCH = "2.13.0"  # the oracle's version, every test runs against it; the CPU build (2.13.0+cpu on Linux)
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
SUPPORTED_PYTHONS = ("3.10", "3.11", "3.12", "3.13")  # the ones numpy 2.2.6 has wheels for
VERSION_NOTE = ("numpy versions differ in what they accept: int() or float() of a one-element array, "
                "for one, warns on numpy 2.2 and raises a TypeError from numpy 2.4 on")


def torch_requirement(system=None):
    """The pip requirement of the pinned CPU-only torch on ``system`` (sys.platform)."""
    system = system or sys.platform
    return f"torch=={TORCH}+cpu" if system.startswith("linux") else f"torch=={TORCH}"


def torch_install_command(system=None):
    """The one command that installs the pinned, CPU-only torch on this platform."""
    system = system or sys.platform
    if system.startswith("linux"):
        return f'python -m pip install "{torch_requirement(system)}" --index-url {CPU_INDEX}'
    return f'python -m pip install "{torch_requirement(system)}"'


def numpy_install_command():
    return f"python -m pip install numpy=={NUMPY}"


def public(version):
    """'2.13.0' of '2.13.0+cpu' (PEP 440's public version: no local label)."""
    return str(version or "").split("+", 1)[0]


def minor(version):
    """'3.10' of '3.10.13'."""
    return ".".join(str(version or "").split(".")[:2])


# ----------------------------------------------------------------- what is installed
PROBE = r"""
import json, os, sys
out = {"python": "%d.%d.%d" % sys.version_info[:3], "implementation": sys.implementation.name,
       "machine": os.uname().machine, "executable": sys.executable}
try:
    import numpy
    out["numpy"] = numpy.__version__
except Exception as exc:
    out["numpy"] = None
    out["error"] = "numpy: %s" % type(exc).__name__
print(json.dumps(out))
"""


def torch_info():
    """(version, build) of the installed torch without importing it unless it is imported already.

    build: 'cpu', 'cuda', 'rocm' or '' (unknown); (None, '') when torch is not installed."""
    torch = sys.modules.get("torch")
    if torch is not None and getattr(torch, "__version__", None):
        cuda = getattr(getattr(torch, "version", None), "cuda", None)
        hip = getattr(getattr(torch, "version", None), "hip", None)
        return str(torch.__version__), "cuda" if cuda else "rocm" if hip else "cpu"
    try:
        from importlib import metadata

        version = metadata.version("torch")
        requires = metadata.requires("torch") or []
    except Exception:  # noqa: BLE001 - not installed, or broken metadata
        return None, ""
    return version, torch_build(version, requires, sys.platform)


def torch_build(version, requires=(), system="linux"):
    """'cpu', 'cuda' or 'rocm' from a torch version and its requirements (no import needed)."""
    local = str(version).split("+", 1)[1] if "+" in str(version) else ""
    if local.startswith("cu"):
        return "cuda"
    if local.startswith("rocm"):
        return "rocm"
    if local == "cpu" or system == "darwin":
        return "cpu"
    if any(str(r).lower().startswith(("nvidia-", "nvidia_")) for r in requires):
        return "cuda"  # PyPI's Linux torch: the CUDA build, its libraries as nvidia-* packages
    return "cpu" if system.startswith("linux") else ""


def grader_fingerprint():
    """Python, numpy, torch and platform of this process (the grader)."""
    numpy = sys.modules.get("numpy")
    if numpy is None:
        try:
            from importlib import metadata

            numpy_version = metadata.version("numpy")
        except Exception:  # noqa: BLE001
            numpy_version = None
    else:
        numpy_version = numpy.__version__
    torch_version, build = torch_info()
    return {"python": platform.python_version(), "implementation": sys.implementation.name,
            "numpy": numpy_version, "torch": torch_version, "torch_build": build,
            "platform": platform.platform(), "machine": platform.machine(), "executable": sys.executable}


def probe(python, timeout=60):
    """The Python and numpy of another interpreter (the worker's): a trusted probe, no student code."""
    try:
        proc = subprocess.run([os.path.abspath(python), "-I", "-c", PROBE], capture_output=True, text=True,
                              timeout=timeout, cwd="/", env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
        data = json.loads(proc.stdout.strip().splitlines()[-1])
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
        return {"executable": str(python), "error": f"could not run it: {type(exc).__name__}"}
    return {k: clean(v) for k, v in data.items()}


def clean(value, limit=200):
    """A short printable string (or None) from whatever a report held."""
    if value is None:
        return None
    text = "".join(c if c.isprintable() else "?" for c in str(value))
    return text[:limit]


def worker_fingerprint(reported=None, python=None):
    """What the worker said in its hello (sandbox.Sandbox.environment), else a probe of ``python``."""
    reported = {k: clean(v) for k, v in (reported or {}).items() if k in ("python", "numpy", "machine",
                                                                          "implementation")}
    if reported.get("python") and reported.get("numpy"):
        if python:
            reported["executable"] = clean(python)
        return dict(reported, source="worker")
    if python is None:
        return {"error": "no worker interpreter"}
    return dict(probe(python), source="probe")


def differences(grader, worker):
    """Sentences saying where grader and worker differ from what Gradescope grades with."""
    out = []
    for who, fp in (("worker", worker), ("grader", grader)):
        if not fp:
            continue
        if fp.get("error"):
            out.append(f"{who}: {fp['error']}")
        if fp.get("numpy") and fp["numpy"] != NUMPY:
            out.append(f"{who}: numpy {fp['numpy']}, Gradescope's is {NUMPY} ({VERSION_NOTE})")
        if fp.get("python") and minor(fp["python"]) != PYTHON:
            out.append(f"{who}: Python {fp['python']}, Gradescope's is {PYTHON}")
    if grader and grader.get("torch") is not None:
        if public(grader["torch"]) != TORCH:
            out.append(f"grader: torch {grader['torch']}, the pinned one is {TORCH}")
        if grader.get("torch_build") not in ("cpu", ""):
            out.append(f"grader: torch is a {grader['torch_build']} build; Gradescope's is the CPU build")
    return out


def fingerprint(worker_reported=None, worker_python=None):
    """The environment record of one grading (results.json extra_data['environment'])."""
    grader = grader_fingerprint()
    worker = worker_fingerprint(worker_reported, worker_python)
    return {"grader": grader, "worker": worker,
            "gradescope": {"python": PYTHON, "numpy": NUMPY, "torch": TORCH},
            "differences": differences(grader, worker)}


def pin_problems(fp):
    """The differences that break 'one environment': wrong numpy or torch (not Python's minor version,
    which a different Gradescope base image changes). For ``environment --check`` (setup.sh)."""
    return [d for d in fp["differences"] if "Python" not in d.split(",")[0]]


def describe(fp):
    """Lines for a terminal: grader, worker, what Gradescope grades with, differences."""
    g, w = fp.get("grader") or {}, fp.get("worker") or {}
    torch = f"torch {g.get('torch')}" + (f" ({g['torch_build']} build)" if g.get("torch_build") else "")
    lines = [f"grader: Python {g.get('python')}, numpy {g.get('numpy')}, {torch} on {g.get('platform')}",
             f"worker: Python {w.get('python')}, numpy {w.get('numpy')}, {w.get('executable', '?')}",
             "Gradescope grades with Python {python}, numpy {numpy}, torch {torch} (CPU)".format(**fp["gradescope"])]
    lines += [f"differs: {d}" for d in fp.get("differences", [])]
    return lines


# ----------------------------------------------------------------- a student's machine (check.py)
@dataclass
class Advice:
    fatal: bool  # check.py cannot run (True), or it runs but may disagree with Gradescope (False)
    text: str


def advice(python=None, numpy=None, torch=None, torch_build="", system=None):
    """What a student should install, given their Python, numpy and torch versions (None: missing).

    Returns a list of Advice, empty when everything matches what Gradescope grades with."""
    system = system or sys.platform
    python = python or platform.python_version()
    out = []
    if minor(python) != PYTHON:
        newer = minor(python) not in SUPPORTED_PYTHONS
        out.append(Advice(False, (
            f"this is Python {python}; Gradescope runs your code with Python {PYTHON}, so code that needs a "
            f"newer Python fails there (the grader fails a file whose syntax needs a newer Python, here as there)."
            + (f" numpy {NUMPY} has no wheels for Python {minor(python)}: use Python 3.10 to 3.13." if newer else "")
            + f" To check with Gradescope's Python, install Python {PYTHON} (python.org, `pyenv install {PYTHON}`, "
            f"or `brew install python@{PYTHON}` on macOS) and make the venv with it: "
            f"python{PYTHON} -m venv .venv && . .venv/bin/activate && python -m pip install -r requirements.txt")))
    if numpy is None:
        out.append(Advice(True, f"numpy is not installed in this Python. Install the version Gradescope uses: "
                                f"{numpy_install_command()}"))
    elif numpy != NUMPY:
        out.append(Advice(False, (
            f"numpy {numpy} is installed; Gradescope runs your code with numpy {NUMPY}, and {VERSION_NOTE}, "
            f"so a result here can differ there. Install the same version: {numpy_install_command()}")))
    if torch is None:
        out.append(Advice(True, (
            f"torch is not installed. check.py compares your code against torch {TORCH} (its small CPU-only "
            f"build; your own code uses numpy only). Install it with: {torch_install_command(system)}")))
    else:
        if torch_build in ("cuda", "rocm"):
            out.append(Advice(False, (
                f"torch {torch} is the {torch_build.upper()} build (gigabytes, and check.py never uses a GPU). "
                f"To replace it with the CPU-only build Gradescope uses: python -m pip uninstall -y torch && "
                f"{torch_install_command(system)}")))
        major = public(torch).split(".")[0]
        if torch_build in ("cuda", "rocm"):
            pass  # the command above installs the pinned version too
        elif major.isdigit() and int(major) < 2:
            out.append(Advice(True, f"torch {torch} is too old for the grader. Install torch {TORCH}: "
                                    f"{torch_install_command(system)}"))
        elif public(torch) != TORCH:
            out.append(Advice(False, (
                f"torch {torch} is installed; Gradescope compares against torch {TORCH}. To compare against "
                f"exactly the same: {torch_install_command(system)}")))
    return out


def local_advice():
    """``advice`` for this interpreter, without importing torch (check.py, before grading)."""
    try:
        from importlib import metadata

        numpy = metadata.version("numpy")
    except Exception:  # noqa: BLE001
        numpy = None
    torch, build = torch_info()
    return advice(platform.python_version(), numpy, torch, build)


def pinned_versions(text):
    """{package: [versions]} of every ``name==version`` pin in a requirements file or shell script
    (names normalised as pip does: PyYAML -> pyyaml, gradescope_utils -> gradescope-utils)."""
    out = {}
    for name, version in re.findall(r"(?<![\w.-])([A-Za-z][\w.-]*)==([\w.+!-]+)", text):
        out.setdefault(re.sub(r"[-_.]+", "-", name).lower(), []).append(version)
    return out
