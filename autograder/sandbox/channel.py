"""The pipes to one worker: a request out, its reply in, within a deadline and a size cap.

Every reply is untrusted bytes: its header's length is capped, the array sizes it declares are checked
against the call's cap before a byte of the payload is read, the payload is read into one buffer of
exactly that size, and the whole reply is validated (codec.check_reply) before anyone uses it. Whatever
student code writes to the channel can at worst fail its own call.
"""

import json
import os
import select
import struct
import time
from dataclasses import dataclass, field

from . import codec
from .codec import check_reply

POLL = 0.25  # seconds between the watch's readings while the worker computes (calltime.py)


class CallError(Exception):
    """A call into student code did not produce a usable reply."""

    def __init__(self, message, kind="error", where="", output="", used=()):
        super().__init__(message)
        self.kind = kind  # error | timeout | crash | protocol
        self.where = where
        self.output = output
        self.used = list(used)  # the graded functions the call ran before it failed (Sandbox.call)
        self.fault = ""  # why the machine, not the submission, failed the call (faults.py), else ""


@dataclass
class Reply:
    result: dict
    arrays: list
    cache: object = None
    seconds: float = 0.0
    output: str = ""
    used: list = field(default_factory=list)  # graded functions the call ran ("module.function"), Sandbox.call


class Channel:
    """The grader's ends of one worker's request and reply pipes; ``crashed(what)`` is the CallError of a pipe that
    closed (the worker died)."""

    def __init__(self, req, rep, crashed):
        self.req, self.rep, self.crashed = req, rep, crashed
        self.watch = None  # the current round trip's CallClock.check (calltime.py): the student's time-out
        os.set_blocking(self.req, False)

    @property
    def watch(self):
        return self._watch

    @watch.setter
    def watch(self, check):
        self._watch, self._watched = check, time.perf_counter()

    def _wait(self, fd, left, what, write=False):
        """select() on ``fd`` for at most ``left`` seconds, the watch reading the worker every POLL seconds, whether
        or not bytes came meanwhile (a worker that trickles its reply a byte at a time is read all the same)."""
        r, w = ([], [fd]) if write else ([fd], [])
        ready = select.select(r, w, [], left if self._watch is None else min(left, POLL))
        if self._watch is not None:
            now = time.perf_counter()
            if not (ready[0] or ready[1]) or now - self._watched >= POLL:
                self._watched = now
                self._watch(what)
        return ready[0] or ready[1]

    def send(self, chunks, deadline, what):
        """Write a packed message (codec.pack's buffers, in order) by the deadline."""
        for chunk in chunks:
            view = memoryview(chunk).cast("B")
            while view:
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise CallError(f"{what} timed out", kind="timeout")
                if not self._wait(self.req, left, what, write=True):
                    continue
                try:
                    n = os.write(self.req, view)
                except (BrokenPipeError, OSError):
                    raise self.crashed(what)
                view = view[n:]

    def _read(self, n, deadline, what):
        chunks, got = [], 0
        while got < n:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise CallError(f"{what} did not finish within the time limit", kind="timeout")
            readable = self._wait(self.rep, left, what)
            if not readable:
                continue
            chunk = os.read(self.rep, min(n - got, 1 << 20))
            if not chunk:
                raise self.crashed(what)
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _read_into(self, n, deadline, what):
        """Exactly n bytes into one preallocated buffer (no chunk list, no join: the payload is held once)."""
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise CallError(f"{what} did not finish within the time limit", kind="timeout")
            readable = self._wait(self.rep, left, what)
            if not readable:
                continue
            k = os.readv(self.rep, [view[got:got + (1 << 20)]])
            if not k:
                raise self.crashed(what)
            got += k
        return view

    def receive(self, timeout, what, op, max_bytes):
        """One reply, read with a deadline and size caps, and checked before anyone uses it:
        whatever student code writes to the channel can at worst fail this call. The sizes the
        header declares are checked against ``max_bytes`` before a byte of the payload is read,
        and the payload is read into one buffer of exactly that size."""
        deadline = time.perf_counter() + max(timeout, 0.001)
        (n,) = struct.unpack(">Q", self._read(8, deadline, what))
        if n > codec.MAX_HEADER:
            raise CallError("the worker sent an oversized reply", kind="protocol")
        try:
            header = json.loads(self._read(n, deadline, what))
            sizes = header.get("arrays", [])
            if not isinstance(sizes, list) or not all(type(s) is int and s >= 0 for s in sizes):
                raise ValueError("bad sizes")
        except CallError:
            raise
        except Exception:  # noqa: BLE001 - ValueError, RecursionError, ...
            raise CallError("the worker sent a malformed reply", kind="protocol")
        if sum(sizes) > max_bytes:
            raise CallError(f"the result is too large to send back ({sum(sizes) / 2**20:.1f} MB of arrays; "
                            f"at most {max_bytes / 2**20:.1f} MB are accepted for this call)", kind="protocol")
        payload = self._read_into(sum(sizes), deadline, what)
        try:
            arrays = codec.unpack_arrays(header, payload)
        except Exception:  # noqa: BLE001
            raise CallError("the worker sent arrays that are not plain numeric .npy data", kind="protocol")
        problem = check_reply(header, len(arrays), op)
        if problem:
            raise CallError(f"the worker sent a malformed reply ({problem})", kind="protocol")
        return Reply(result=header, arrays=arrays)

    def close(self):
        for fd in (self.req, self.rep):
            try:
                os.close(fd)
            except OSError:
                pass


@dataclass(frozen=True)
class Cache:
    """Handle of a layer cache that stays inside the worker."""

    handle: int
    generation: int = 0  # which worker process holds it

