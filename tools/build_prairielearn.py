"""Build dist/prairielearn/ for PrairieLearn's external grader (docs/PRAIRIELEARN.md).

    python tools/build_prairielearn.py [--out dist/prairielearn]

Two folders:

    image/                           the image's build context (docker build -t ORG/convgrade-prairielearn image):
        Dockerfile, run_grader         autograder/prairielearn/
        setup.sh                       autograder/gradescope/setup.sh: the same two venvs and pins as Gradescope
        requirements-grader.txt, requirements-worker.txt
        autograder/                    the grader with the VISIBLE cases only (the handout's _grader/autograder):
                                       setup.sh checks the pins with it; the image may be public
    serverFilesCourse/convgrade/     the grader that grades, with the hidden cases: copy it into the course's
        autograder/                    serverFilesCourse/ (never served to students)

The image's folder is audited like the handout (no solution marker, no hidden case, nothing of solutions/).
"""

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [p for p in (str(ROOT), str(ROOT / "tools")) if p not in sys.path]

import build_autograder  # noqa: E402
import build_handout  # noqa: E402

PLATFORM = ROOT / "autograder" / "prairielearn"
EXECUTABLE = {"run_grader", "setup.sh"}


def image_files():
    """{path in image/: bytes}: the Dockerfile, the entrypoint, setup.sh, the requirements, the visible grader."""
    handout = build_handout.contents()
    build_handout.audit(handout)  # no solution, no hidden case in what the image gets
    grader = f"{build_handout.TOP}/_grader/"
    files = {name[len(grader):]: data for name, data in handout.items() if name.startswith(grader)}
    files["Dockerfile"] = (PLATFORM / "Dockerfile").read_bytes()
    files["run_grader"] = (PLATFORM / "run_grader").read_bytes()
    files["setup.sh"] = (ROOT / "autograder" / "gradescope" / "setup.sh").read_bytes()
    for name in ("requirements-grader.txt", "requirements-worker.txt"):
        files[name] = (ROOT / name).read_bytes()
    return files


def course_files():
    """{path in serverFilesCourse/convgrade/: bytes}: the grading package with the full case table."""
    return {name: path.read_bytes() for name, path, _ in build_autograder.members() if name.startswith("autograder/")}


def write_tree(folder, files):
    shutil.rmtree(folder, ignore_errors=True)
    for name, data in sorted(files.items()):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, 0o755 if path.name in EXECUTABLE else 0o644)


def build(out=ROOT / "dist" / "prairielearn"):
    """Write both folders under ``out`` (private: the course's folder holds the hidden cases); return ``out``."""
    out = Path(out)
    made = not out.exists()
    build_autograder.private_output_folder(out)  # dist/: its owner's only
    out.mkdir(parents=True, exist_ok=True)
    if made:
        os.chmod(out, 0o700)
    write_tree(out / "image", image_files())
    write_tree(out / "serverFilesCourse" / "convgrade", course_files())
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "dist" / "prairielearn"))
    args = parser.parse_args(argv)
    out = build(args.out)
    print(f"wrote {out}/image (docker build -t YOUR_ORG/convgrade-prairielearn {out}/image) and "
          f"{out}/serverFilesCourse/convgrade (copy it into the course's serverFilesCourse/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
