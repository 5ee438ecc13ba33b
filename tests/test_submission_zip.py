"""Submissions as Gradescope hands them over: a zip left as it is inside the submission folder
is graded exactly like that zip given on the command line; and everyone gives the same upload advice."""

import importlib.util
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from autograder.checking.table import MODULES
from autograder.intake.locate import UPLOAD_ADVICE, locate, lone_zip

ROOT = Path(__file__).resolve().parent.parent
NEEDS_TORCH = pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                 reason="grading needs torch (the oracle): this interpreter has none")


def make_zip(path, inside=""):
    with zipfile.ZipFile(path, "w") as zf:
        for m in MODULES:
            zf.write(ROOT / "solutions" / f"{m}.py", f"{inside}{m}.py")
        zf.writestr(f"{inside}notes.txt", "my notes")
    return path


def same_files(a, b):
    assert sorted(a.files) == sorted(b.files) == sorted(MODULES)
    for m in MODULES:
        assert Path(a.files[m]).read_bytes() == Path(b.files[m]).read_bytes(), m
    assert a.problems == b.problems == {}


@pytest.mark.parametrize("inside", ["", "hw3/"], ids=["flat", "one-folder-down"])
def test_lone_zip_is_located_like_the_zip_itself(tmp_path, inside):
    z = make_zip(tmp_path / "submission.zip", inside)
    folder = tmp_path / "gradescope"
    folder.mkdir()
    shutil.copyfile(z, folder / "my_homework.zip")
    (folder / "README.txt").write_text("uploaded together with the zip, so Gradescope kept the zip as it is")
    direct, left = locate(z, MODULES), locate(folder, MODULES)
    try:
        same_files(direct, left)
        assert any("my_homework.zip was unpacked" in n for n in left.notes), left.notes
        assert left.tempdir is not None and Path(left.folder).is_relative_to(left.tempdir)
    finally:
        direct.cleanup()
        left.cleanup()
    assert not left.tempdir.exists()  # cleaned up like any unzip


def test_graded_files_win_over_a_zip(tmp_path):
    folder = tmp_path / "sub"
    shutil.copytree(ROOT / "solutions", folder)
    make_zip(folder / "old.zip")
    assert lone_zip(folder, MODULES) is None
    located = locate(folder, MODULES)
    assert located.tempdir is None and Path(located.folder) == folder
    assert not any("unpacked" in n for n in located.notes)


def test_two_zips_are_not_guessed_between(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    make_zip(folder / "a.zip")
    make_zip(folder / "b.zip")
    located = locate(folder, MODULES)
    assert located.tempdir is None and set(located.problems) == set(MODULES)
    note = " ".join(located.notes)
    assert "2 zip files" in note and UPLOAD_ADVICE in note


def test_a_symlinked_or_fake_zip_is_not_unpacked(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    make_zip(tmp_path / "real.zip")
    os.symlink(tmp_path / "real.zip", folder / "link.zip")
    assert lone_zip(folder, MODULES) is None
    (folder / "link.zip").unlink()
    (folder / "fake.zip").write_text("not a zip")
    assert lone_zip(folder, MODULES) is None


def test_a_lone_zip_goes_through_the_safe_unzip(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    with zipfile.ZipFile(folder / "evil.zip", "w") as zf:
        zf.writestr("../escaped.py", "x = 1")
        zf.write(ROOT / "solutions" / "conv.py", "conv.py")
    located = locate(folder, MODULES)
    try:
        assert "conv" in located.files and any("unsafe path" in n for n in located.notes), located.notes
        assert not (tmp_path / "escaped.py").exists()
    finally:
        located.cleanup()


@NEEDS_TORCH
def test_lone_zip_scores_like_the_zip_on_the_command_line(tmp_path):
    from autograder.run import grade

    z = make_zip(tmp_path / "submission.zip", "hw3/")
    folder = tmp_path / "gradescope"
    folder.mkdir()
    shutil.copyfile(z, folder / "submission.zip")
    (folder / "extra.txt").write_text("x")
    parts = ["receptive_field", "dilate_kernel"]
    a, b = grade(z, parts=parts, user=None), grade(folder, parts=parts, user=None)
    assert [t["score"] for t in a.data["tests"]] == [t["score"] for t in b.data["tests"]]
    assert a.data["score"] == b.data["score"] > 0


def normalised(text):
    return " ".join(text.split())


def test_everyone_gives_the_same_upload_advice():
    for readme in (ROOT / "README.md", ROOT / "assignment" / "README.md"):
        assert UPLOAD_ADVICE in normalised(readme.read_text()), f"{readme.relative_to(ROOT)} lacks: {UPLOAD_ADVICE}"
    check = (ROOT / "assignment" / "check.py").read_text()
    assert "UPLOAD_ADVICE" in check and "not a folder" not in check


def test_the_handouts_own_check_py_is_left_out_without_alarm(tmp_path):
    """A student who grades the handout folder itself: check.py (which imports torch) is named as the handout's
    checker and left out, with no word of a forbidden import; a student's own helper of that name still works."""
    folder = tmp_path / "handout"
    shutil.copytree(ROOT / "assignment", folder)
    located = locate(folder, MODULES)
    notes = " ".join(located.notes)
    assert "check.py is the handout's local checker, not part of your submission" in notes, notes
    assert "imports torch" not in notes and "check" not in located.extras
    (folder / "check.py").write_text("import numpy as np\n\n\ndef helper():\n    return np.zeros(1)\n")
    assert "check" in locate(folder, MODULES).extras  # a clean helper of that name is the student's own
