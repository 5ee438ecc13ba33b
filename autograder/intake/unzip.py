"""Unpacking a submitted zip safely: no absolute or ``../`` paths, no symlinks, caps on entries and on the
bytes really unpacked, conflicting entries skipped with a note."""

import os
import stat
import zipfile
import zlib
from pathlib import Path

from .static import MAX_FILE_BYTES

MAX_ZIP_FILES = 500
MAX_ZIP_BYTES = 50 << 20  # uncompressed
# The zip's table of contents (its central directory), read whole by zipfile before its entries can be counted:
# ~470 bytes of the grader's memory per 47 bytes of it. 1 MB holds MAX_ZIP_FILES entries with long names.
MAX_CENTRAL_DIRECTORY = 1 << 20


class SubmissionError(Exception):
    """The submission as a whole cannot be read (not a folder or zip, zip bomb, ...)."""


def ignored_name(name):
    return name == "__MACOSX" or name.startswith("._") or name == "__pycache__"


def check_directory_size(zpath):
    """Refuse a zip whose table of contents is larger than MAX_CENTRAL_DIRECTORY, from its end record alone
    (zipfile's own reader of it), before zipfile reads the table: it holds every entry, whatever count the end
    record claims."""
    try:
        with open(zpath, "rb") as f:
            end = zipfile._EndRecData(f)
    except OSError as exc:
        raise SubmissionError(f"the zip file could not be read: {exc}")
    if end is not None and end[zipfile._ECD_SIZE] > MAX_CENTRAL_DIRECTORY:
        raise SubmissionError(f"the zip's table of contents is {end[zipfile._ECD_SIZE] >> 10} KB: more entries than "
                              f"the {MAX_ZIP_FILES} a submission may hold")


def safe_unzip(zpath, dest):
    """Extract a zip without path traversal, symlinks, or size/count bombs."""
    notes = []
    dest = Path(dest).resolve()
    check_directory_size(zpath)
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
