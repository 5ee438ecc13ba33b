"""Reading a Gradescope export (course staff): the metadata, the submissions, the previous grades.

Gradescope's *Export Submissions* zip holds ``submission_metadata.yml`` (Ruby-symbol keys) next to one
``submission_<id>/`` folder per submission, possibly inside one top folder. Per submission the metadata has
``:submitters:`` (``:name:``, ``:sid:``, ``:email:``), ``:created_at:``, the score it had when exported
(``:score:``, sometimes a Ruby BigDecimal such as ``!ruby/object:BigDecimal 18:0.1e2``) and the
autograder's results of that time (``:results:``, the results.json object, ``tests`` with name, number,
score): the previous grades a regrade is compared with.
"""

import re
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

METADATA = "submission_metadata.yml"
JUNK = {"__MACOSX", ".DS_Store", "__pycache__"}
# Unpacking an export: a whole class, PDFs included, so far larger caps than one submission's.
MAX_EXPORT_ENTRIES = 200_000
MAX_EXPORT_BYTES = 16 << 30
MAX_EXPORT_FILE = 1 << 30


@dataclass
class Previous:
    """The grade a submission had in the export (before this regrade)."""

    total: float
    tests: list = field(default_factory=list)  # [{"name", "number", "score", "max_score"}] of the old results


@dataclass
class Submission:
    id: str  # folder name under DIR, a CSV key
    key: str  # name in the export (submission_<n>, or the folder / zip name)
    path: Path
    submitters: list = field(default_factory=list)  # [{"name", "sid", "email"}]
    previous: Previous = None  # the export's score (and per-test results) of this submission

    def old_tests(self, table):
        """{part id: old test} for the parts the old results name (by number, else by test name)."""
        if self.previous is None:
            return {}
        by_number = {str(t["number"]): t for t in self.previous.tests if t.get("number") is not None}
        by_name = {str(t["name"]): t for t in self.previous.tests if t.get("name") is not None}
        out = {}
        for p in table.parts:
            t = by_number.get(p.number) or by_name.get(f"{p.number} {p.title}")
            if t is not None and t.get("score") is not None:
                out[p.id] = t
        return out

    def old_parts(self, table):
        """{part id: old score} for the parts the old results name (by number, else by test name)."""
        return {pid: t["score"] for pid, t in self.old_tests(table).items()}

    def old_maxima(self, table):
        """{part id: old maximum} where the old results give a part's ``max_score``."""
        return {pid: t["max_score"] for pid, t in self.old_tests(table).items() if t.get("max_score") is not None}


class _TolerantLoader(yaml.SafeLoader):
    """SafeLoader that reads unknown tags (Ruby objects in some exports) as plain data."""


def _plain(loader, suffix, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_TolerantLoader.add_multi_constructor("!", _plain)
_TolerantLoader.add_multi_constructor("tag:", _plain)


def _get(d, name):
    """A metadata value: Gradescope writes Ruby-symbol keys (``:name``), accept plain ones too."""
    if not isinstance(d, dict):
        return None
    for k in (f":{name}", name):
        if d.get(k) is not None:
            return d[k]
    return None


def _field(d, name):
    value = _get(d, name)
    return "" if value is None else str(value)


def number(value):
    """A score as Gradescope exports it (a number, a numeric string, or a BigDecimal dumped as
    ``<precision>:<value>``), or None when it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value) if value == value and abs(value) != float("inf") else None
    text = str(value).strip()
    if re.fullmatch(r"\d+:\S+", text):  # BigDecimal: "18:0.1e2"
        text = text.split(":", 1)[1]
    try:
        v = float(text)
    except ValueError:
        return None
    return v if v == v and abs(v) != float("inf") else None


def previous_grade(entry):
    """The Previous grade of one metadata entry, or None when it holds no usable ``:score:``."""
    total = number(_get(entry, "score"))
    if total is None:
        return None
    results = _get(entry, "results")
    tests = []
    for t in (_get(results, "tests") or []) if isinstance(results, dict) else []:
        if not isinstance(t, dict):
            continue
        score = number(_get(t, "score"))
        name, num = _get(t, "name"), _get(t, "number")
        tests.append({"name": None if name is None else str(name), "number": None if num is None else str(num),
                      "score": score, "max_score": number(_get(t, "max_score"))})
    return Previous(total, tests)


def raw_metadata(path):
    """The yml as data ({submission key: entry}; Ruby-tagged values read as plain data), or {}."""
    try:
        data = yaml.load(Path(path).read_text(encoding="utf-8", errors="replace"), Loader=_TolerantLoader)
    except yaml.YAMLError as exc:
        raise SystemExit(f"{path}: not readable as YAML: {exc}")
    return data if isinstance(data, dict) else {}


def read_metadata(path):
    """{submission key: (submitters [{"name", "sid", "email"}, ...], Previous or None)} from the yml."""
    data = raw_metadata(path)
    out = {}
    for key, entry in (data or {}).items() if isinstance(data, dict) else []:
        people = _get(entry, "submitters") or []
        submitters = [{"name": _field(p, "name"), "sid": _field(p, "sid"), "email": _field(p, "email")}
                      for p in (people if isinstance(people, list) else []) if isinstance(p, dict)]
        out[str(key)] = (submitters, previous_grade(entry) if isinstance(entry, dict) else None)
    return out


# ----------------------------------------------------------------- discovery
def junk(name):
    return name in JUNK or name.startswith(".")


def unpack_export(zpath, dest):
    """Extract an export zip into ``dest`` (private): no ``..``, no absolute paths, no symlinks, size caps."""
    dest = Path(dest).resolve()
    try:
        zf = zipfile.ZipFile(zpath)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SystemExit(f"{zpath}: not a readable zip file ({exc})")
    total = 0
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_EXPORT_ENTRIES:
            raise SystemExit(f"{zpath}: {len(infos)} entries, more than {MAX_EXPORT_ENTRIES}")
        for info in infos:
            parts = Path(info.filename.replace("\\", "/")).parts
            if (not parts or info.filename.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]
                    or any(junk(p) for p in parts) or info.is_dir() or stat.S_ISLNK(info.external_attr >> 16)):
                continue
            total += info.file_size
            if info.file_size > MAX_EXPORT_FILE or total > MAX_EXPORT_BYTES:
                raise SystemExit(f"{zpath}: too large once unpacked")
            target = (dest / Path(*parts)).resolve()
            if dest not in target.parents:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
    return dest


def export_root(root, descend=False):
    """The folder holding the submissions: root, or the folder below it that holds the
    metadata; with ``descend`` (an unpacked zip) also a lone top folder of submissions."""
    if (root / METADATA).is_file():
        return root
    entries = [p for p in root.iterdir() if not junk(p.name)]
    dirs = [p for p in entries if p.is_dir() and not p.is_symlink()]
    for d in dirs:
        if (d / METADATA).is_file():
            return d
    if descend and len(dirs) == 1 and len(entries) == 1:
        inner = [p for p in dirs[0].iterdir() if not junk(p.name)]
        if any(p.is_dir() or p.suffix.lower() == ".zip" for p in inner):
            return dirs[0]
    return root


def safe_id(key, taken):
    base = key[len("submission_"):] if key.startswith("submission_") and len(key) > 11 else key
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "submission"
    sid, n = base, 2
    while sid in taken:
        sid, n = f"{base}-{n}", n + 1
    taken.add(sid)
    return sid


def discover(root):
    """Submissions under ``root`` (export root or plain folder), sorted by name."""
    metadata = read_metadata(root / METADATA) if (root / METADATA).is_file() else {}
    subs, taken = [], set()
    for p in sorted(root.iterdir(), key=lambda p: p.name):
        if junk(p.name) or p.is_symlink():
            continue
        if p.is_dir():
            key = p.name
        elif p.is_file() and p.suffix.lower() == ".zip":
            key = p.name[:-4]
        else:
            continue
        submitters, prev = metadata.get(key, ([], None))
        subs.append(Submission(safe_id(key, taken), key, p, submitters, prev))
    return subs
