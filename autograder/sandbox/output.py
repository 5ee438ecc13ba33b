"""What the worker printed: its stdout and stderr go to one log file, emptied before each call (the
file-size limit then applies per call, so one flood of output cannot make later, honest calls die of
SIGXFSZ) and read back capped after it."""

import os


class OutputLog:
    def __init__(self, path, max_chars):
        self.path, self.max_chars = path, max_chars
        self.offset = 0

    def open_for_worker(self):
        """A file descriptor for the worker's stdout and stderr (the caller closes it once passed on)."""
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        self.offset = self._size()
        return fd

    def reset(self):
        if self._size() == 0:  # nothing printed since the last reset (most calls): nothing to empty
            self.offset = 0
            return
        try:
            os.truncate(self.path, 0)
        except OSError:
            pass
        self.offset = self._size()

    def _size(self):
        try:
            return os.stat(self.path).st_size
        except OSError:
            return 0

    def read(self):
        """What was printed since the last reset (at most ``max_chars`` characters' worth of bytes)."""
        if self._size() <= self.offset:  # nothing printed (most calls): no need to open the file
            return ""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read(self.max_chars * 4 + 1)
        except OSError:
            return ""
        return data.decode("utf-8", errors="replace")
