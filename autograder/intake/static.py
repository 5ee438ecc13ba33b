"""The static checks of one student file, before anything runs: readable text (coding cookies and BOMs
honoured, no symlink, not huge), valid syntax, in Gradescope's Python (3.10) too, no forbidden import
(found in the parsed imports and importer calls, so a comment that mentions torch is fine). Each problem
is one message for the student, and fails the parts of that file: the same here, in check.py on any
newer Python, and on Gradescope.
"""

import ast
import io
import itertools
import os
import re
import stat
import tokenize
from pathlib import Path

from ..sandbox.worker import FORBIDDEN

MAX_FILE_BYTES = 1 << 20  # one source file
# Words and symbols of one source file (a graded file has ~2,000). The grader parses student files in its own
# process, and what ast.parse builds grows with them, not with the bytes: ~2 KB each (one short name per line),
# so 1 MB of them took ~1 GB, over Gradescope's 768 MB. 50,000 of them take ~100 MB.
MAX_LEXEMES = 50_000
_LEXEME = re.compile(rb"\w+|[^\w\s]")  # counted in comments and strings too (an f-string's braces are code)
GRADESCOPE_PYTHON = (3, 10)  # grading/environment.py's PYTHON (tests/test_environment.py keeps them equal)
# Syntax newer than 3.10, by the line it starts (what Python 3.10's parser reports) and what to write instead.
NEWER_SYNTAX = (
    (re.compile(r"^\s*except\s*\*"), "use a plain except (except* handles exception groups, new in Python 3.11)"),
    (re.compile(r"^\s*type\s+[A-Za-z_]\w*\s*(\[.*\])?\s*="),
     "use a plain assignment, Name = ... (the type statement is new in Python 3.12)"),
    (re.compile(r"^\s*(async\s+def|def|class)\s+[A-Za-z_]\w*\s*\["),
     "drop the [T] after the name (type parameter lists are new in Python 3.12)"),
    (re.compile(r"\[(?:[^\[\]()]*,)?\s*\*\s*[A-Za-z_(\[]"),
     "index with a tuple, a[tuple(idx)] (a[*idx] is new in Python 3.11)"),
)


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
    if next(itertools.islice(_LEXEME.finditer(data), MAX_LEXEMES, None), None) is not None:
        raise ValueError(f"{file.name} is too long to check: more than {MAX_LEXEMES} words and symbols "
                         "(a graded file has a few thousand)")
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
        newer = [advice for pattern, advice in NEWER_SYNTAX if pattern.search(line)]
        if newer:  # Python 3.10 itself (Gradescope), or syntax newer than the Python running this
            return newer_message(file.name, exc.lineno, newer[0], line)
        return f"{file.name} has a syntax error on line {exc.lineno}: {exc.msg}" + (f"\n    {line}" if line else "")
    except (ValueError, RecursionError, MemoryError) as exc:
        return f"{file.name} could not be parsed: {type(exc).__name__}"
    bad = forbidden_imports(tree)
    newer = newer_syntax(tree, source)
    del tree  # one syntax tree at a time in the grader's memory
    newer = newer or newer_grammar(source, file.name)
    if newer:
        return newer_message(file.name, *newer)
    if bad:
        what = ", ".join(f"{mod} (line {line})" for mod, line in bad)
        return (f"{file.name} imports {what}: only numpy (and the standard library) may be used "
                "in this assignment")
    return None


def newer_syntax(tree, source):
    """(line, what to change, the line's text) of the first syntax in ``tree`` that Gradescope's Python lacks
    and ast's feature_version lets through (newer_grammar catches the rest): except*, a starred index (a[*idx])."""
    def text(n):
        return line_at(source, n)

    for node in ast.walk(tree):
        if type(node).__name__ == "TryStar":
            handler = node.handlers[0] if node.handlers else node
            return handler.lineno, NEWER_SYNTAX[0][1], text(handler.lineno)
        if isinstance(node, ast.Subscript) and (isinstance(node.slice, ast.Starred) or (
                isinstance(node.slice, ast.Tuple) and any(isinstance(e, ast.Starred) for e in node.slice.elts)
                and not (ast.get_source_segment(source, node.slice) or "(").startswith("("))):
            return node.lineno, NEWER_SYNTAX[3][1], text(node.lineno)
    return None


def newer_grammar(source, filename):
    """(line, what to change, the line's text) where Python 3.10's grammar (ast's feature_version) refuses
    ``source``, else None."""
    try:
        ast.parse(source, filename=filename, feature_version=GRADESCOPE_PYTHON)
    except SyntaxError as exc:
        line = line_at(source, exc.lineno or 0)
        newer = [advice for pattern, advice in NEWER_SYNTAX if pattern.search(line)]
        return exc.lineno, newer[0] if newer else f"write it the Python 3.10 way ({exc.msg})", line
    except (ValueError, RecursionError, MemoryError):
        return None
    return None


def line_at(source, n):
    """Line ``n`` (from 1) of ``source``, stripped; '' where there is none."""
    lines = source.splitlines()
    return lines[n - 1].strip() if 0 < n <= len(lines) else ""


def newer_message(name, lineno, advice, line):
    version = ".".join(map(str, GRADESCOPE_PYTHON))
    return (f"{name} line {lineno} needs a Python newer than {version}, and Gradescope runs your code with Python "
            f"{version} (a syntax error there): {advice}" + (f"\n    {line}" if line else ""))


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
