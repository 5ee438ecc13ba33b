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
