"""The mutant catalogue: realistic student bugs, each a small named change to solutions/.

Every other ``*.py`` file in this folder is one mutant: a function-level
override of ONE graded module, never a copy of a whole file. It holds

    \"\"\"What the student got wrong (the docstring names the bug).\"\"\"
    MODULE = "conv"                                   # the graded module it changes
    EXPECTED_PARTS = {"conv_backward", "fcn"}         # every part that must lose points
    NAMED = {"conv_backward": "crop_p_minus_p"}       # optional: the mistake (autograder/checking/mistakes/)
                                                      # a VISIBLE case of that part must name
    DIFFICULTY = {"conv_backward": "no_padding"}      # optional: the difficulty (cases.yaml) the bug
                                                      # lives in: the visible case that meets it alone
                                                      # (`python -m autograder coverage`) must fail
    SAYS = {"conv_backward": ["dx: wrong in the last"]}  # optional: text the student's feedback of that
                                                      # part must hold (visible or hidden cases)
    ALSO_NAMED = {"fcn": ["stops_early"]}             # optional: other mistakes the feedback of a part may
                                                      # name for this bug (each one true of some case); any
                                                      # name outside NAMED and ALSO_NAMED fails the test:
                                                      # nothing may point at a wrong cause
    import numpy as np                                # whatever the functions need
    def conv2d_backward(dout, cache): ...             # only the replaced function(s)

``build(mutant, folder)`` writes a submission: the reference solutions, with
the override's code appended to the end of its module. A redefinition at the
end of a module replaces the reference function everywhere it is looked up at
call time (other functions of the module, and modules such as fcn.py that
import it), exactly as if the student had written it that way.

The mutant files are read as text (ast), never imported by the tests.
"""

import ast
import shutil
from dataclasses import dataclass
from pathlib import Path

from autograder.checking.table import MODULES as GRADED

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SOLUTIONS = ROOT / "solutions"
STYLES = ROOT / "tests" / "styles"
META = ("MODULE", "EXPECTED_PARTS")
OPTIONAL = ("NAMED", "DIFFICULTY", "SAYS", "ALSO_NAMED")


@dataclass(frozen=True)
class Mutant:
    name: str
    module: str
    expected: frozenset
    named: dict  # part id -> the mistake a visible case of that part names (NAMED; may be empty)
    difficulty: dict  # part id -> the difficulty whose isolating visible case must fail (DIFFICULTY; may be empty)
    says: dict  # part id -> [text the student's feedback of that part holds] (SAYS; may be empty)
    also: dict  # part id -> [other mistakes its feedback may name] (ALSO_NAMED; may be empty)
    doc: str
    path: Path
    code: str  # the override, without docstring and metadata
    functions: tuple  # names of the functions it (re)defines

    @property
    def summary(self):
        """First line of the docstring."""
        return self.doc.strip().splitlines()[0] if self.doc.strip() else self.name


def load(path):
    """Parse one mutant file; raise ValueError when it is not a well-formed override."""
    path = Path(path)
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    doc = ast.get_docstring(tree) or ""
    meta, kept, functions = {}, [], []
    for i, node in enumerate(tree.body):
        if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
            continue  # the docstring
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id in META + OPTIONAL:
            meta[node.targets[0].id] = ast.literal_eval(node.value)
            continue
        if isinstance(node, ast.FunctionDef):
            functions.append(node.name)
        elif not isinstance(node, (ast.Import, ast.ImportFrom)):
            raise ValueError(f"{path.name}: only imports and function definitions may follow the metadata "
                             f"(line {node.lineno})")
        kept.append(ast.get_source_segment(source, node, padded=True))
    missing = [k for k in META if k not in meta]
    if missing:
        raise ValueError(f"{path.name}: missing {', '.join(missing)}")
    module = meta["MODULE"]
    if module not in GRADED:
        raise ValueError(f"{path.name}: MODULE must be one of {GRADED}, got {module!r}")
    if not doc.strip():
        raise ValueError(f"{path.name}: the docstring must name the bug")
    if not functions:
        raise ValueError(f"{path.name}: defines no function")
    reference = {n.name for n in ast.parse((SOLUTIONS / f"{module}.py").read_text(encoding="utf-8")).body
                 if isinstance(n, ast.FunctionDef)}
    new_public = [f for f in functions if f not in reference and not f.startswith("_")]
    if new_public:
        raise ValueError(f"{path.name}: {new_public} are not functions of {module}.py (an override replaces "
                         "existing functions; new helpers must start with _)")
    if not any(f in reference for f in functions):
        raise ValueError(f"{path.name}: replaces no function of {module}.py")
    named = dict(meta.get("NAMED") or {})
    says = {pid: list(texts) for pid, texts in dict(meta.get("SAYS") or {}).items()}
    difficulty = dict(meta.get("DIFFICULTY") or {})
    also = {pid: list(names) for pid, names in dict(meta.get("ALSO_NAMED") or {}).items()}
    for key, parts in (("NAMED", named), ("SAYS", says), ("DIFFICULTY", difficulty), ("ALSO_NAMED", also)):
        if set(parts) - set(meta["EXPECTED_PARTS"]):
            raise ValueError(f"{path.name}: {key} names parts outside EXPECTED_PARTS: "
                             f"{sorted(set(parts) - set(meta['EXPECTED_PARTS']))}")
    if not all(isinstance(t, str) and t for texts in says.values() for t in texts):
        raise ValueError(f"{path.name}: SAYS maps each part to a list of texts")
    if not all(isinstance(n, str) and n for names in also.values() for n in names):
        raise ValueError(f"{path.name}: ALSO_NAMED maps each part to a list of mistake names")
    return Mutant(name=path.stem, module=module, expected=frozenset(meta["EXPECTED_PARTS"]), named=named,
                  difficulty=difficulty, says=says, also=also, doc=doc, path=path, code="\n\n".join(kept),
                  functions=tuple(functions))


def allowed_names(mutant, pid):
    """Every mistake the feedback of part ``pid`` may name for ``mutant``'s bug: its NAMED and ALSO_NAMED."""
    return ({mutant.named[pid]} if pid in mutant.named else set()) | set(mutant.also.get(pid, ()))


def catalogue():
    """Every mutant of this folder, sorted by name."""
    return [load(p) for p in sorted(HERE.glob("*.py")) if p.name != "__init__.py"]


def reference_copy(folder):
    """A copy of the graded reference files in ``folder`` (created)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for m in GRADED:
        shutil.copyfile(SOLUTIONS / f"{m}.py", folder / f"{m}.py")
    return folder


def build(mutant, folder):
    """Write the submission of ``mutant`` (a Mutant or a name) into ``folder``; return the folder."""
    if not isinstance(mutant, Mutant):
        mutant = load(HERE / f"{mutant}.py")
    folder = reference_copy(folder)
    target = folder / f"{mutant.module}.py"
    with open(target, "a", encoding="utf-8") as f:
        f.write(f"\n\n# ---- mutant {mutant.name}: {mutant.summary}\n"
                f"# The definitions below replace the reference {', '.join(mutant.functions)}.\n\n"
                f"{mutant.code}\n")
    return folder


def styles():
    """The alternative correct submissions: {name: folder of the modules that style writes its own way}."""
    return {p.name: p for p in sorted(STYLES.iterdir()) if p.is_dir() and any(p.glob("*.py"))}


def build_style(style, folder):
    """The submission of a style (a name or its folder): the reference, with the style's own files over it.
    A module the style does not write is the reference's, so a new graded module needs no new style file."""
    src = Path(style) if not isinstance(style, str) or "/" in style else STYLES / style
    folder = reference_copy(folder)
    for f in sorted(src.glob("*.py")):
        shutil.copyfile(f, folder / f.name)
    return folder


# Parts graded on wall-clock speed. On an overloaded machine (more busy processes than
# cores) the student's code is slowed while torch's short best-of-20 is not, so a correct
# submission can lose such a part by bad luck. A timing part lost UNEXPECTEDLY is measured
# again (that part alone) before it counts; an expected loss is never re-measured.
TIMING_PARTS = frozenset({"gemm_efficiency"})


def points_lost(outcome, table):
    """{part id: points lost} for every part of ``outcome`` below full marks."""
    got = {t["number"]: t["score"] for t in outcome.data["tests"]}
    return {p.id: round(p.weight - got[p.number], 4) for p in table.parts if got[p.number] < p.weight - 1e-9}


def grade_lost(folder, allowed=frozenset(), retries=2):
    """Grade ``folder`` through ``autograder.run.grade``; return (outcome, {part id: points lost}).

    allowed: parts that may lose points (a mutant's EXPECTED_PARTS); a timing part lost
    outside them is re-graded alone up to ``retries`` times and dropped when it passes.

    user=None: the worker runs as the caller's user. Grades that run at the same time
    (pytest -n 2, the report's workers) must not share the sandbox uid: the end of each
    grade kills every process of that uid, the other grade's worker included.
    """
    from autograder.run import grade
    from autograder.checking.table import load

    table = load()
    outcome = grade(folder, user=None)
    lost = points_lost(outcome, table)
    for pid in sorted((set(lost) & TIMING_PARTS) - set(allowed)):
        for _ in range(retries):
            again = points_lost(grade(folder, parts=[pid], user=None), table.select([pid]))
            if pid not in again:
                del lost[pid]
                break
    return outcome, lost


# ----------------------------------------------------------------- what a student reads
BUDGET_LINES = 40  # a part's Gradescope output for one mistake: at most this many lines ...
BUDGET_NAMED_BY = 3  # ... naming the mistake within its first this many lines (issue 27)


def first_naming_line(text, names=()):
    """The 1-based line of ``text`` (a part's Gradescope Markdown, escapes undone) that first names one of
    ``names`` (catalogue names, as "[name]"), or, without ``names``, any known mistake, a problem located by file
    and line (a crash, a syntax error) or a cause in another part; None when none does."""
    import re

    from autograder.checking.mistakes import MISTAKES

    wanted = [f"[{n}]" for n in (names or MISTAKES)]
    located = re.compile(r"\w\.py,? line \d+|which fails \d+\.\d+|which is wrong on this case")
    for i, line in enumerate(re.sub(r"\\(.)", r"\1", text).split("\n"), 1):
        if any(w in line for w in wanted) or (not names and located.search(line)):
            return i
    return None


def feedback_budget(outcome, mutant):
    """{part id: (lines, characters, the line naming the mistake or None)} of each part ``mutant`` must break:
    its Gradescope output (Markdown) as results.json holds it; the mistake is the mutant's NAMED for that part,
    else any known mistake or located crash."""
    from autograder.checking.table import load

    table = load()
    tests = {t["number"]: t for t in outcome.data["tests"]}
    out = {}
    for pid in sorted(mutant.expected):
        text = tests[table.part(pid).number]["output"]
        names = [mutant.named[pid]] if pid in mutant.named else []
        out[pid] = (len(text.split("\n")), len(text), first_naming_line(text, names))
    return out
