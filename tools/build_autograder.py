"""Build dist/autograder.zip for Gradescope: setup.sh and run_autograder at the
zip's root, the grading package, the provided common.py; never solutions/.

    python tools/build_autograder.py [--out dist/autograder.zip]
"""

import argparse
import os
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def grader_files():
    """Every .py and .yaml file of the grading package, sub-packages included (no caches)."""
    return sorted(p for p in (ROOT / "autograder").rglob("*") if p.suffix in (".py", ".yaml") and p.is_file()
                  and "__pycache__" not in p.parts)


def members():
    """(path in the zip, file on disk, executable?) of everything shipped."""
    yield "setup.sh", ROOT / "autograder" / "gradescope" / "setup.sh", True
    yield "run_autograder", ROOT / "autograder" / "gradescope" / "run_autograder", True
    yield "requirements-grader.txt", ROOT / "requirements-grader.txt", False
    yield "requirements-worker.txt", ROOT / "requirements-worker.txt", False
    for path in grader_files():
        yield path.relative_to(ROOT).as_posix(), path, False
    yield "autograder/common.py", ROOT / "assignment" / "common.py", False


def private_output_folder(out):
    """The folder of a built zip: dist/ (or a folder made for it) for its owner only, since the autograder zip
    holds the hidden cases. Someone else's existing folder (``--out /tmp/x.zip``) keeps its mode: the zip
    itself is 0600, and /tmp must stay usable for everyone."""
    folder = Path(out).parent
    made = not folder.exists()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if made or folder.resolve() == (ROOT / "dist").resolve():
        os.chmod(folder, 0o700)


def build(out):
    out = Path(out)
    private_output_folder(out)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, path, executable in members():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "dist" / "autograder.zip"))
    args = parser.parse_args(argv)
    out = build(args.out)
    with zipfile.ZipFile(out) as zf:
        print(f"wrote {out} ({out.stat().st_size // 1024} KB, {len(zf.namelist())} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
