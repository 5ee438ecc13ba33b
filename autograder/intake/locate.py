"""Find the graded files of a submission and check them before anything runs.

A submission is a folder or a zip; the files sit flat or one folder down (a
zipped folder, Gradescope's unzip). A folder holding no graded file but one
zip (an uploaded zip that reached the submission folder as it is) is graded
as that zip would be (``lone_zip``). Names are case-sensitive. The graded
modules are the case table's (``modules``). Each file goes through the static
checks (static.py), whose message fails only the parts needing that file.
"""

import os
import shutil
import stat
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..sandbox.worker import FORBIDDEN
from .static import check_source
from .unzip import SubmissionError, ignored_name, safe_unzip

PROVIDED = {"common"}
# Helper modules besides the graded ones (an honest submission has a few): each is parsed by the grader itself
# (static checks, and the outline of every file where a call raised), so their number bounds the grader's own time.
MAX_EXTRA_MODULES = 16
# The handout's own scripts (tools/build_handout.py): beside the stubs in a student's folder, never graded.
HANDOUT_SCRIPTS = {"check": "local checker", "visualize": "picture script"}
# What students are told to upload: check.py prints it, both READMEs say it (tests/test_submission_zip.py).
UPLOAD_ADVICE = ("Upload the graded files themselves, or one zip holding them (flat or in one folder). "
                 "Never upload common.py: the grader uses its own.")
# Names a submission file may not take: they would shadow the standard library,
# numpy, the grader, or Python's start-up hooks.
RESERVED = set(sys.stdlib_module_names) | set(FORBIDDEN) | {
    "numpy", "autograder", "gradescope_utils", "sitecustomize", "usercustomize", "site", "conftest",
    "worker", "yaml", "rich", "matplotlib", "pytest", "_pytest", "pkg_resources", "setuptools", "pip",
}


@dataclass
class Located:
    folder: Path  # where the graded files were found
    files: dict = field(default_factory=dict)  # module -> path, passed the static checks
    problems: dict = field(default_factory=dict)  # module -> message (file unusable)
    extras: dict = field(default_factory=dict)  # helper module -> path (copied into the sandbox)
    notes: list = field(default_factory=list)  # messages about ignored files
    tempdir: Path = None

    def cleanup(self):
        if self.tempdir is not None:
            shutil.rmtree(self.tempdir, ignore_errors=True)


def locate(path, modules, workdir=None):
    """Locate the graded files of a folder or zip (see module docstring)."""
    path = Path(path)
    tempdir = None
    try:
        if path.is_file() and zipfile.is_zipfile(path):
            tempdir = Path(tempfile.mkdtemp(prefix="convgrade-unzip-", dir=workdir))
            notes = safe_unzip(path, tempdir)
            root = tempdir
        elif path.is_dir() and (inner := lone_zip(path, modules)) is not None:
            tempdir = Path(tempfile.mkdtemp(prefix="convgrade-unzip-", dir=workdir))
            notes = [f"{inner.name} was unpacked: the graded files were inside it"] + safe_unzip(inner, tempdir)
            root = tempdir
        elif path.is_dir():
            notes = zips_left_alone(path, modules)
            root = path
        else:
            raise SubmissionError(f"{path.name} is neither a folder nor a zip file")
        return _locate_in(root, modules, notes, tempdir)
    except BaseException as exc:
        # the unpacked files go on every path (zip bomb, conflicting entries, a bug here)
        if tempdir is not None:
            shutil.rmtree(tempdir, ignore_errors=True)
        if isinstance(exc, SubmissionError) or not isinstance(exc, Exception):
            raise
        raise SubmissionError(f"the submission could not be unpacked or read ({type(exc).__name__}: {exc})")


def _locate_in(root, modules, notes, tempdir):
    folder = find_folder(root, modules)
    located = Located(folder=folder, notes=notes, tempdir=tempdir)
    for name in modules:
        file = folder / f"{name}.py"
        if not os.path.lexists(file):
            near = [p.name for p in folder.iterdir() if p.name.lower() == f"{name}.py"] if folder.is_dir() else []
            msg = f"{name}.py was not found in the submission"
            if near:
                msg += f" (found {near[0]}: file names are case-sensitive)"
            located.problems[name] = msg
            continue
        problem = check_source(file, name)
        if problem:
            located.problems[name] = problem
        else:
            located.files[name] = file
    helpers = []
    for file in sorted(folder.glob("*.py")) if folder.is_dir() else []:
        name = file.stem
        if name in modules:
            continue
        if name in PROVIDED:
            located.notes.append(f"{file.name} is provided: the grader uses its own copy")
        elif name in RESERVED or not name.isidentifier():
            located.notes.append(f"{file.name} ignored: its name would shadow a module the grader or Python needs")
        else:
            helpers.append(file)
    if len(helpers) > MAX_EXTRA_MODULES:
        located.notes.append(f"{len(helpers) - MAX_EXTRA_MODULES} more .py files ignored, from "
                             f"{helpers[MAX_EXTRA_MODULES].name} on: at most {MAX_EXTRA_MODULES} helper modules")
    for file in helpers[:MAX_EXTRA_MODULES]:
        if (problem := check_source(file, file.stem)) is None:
            located.extras[file.stem] = file
        elif file.stem in HANDOUT_SCRIPTS:  # it imports what student code may not: the handout's own script
            located.notes.append(f"{file.name} is the handout's {HANDOUT_SCRIPTS[file.stem]}, not part of your "
                                 "submission: the grader leaves it out (nothing to fix)")
        else:
            located.notes.append(f"{file.name} ignored: {problem}")
    for file in folder.glob("*.pth") if folder.is_dir() else []:
        located.notes.append(f"{file.name} ignored (.pth files are never loaded)")
    return located


def lone_zip(folder, modules):
    """The one zip file in ``folder`` when the folder holds no graded file (flat or one folder
    down) and no other zip, else None. Symbolic links are never followed."""
    zips = zips_instead_of_files(folder, modules)
    return zips[0] if len(zips) == 1 else None


def zips_left_alone(folder, modules):
    """A note when a folder without graded files holds several zips (none is unpacked)."""
    zips = zips_instead_of_files(folder, modules)
    if len(zips) < 2:
        return []
    return [f"{len(zips)} zip files and no graded file found ({', '.join(z.name for z in zips[:5])}), so none was "
            "unpacked: " + UPLOAD_ADVICE]


def zips_instead_of_files(folder, modules):
    """The regular zip files at the top of ``folder`` when it holds no graded file, else []."""
    folder = Path(folder)
    if any(os.path.lexists(find_folder(folder, modules) / f"{m}.py") for m in modules):
        return []
    zips = []
    for entry in sorted(folder.iterdir()):
        if ignored_name(entry.name) or not entry.name.lower().endswith(".zip"):
            continue
        if stat.S_ISREG(os.lstat(entry).st_mode) and zipfile.is_zipfile(entry):
            zips.append(entry)
    return zips


def find_folder(root, modules):
    """The folder holding the graded files: root itself or one level down."""
    def score(d):
        return sum(1 for m in modules if os.path.lexists(d / f"{m}.py"))

    best, best_score = root, score(root)
    if best_score == 0:
        for d in sorted(root.iterdir()):
            if d.is_dir() and not d.is_symlink() and not ignored_name(d.name):
                s = score(d)
                if s > best_score:
                    best, best_score = d, s
    return best



