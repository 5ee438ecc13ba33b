"""Write one hostile submission: a copy of solutions/ with one module patched."""

import os
import shutil
import stat
import warnings
import zipfile
from pathlib import Path

from .attacks import PRELUDE

SOLUTIONS = Path(__file__).resolve().parent.parent.parent / "solutions"


def fill(text, subst):
    for key, value in subst.items():
        text = text.replace(f"@{key}@", str(value))
    return text


def make_submission(attack, dest, subst):
    """Build ``attack`` under ``dest`` (a new folder); returns the folder or zip to grade."""
    dest = Path(dest)
    folder = dest / "submission"
    folder.mkdir(parents=True)
    for src in SOLUTIONS.glob("*.py"):
        shutil.copyfile(src, folder / src.name)
    target = folder / f"{attack.module}.py"
    if attack.code:
        target.write_text(target.read_text() + "\n" + PRELUDE + "\n" + fill(attack.code, subst))
    if attack.symlink_module:
        target.unlink()
        os.symlink(fill(attack.symlink_module, subst), target)
    for name, content in attack.files.items():
        if isinstance(content, tuple) and content[0] == "symlink":
            os.symlink(fill(content[1], subst), folder / name)
        else:
            (folder / name).write_text(fill(content, subst))
    if attack.zip_entries is None:
        return folder
    zpath = dest / "submission.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
        for src in sorted(folder.iterdir()):
            zf.write(src, f"hw/{src.name}")  # one folder down, as students zip it
        for name, data, kind in attack.zip_entries:
            info = zipfile.ZipInfo(fill(name, subst))
            info.compress_type = zipfile.ZIP_DEFLATED
            if kind == "symlink":
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                data = fill(data.decode(), subst).encode()
            else:
                info.external_attr = (stat.S_IFREG | 0o644) << 16
            with warnings.catch_warnings():  # a name twice is the attack: no "Duplicate name" warning
                warnings.simplefilter("ignore", UserWarning)
                zf.writestr(info, data)
    shutil.rmtree(folder)
    return zpath
