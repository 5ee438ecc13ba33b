"""Submissions of a student who has read the grader and goes for the hidden data or the speed part.

Each is code appended to one reference module (the honest functions stay callable as _honest_*):

- REPLAY: answers conv2d_backward from a table of torch's gradients for the hidden inputs it once
  captured (keyed by the first value of dout), zeros otherwise: full marks only while hidden inputs
  repeat from one grading to the next.
- CAPTURE: remembers the first value of every input it is ever given (in memory and in /tmp) and
  raises all of them in every call: whatever reaches a message a student can see is a leak.
- GEMM_ZEROS: conv2d_gemm honest the first time it sees a shape (every correctness check), zeros, quickly,
  when a shape comes again (the timed calls, which were never checked).
- GEMM_PING: a pixel-loop conv2d_gemm (far too slow) that patches the worker's message reader, so
  that arrays arriving with a ping get convolved then, and the next call returns the cached answer.
- GEMM_THREAD: an honest conv2d_gemm that also burns BURN seconds of CPU in a thread that ends before the
  call returns (where a slow implementation would do its work): the time a dead thread spent must still be
  the call's.
- GEMM_TRANSPORT: an honest conv2d_gemm whose module, at import, replaces the code of the worker's own
  transport (the functions its serve loop bound before any student module ran) with leaner versions (no
  header checks, headers parsed once). Whatever it saves is transport, which the speed figure includes and
  never subtracts, and the honest transport already copies no array (codec.pack, load_npy): there is
  nearly nothing left to save; a transport far cheaper than a clean worker's trips the wire.
- GEMM_SHORT_PINGS: an honest conv2d_gemm whose module replaces the worker's pack so that the grader's round
  trips that run nothing (pings) come back without their arrays, as cheap as can be (what made a
  subtracted transport estimate look large): the tripwire fails the speed part.
- OWN_EXCEPTION: dilate_kernel raises an exception class of the student's own, named to carry bits.
"""

REPLAY = '''
_honest_backward = conv2d_backward
_TABLE = @TABLE@
def conv2d_backward(dout, cache):
    dx, dw, db = _honest_backward(dout, cache)
    key = repr(round(float(dout.flat[0]), 12))
    if key in _TABLE:
        got = _TABLE[key]
        return np.array(got[0]), np.array(got[1]), (None if got[2] is None else np.array(got[2]))
    return dx * 0, dw * 0, (None if db is None else db * 0)
'''

CAPTURE = '''
import os as _os
_SEEN = []
def _remember(*arrays):
    for a in arrays:
        if isinstance(a, np.ndarray) and a.size:
            _SEEN.append(repr(float(a.flat[0])))
    try:
        with open("/tmp/convgrade-capture.txt", "a") as f:
            f.write(" ".join(_SEEN) + "\\n")
        with open("/tmp/convgrade-capture.txt") as f:
            _SEEN.extend(f.read().split())
    except OSError:
        pass
    print("seen so far:", " ".join(_SEEN))
    raise ValueError("seen so far: " + " ".join(_SEEN))
def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1):
    _remember(x, w, b)
def conv2d_backward(dout, cache):
    _remember(dout)
'''

GEMM_ZEROS = '''
_honest_gemm = conv2d_gemm
_shapes = set()
def conv2d_gemm(x, w, b=None, stride=1, padding=0, dilation=1):
    # the timed calls repeat the configuration of the speed case's correctness call (no other case does)
    key = (x.shape, w.shape, b is None, repr(stride), repr(padding), repr(dilation))
    seen = key in _shapes
    _shapes.add(key)
    out = _honest_gemm(x, w, b, stride, padding, dilation)
    return np.zeros_like(out) if seen else out
'''

GEMM_PING = '''
import __main__ as _worker
_cache = {}
def _slow_gemm(x, w, b=None, stride=1, padding=0, dilation=1):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    Ho = conv_output_size(H, KH, sh, ph, dh)
    Wo = conv_output_size(W, KW, sw, pw, dw)
    out = np.zeros((N, F, Ho, Wo))
    wf = w.reshape(F, -1)
    for i in range(Ho):
        for j in range(Wo):
            patch = xp[:, :, i * sh:i * sh + dh * (KH - 1) + 1:dh, j * sw:j * sw + dw * (KW - 1) + 1:dw]
            out[:, :, i, j] = patch.reshape(N, -1) @ wf.T
    return out if b is None else out + b.reshape(1, -1, 1, 1)
_real_receive = getattr(_worker, "receive", None)
def _receive(fd, max_bytes):
    header, arrays = _real_receive(fd, max_bytes)
    if header.get("op") == "ping" and len(arrays) == 3:  # the timed call's inputs, sent ahead
        x, w, b = arrays
        _cache[(x.shape, float(x.flat[0]))] = _slow_gemm(x, w, b, padding=1)
    return header, arrays
if _real_receive is not None:
    _worker.receive = _receive
def conv2d_gemm(x, w, b=None, stride=1, padding=0, dilation=1):
    key = (x.shape, float(x.flat[0]))
    if key in _cache:
        return _cache.pop(key)
    return _slow_gemm(x, w, b, stride, padding, dilation)
'''

BURN = 0.008  # seconds of CPU in a thread that is gone before the reply: under the 10 ms of a clock tick
GEMM_THREAD = f'''
import threading as _threading, time as _time
_honest_gemm = conv2d_gemm
def _burn():
    end = _time.thread_time() + {BURN}
    while _time.thread_time() < end:
        pass
def conv2d_gemm(x, w, b=None, stride=1, padding=0, dilation=1):
    worker = _threading.Thread(target=_burn)
    worker.start()
    worker.join()
    return _honest_gemm(x, w, b, stride, padding, dilation)
'''

GEMM_TRANSPORT = '''
import __main__ as _worker
_worker._headers = {}  # the patched code runs with the worker's globals
def _fast_load(blob):
    key = bytes(blob[:128])  # the same shapes every time: the header parsed once, no checks at all
    if key not in _headers:
        shape, fortran, dtype, offset = _plain_header(blob)
        _headers[key] = (shape, dtype, offset, math.prod(shape))
    shape, dtype, offset, count = _headers[key]
    return np.frombuffer(blob, dtype=dtype, count=count, offset=offset).reshape(shape)
def _fast_pack(header, arrays=()):
    chunks = []
    for a in arrays:
        a = np.ascontiguousarray(a)
        head = ("{'descr': '%s', 'fortran_order': False, 'shape': %r, }" % (a.dtype.str, a.shape)).encode()
        head += b" " * (63 - (len(head) + 10) % 64) + b"\\n"
        chunks += [b"\\x93NUMPY\\x01\\x00" + struct.pack("<H", len(head)) + head, a.reshape(-1).view(np.uint8)]
    header = dict(header, arrays=[len(chunks[i]) + chunks[i + 1].nbytes for i in range(0, len(chunks), 2)])
    head = json.dumps(header).encode()
    return [struct.pack(">Q", len(head)) + head, *chunks]
for _name, _new in (("load_npy", _fast_load), ("pack", _fast_pack)):
    _old = getattr(_worker, _name, None)
    if _old is not None:
        _old.__code__ = _new.__code__  # the very function objects serve() bound as its defaults
'''

OWN_EXCEPTION = '''
class Bits_1f2e3d(Exception):
    pass
def dilate_kernel(w, dilation):
    raise Bits_1f2e3d("the name of this class is what a hidden case must not carry")
'''

GEMM_SHORT_PINGS = '''
import __main__ as _worker, types as _types
_worker._orig_pack = _types.FunctionType(_worker.pack.__code__, _worker.__dict__, "pack", _worker.pack.__defaults__)
def _pack(header, arrays=()):
    if "echo" in header and "result" not in header:  # a ping's reply
        arrays = ()
    return _orig_pack(header, arrays)
_worker.pack.__code__ = _pack.__code__  # serve() holds this very function object; _orig_pack is the worker's global
'''
