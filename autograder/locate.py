"""Find the graded files of a submission and check them before anything runs.

A submission is a folder or a zip; the files sit flat or one folder down (a
zipped folder, Gradescope's unzip). A folder holding no graded file but one
zip (an uploaded zip that reached the submission folder as it is) is graded
as that zip would be (``lone_zip``). Names are case-sensitive. Static checks,
each with a clear message that fails only the parts needing that file:
missing file, unreadable or undecodable source, syntax error, forbidden import
(found in the parsed imports, so a comment that mentions torch is fine).
"""

import ast
import io
import os
import shutil
import stat
import sys
import tempfile
import tokenize
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from .table import MODULES
from .worker import FORBIDDEN

MAX_FILE_BYTES = 1 << 20  # one source file
MAX_ZIP_FILES = 500
MAX_ZIP_BYTES = 50 << 20  # uncompressed
PROVIDED = {"common"}
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


class SubmissionError(Exception):
    """The submission as a whole cannot be read (not a folder or zip, zip bomb, ...)."""


def locate(path, workdir=None):
    """Locate the graded files of a folder or zip (see module docstring)."""
    path = Path(path)
    tempdir = None
    try:
        if path.is_file() and zipfile.is_zipfile(path):
            tempdir = Path(tempfile.mkdtemp(prefix="convgrade-unzip-", dir=workdir))
            notes = safe_unzip(path, tempdir)
            root = tempdir
        elif path.is_dir() and (inner := lone_zip(path)) is not None:
            tempdir = Path(tempfile.mkdtemp(prefix="convgrade-unzip-", dir=workdir))
            notes = [f"{inner.name} was unpacked: the graded files were inside it"] + safe_unzip(inner, tempdir)
            root = tempdir
        elif path.is_dir():
            notes = zips_left_alone(path)
            root = path
        else:
            raise SubmissionError(f"{path.name} is neither a folder nor a zip file")
        return _locate_in(root, notes, tempdir)
    except BaseException as exc:
        # the unpacked files go on every path (zip bomb, conflicting entries, a bug here)
        if tempdir is not None:
            shutil.rmtree(tempdir, ignore_errors=True)
        if isinstance(exc, SubmissionError) or not isinstance(exc, Exception):
            raise
        raise SubmissionError(f"the submission could not be unpacked or read ({type(exc).__name__}: {exc})")


def _locate_in(root, notes, tempdir):
    folder = find_folder(root)
    located = Located(folder=folder, notes=notes, tempdir=tempdir)
    for name in MODULES:
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
    for file in sorted(folder.glob("*.py")) if folder.is_dir() else []:
        name = file.stem
        if name in MODULES:
            continue
        if name in PROVIDED:
            located.notes.append(f"{file.name} is provided: the grader uses its own copy")
        elif name in RESERVED or not name.isidentifier():
            located.notes.append(f"{file.name} ignored: its name would shadow a module the grader or Python needs")
        elif (problem := check_source(file, name)) is None:
            located.extras[name] = file
        else:
            located.notes.append(f"{file.name} ignored: {problem}")
    for file in folder.glob("*.pth") if folder.is_dir() else []:
        located.notes.append(f"{file.name} ignored (.pth files are never loaded)")
    return located


def lone_zip(folder):
    """The one zip file in ``folder`` when the folder holds no graded file (flat or one folder
    down) and no other zip, else None. Symbolic links are never followed."""
    zips = zips_instead_of_files(folder)
    return zips[0] if len(zips) == 1 else None


def zips_left_alone(folder):
    """A note when a folder without graded files holds several zips (none is unpacked)."""
    zips = zips_instead_of_files(folder)
    if len(zips) < 2:
        return []
    return [f"{len(zips)} zip files and no graded file found ({', '.join(z.name for z in zips[:5])}), so none was "
            "unpacked: " + UPLOAD_ADVICE]


def zips_instead_of_files(folder):
    """The regular zip files at the top of ``folder`` when it holds no graded file, else []."""
    folder = Path(folder)
    if any(os.path.lexists(find_folder(folder) / f"{m}.py") for m in MODULES):
        return []
    zips = []
    for entry in sorted(folder.iterdir()):
        if ignored_name(entry.name) or not entry.name.lower().endswith(".zip"):
            continue
        if stat.S_ISREG(os.lstat(entry).st_mode) and zipfile.is_zipfile(entry):
            zips.append(entry)
    return zips


def find_folder(root):
    """The folder holding the graded files: root itself or one level down."""
    def score(d):
        return sum(1 for m in MODULES if os.path.lexists(d / f"{m}.py"))

    best, best_score = root, score(root)
    if best_score == 0:
        for d in sorted(root.iterdir()):
            if d.is_dir() and not d.is_symlink() and not ignored_name(d.name):
                s = score(d)
                if s > best_score:
                    best, best_score = d, s
    return best


def ignored_name(name):
    return name == "__MACOSX" or name.startswith("._") or name == "__pycache__"


def read_source(file):
    """Source text honouring a coding cookie or BOM; refuses symlinks and huge files."""
    st = os.lstat(file)
    if stat.S_ISLNK(st.st_mode):
        raise ValueError(f"{file.name} is a symbolic link; submit the file itself")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{file.name} is not a regular file")
    if st.st_size > MAX_FILE_BYTES:
        raise ValueError(f"{file.name} is larger than {MAX_FILE_BYTES >> 10} KB")
    data = Path(file).read_bytes()
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding)


def check_source(file, name):
    """None when the file can be run; else the message for the student."""
    try:
        source = read_source(file)
    except (UnicodeDecodeError, SyntaxError, LookupError) as exc:
        return f"{file.name} could not be decoded as text: {exc}"
    except (OSError, ValueError) as exc:
        return str(exc)
    try:
        tree = ast.parse(source, filename=file.name)
    except SyntaxError as exc:
        line = (exc.text or "").strip()
        return f"{file.name} has a syntax error on line {exc.lineno}: {exc.msg}" + (f"\n    {line}" if line else "")
    except (ValueError, RecursionError, MemoryError) as exc:
        return f"{file.name} could not be parsed: {type(exc).__name__}"
    bad = forbidden_imports(tree)
    if bad:
        what = ", ".join(f"{mod} (line {line})" for mod, line in bad)
        return (f"{file.name} imports {what}: only numpy (and the standard library) may be used "
                "in this assignment")
    return None


IMPORTERS = {"__import__", "import_module", "find_spec", "spec_from_file_location", "load_module",
             "find_module", "SourceFileLoader", "ExtensionFileLoader", "SourcelessFileLoader", "load_dynamic",
             "CDLL", "PyDLL", "LoadLibrary", "run_module", "run_path"}


def _forbidden_name(text):
    """The forbidden module a string names: 'torch', 'torch.nn', or a path such as .../torch/lib/x.so."""
    if not isinstance(text, str) or len(text) > 4096:
        return None
    if text.split(".")[0] in FORBIDDEN:
        return text
    parts = text.replace("\\", "/").split("/")
    if len(parts) > 1:
        for p in parts:
            if p in FORBIDDEN or (p.split("-")[0] in FORBIDDEN and p.endswith((".dist-info", ".whl"))):
                return text
    return None


def forbidden_imports(tree):
    """[(module, line)] of forbidden imports: import/from statements, and calls of an
    importer (__import__, importlib's import_module / find_spec / spec_from_file_location,
    runpy, ctypes' CDLL, ... under any alias) whose literal argument names a forbidden
    module or a path into one. Computed names are refused at run time by the worker's
    import hook, and torch is not even readable from the sandbox."""
    found = []
    aliases = set()
    nodes = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom, ast.Call))]  # one walk
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module in ("importlib", "importlib.util", "importlib.machinery",
                                                                 "ctypes", "runpy", "imp", "builtins"):
            aliases |= {a.asname or a.name for a in node.names if a.name in IMPORTERS}
    importers = IMPORTERS | aliases
    for node in nodes:
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Call):
            f = node.func
            fname = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if fname in importers:
                for arg in list(node.args[:2]) + [k.value for k in node.keywords]:
                    if isinstance(arg, ast.Constant) and _forbidden_name(arg.value):
                        names.append(_forbidden_name(arg.value))
        for n in names:
            if _forbidden_name(n):
                found.append((n, node.lineno))
    return found


def safe_unzip(zpath, dest):
    """Extract a zip without path traversal, symlinks, or size/count bombs."""
    notes = []
    dest = Path(dest).resolve()
    try:
        zf = zipfile.ZipFile(zpath)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionError(f"the zip file could not be read: {exc}")
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_FILES:
            raise SubmissionError(f"the zip holds {len(infos)} entries (limit {MAX_ZIP_FILES})")
        total = 0
        seen = set()
        for info in infos:
            name = info.filename
            parts = Path(name.replace("\\", "/")).parts
            if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
                notes.append(f"{name} ignored: unsafe path in the zip")
                continue
            if any(ignored_name(p) for p in parts):
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                notes.append(f"{name} ignored: symbolic links are not followed")
                continue
            if info.is_dir():
                continue
            if info.file_size > MAX_FILE_BYTES * 8 or total + info.file_size > MAX_ZIP_BYTES:
                raise SubmissionError("the zip is too large once unpacked")
            target = (dest / Path(*parts)).resolve()
            if dest not in target.parents:
                notes.append(f"{name} ignored: unsafe path in the zip")
                continue
            if target in seen:
                notes.append(f"{name} ignored: the zip holds this name twice (the first one is used)")
                continue
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                # O_EXCL: never write through something already there (another entry's folder or file)
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            except OSError:  # FileExistsError, NotADirectoryError, IsADirectoryError, ...
                notes.append(f"{name} ignored: it conflicts with another entry of the zip "
                             "(a file and a folder of the same name?)")
                continue
            seen.add(target)
            try:
                with open(fd, "wb") as out, zf.open(info) as src:
                    remaining = MAX_FILE_BYTES * 8
                    while chunk := src.read(1 << 16):
                        remaining -= len(chunk)
                        total += len(chunk)  # what really comes out, whatever the header declared
                        if remaining < 0 or total > MAX_ZIP_BYTES:
                            raise SubmissionError("the zip is too large once unpacked")
                        out.write(chunk)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError,
                    OSError) as exc:  # bad CRC, encrypted, unknown compression, truncated
                target.unlink(missing_ok=True)
                notes.append(f"{name} ignored: it could not be unpacked ({type(exc).__name__}: {exc})")
    return notes
