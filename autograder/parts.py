"""What each graded part checks, case by case.

A checker gets one case of the case table (a dict: shapes, stride, padding,
..., seed) and the sandbox; it builds inputs from the seed, calls the student
function through the sandbox, asks the oracle (torch) for the expected values
and returns the list of problems (empty: the case passes). Problems are lines
of feedback; hidden cases never show them.
"""

import os
import time

import numpy as np

from .compare import RTOL_GRAD, RTOL_OUT, Bad, compare_array, decode, matches, type_name

CHECKERS = {}


class _Oracle:
    """oracle.py, imported on first use: it imports torch (~2 s, ~270 MB), which listing or loading the
    case table (`python -m autograder list`, the grade-all parent process) does not need."""

    def __getattr__(self, name):
        from . import oracle as module

        return getattr(module, name)


oracle = _Oracle()


def checker(name):
    def register(fn):
        CHECKERS[name] = fn
        return fn

    return register


class Failed(Exception):
    """Stops a case early with its problems (e.g. forward failed, so no backward)."""

    def __init__(self, lines):
        super().__init__("\n".join(lines))
        self.lines = lines


# ---------------------------------------------------------------- inputs
def rng_for(case):
    return np.random.default_rng(int(case.get("seed", 0)))


def randn(rng, shape):
    return rng.standard_normal(tuple(shape))


def make_x(rng, case, key="x"):
    shape = tuple(case[key])
    if case.get("constant"):
        return np.full(shape, 0.5)
    if case.get("ties"):
        return rng.integers(-2, 3, size=shape).astype(np.float64)
    return randn(rng, shape)


def opts(case, *names):
    """The keyword arguments of the case, as the grader passes them (by keyword; pairs as tuples)."""
    return {n: tuple(case[n]) if isinstance(case[n], list) else case[n] for n in names if n in case}


def oracle_backward(rng, oracle_fn, *args, **kw):
    """(outputs, grads, dout): the oracle's forward and backward in one run, for an upstream gradient
    drawn from the case's rng in the shape of the first output."""
    drawn = []

    def upstream(outs):
        drawn.append(randn(rng, outs[0].shape))
        return drawn[0]

    outs, grads = oracle_fn(*args, dout=upstream, **kw)
    return outs, grads, drawn[0]


# ---------------------------------------------------------------- calling
class Call:
    """One call into the sandbox, with its result decoded and inputs echoed."""

    def __init__(self, sb, module, func, named_args, kwargs, n_out=None, keep=None):
        self.func = func
        self.names, self.originals = [], []  # every input array (also inside dicts), for the in-place checks
        for name, value in [*named_args, *kwargs.items()]:
            self._collect(name, value)
        reply = sb.call(module, func, [v for _, v in named_args], kwargs, keep=keep, expect_len=n_out)
        self.value = decode(reply.result["result"], reply.arrays)
        self.cache = reply.cache
        self.echo = [decode(d, reply.arrays) for d in reply.result.get("echo", [])]
        self.origin_echo = {int(h): [decode(d, reply.arrays) for d in ds]
                            for h, ds in reply.result.get("origin_echo", {}).items()}

    def _collect(self, name, value):
        if isinstance(value, np.ndarray):
            self.names.append(name)
            self.originals.append(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                self._collect(f"{name}['{k}']", v)

    def outputs(self, names):
        """The returned tuple, checked for type and length."""
        v = self.value
        if not isinstance(v, tuple) or len(v) != len(names):
            shown = type_name(v)
            raise Failed([f"{self.func} must return a tuple ({', '.join(names)}), got {shown}"])
        return list(v)

    def unchanged(self, when):
        """Problems if the call modified any of its input arrays in place."""
        return modified(self.names, self.originals, self.echo, f"{self.func}", when)


def modified(names, originals, echoed, func, when):
    lines = []
    for name, orig, now in zip(names, originals, echoed):
        if not isinstance(now, np.ndarray) or now.shape != orig.shape or not np.array_equal(now, orig, equal_nan=True):
            lines.append(f"{func} modified its input {name} in place ({when}); "
                         "hint: work on a copy (np.pad, x.copy()), never write into the caller's arrays")
    return lines


def check_backward_inputs(bwd, fwd):
    """In-place checks after the backward: its own inputs and the forward's (via the cache)."""
    lines = bwd.unchanged("in the backward")
    if fwd.cache is not None and fwd.cache.handle in bwd.origin_echo:
        lines += modified(fwd.names, fwd.originals, bwd.origin_echo[fwd.cache.handle], fwd.func,
                          "during the backward")
    return lines


def expect(name, got, expected, rtol=RTOL_OUT, integer=False, hints=()):
    problems = compare_array(name, got, expected, rtol=rtol, integer=integer)
    if problems:
        for test, text in hints:
            try:
                if test(got):
                    problems.append("hint: " + text)
                    break
            except Exception:
                continue
    return problems or []


def expect_none(name, got, why):
    if got is not None:
        return [f"{name}: expected None ({why}), got {type_name(got)}"]
    return []


# ---------------------------------------------------------------- hints
def conv_hints(x, w, b, kw, transposed=False):
    """Known mistakes of a conv forward, recognised by recomputing them in torch."""
    fn = oracle.conv_transpose2d if transposed else oracle.conv2d
    hints = []
    flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1])
    hints.append((lambda g: matches(g, fn(x, flipped, b, **kw)[0][0]),
                  "this matches the result with the kernel flipped (a true convolution); "
                  "torch's conv2d is a cross-correlation: do not flip w"))
    swapped = {k: (v[::-1] if isinstance(v, tuple) else v) for k, v in kw.items()}
    if swapped != kw:
        hints.append((lambda g: matches(g, fn(x, w, b, **swapped)[0][0]),
                      "this matches the result with the H and W values of stride/padding/dilation swapped: "
                      "(a, b) means a along H (axis 2) and b along W (axis 3)"))
    if b is not None:
        hints.append((lambda g: matches(g, fn(x, w, None, **kw)[0][0]), "the bias b was not added"))
    if not transposed and kw.get("dilation", 1) not in (1, (1, 1)):
        plain = {**kw, "dilation": 1}
        hints.append((lambda g: g.shape == fn(x, w, b, **plain)[0][0].shape,
                      "the output has the shape of an undilated convolution: the effective kernel size "
                      "is d*(k-1)+1"))
    return hints


def grad_hints(name, expected, n_batch, case):
    hints = [(lambda g: n_batch > 1 and matches(g, expected / n_batch),
              f"{name} looks averaged over the batch: sum over N instead of taking the mean")]
    strided = [case.get(k, 1) for k in ("stride", "dilation")]
    if any(v not in (1, [1, 1]) for v in strided):
        hints.append((lambda g: True, "this case has stride or dilation > 1: check that the backward "
                                      "uses the same stride, padding and dilation as the forward"))
    if case.get("padding", 0) not in (0, [0, 0]):
        hints.append((lambda g: True, "crop the padding off the gradient of the padded input "
                                      "(x_pad[..., p:p+H, q:q+W]; note [p:-p] is empty when p = 0)"))
    return hints


# ---------------------------------------------------------------- conv
def conv_inputs(case):
    rng = rng_for(case)
    x = make_x(rng, case)
    w = randn(rng, case["w"])
    b = randn(rng, (case["w"][0],)) if case.get("bias", True) else None
    kw = opts(case, "stride", "padding", "dilation")
    return rng, x, w, b, kw


def conv_forward_call(sb, x, w, b, kw, func="conv2d_forward", module="conv"):
    fwd = Call(sb, module, func, [("x", x), ("w", w), ("b", b)], kw, n_out=2, keep=1)
    out, _ = fwd.outputs(["out", "cache"])
    return fwd, out


@checker("conv_forward")
def check_conv_forward(sb, case):
    _, x, w, b, kw = conv_inputs(case)
    fwd, out = conv_forward_call(sb, x, w, b, kw)
    (expected,), _ = oracle.conv2d(x, w, b, **kw)
    return expect("out", out, expected, hints=conv_hints(x, w, b, kw)) + fwd.unchanged("in the forward")


def layer_backward(sb, module, fwd, dout, grads, case):
    """The backward of a conv layer: its (dx, dw, db) against the oracle's gradients of x, w and b."""
    names = ["dx", "dw", "db"]
    bwd = Call(sb, module, fwd.func.replace("_forward", "_backward"), [("dout", dout), ("cache", fwd.cache)], {},
               n_out=len(names))
    problems = []
    for name, g in zip(names, bwd.outputs(names)):
        e = grads[name[1:]]
        if e is None:
            problems += expect_none(name, g, "the forward got b=None")
        else:
            problems += expect(name, g, e, rtol=RTOL_GRAD, hints=grad_hints(name, e, dout.shape[0], case))
    return problems + check_backward_inputs(bwd, fwd)


def conv_forward_backward(sb, case, forward_counts=False):
    rng, x, w, b, kw = conv_inputs(case)
    fwd, out = conv_forward_call(sb, x, w, b, kw)
    (expected,), grads, dout = oracle_backward(rng, oracle.conv2d, x, w, b, **kw)
    problems = []
    if forward_counts:
        problems += expect("out", out, expected, hints=conv_hints(x, w, b, kw))
    problems += fwd.unchanged("in the forward")
    if fwd.cache is None:
        raise Failed(problems + ["conv2d_forward did not return (out, cache), so the backward cannot be called"])
    return problems + layer_backward(sb, "conv", fwd, dout, grads, case)


@checker("conv_backward")
def check_conv_backward(sb, case):
    return conv_forward_backward(sb, case)


@checker("dilated_conv")
def check_dilated_conv(sb, case):
    return conv_forward_backward(sb, case, forward_counts=True)


# ---------------------------------------------------------------- pooling
def pool_kwargs(case):
    kw = opts(case, "kernel_size", "stride", "padding")
    kw.setdefault("stride", None)
    return kw


def pool_sent(case, kw):
    """The pool's keyword arguments as the student gets them: no stride at all where the case omits it."""
    return {k: v for k, v in kw.items() if not (k == "stride" and v is None and case.get("omit_stride"))}


@checker("max_pool")
def check_max_pool(sb, case):
    rng = rng_for(case)
    x = make_x(rng, case)
    kw = pool_kwargs(case)
    fwd = Call(sb, "pooling", "max_pool2d_forward", [("x", x)], pool_sent(case, kw), n_out=3, keep=2)
    out, idx, _ = fwd.outputs(["out", "indices", "cache"])
    (e_out, e_idx), grads, dout = oracle_backward(rng, oracle.max_pool2d, x, **kw)
    problems = expect("out", out, e_out, hints=[
        (lambda g: kw["padding"] not in (0, (0, 0)) and (g >= e_out).all(),
         "padding must act like -inf (a max never comes from the padding), not 0"),
        (lambda g: kw["stride"] is None, "stride=None means stride = kernel_size"),
    ])
    problems += expect("indices", idx, e_idx, integer=True, hints=[
        (lambda g: isinstance(g, np.ndarray) and g.shape == e_idx.shape and np.array_equal(
            np.take_along_axis(x.reshape(*x.shape[:2], -1), np.clip(g, 0, x.shape[2] * x.shape[3] - 1)
                               .reshape(*x.shape[:2], -1), axis=2), e_out.reshape(*x.shape[:2], -1)),
         "your indices point at a maximum, but not the one torch picks: with ties the FIRST maximum "
         "in row-major order within the window wins"),
        (lambda g: isinstance(g, np.ndarray) and g.max() < np.prod(oracle.pair(kw["kernel_size"])),
         "indices look like positions inside the window; torch wants row * W + col in the unpadded input"),
        (lambda g: kw["padding"] not in (0, (0, 0)),
         "indices are flat positions in the UNPADDED H x W plane (row * W + col)"),
    ])
    problems += fwd.unchanged("in the forward")
    if fwd.cache is None:
        raise Failed(problems + ["max_pool2d_forward did not return (out, indices, cache)"])
    bwd = Call(sb, "pooling", "max_pool2d_backward", [("dout", dout), ("cache", fwd.cache)], {})
    k = oracle.pair(kw["kernel_size"])
    overlap = any(si < ki for si, ki in zip(oracle.pair(kw["stride"] or k), k))
    problems += expect("dx", bwd.value, grads["x"], rtol=RTOL_GRAD, hints=[
        (lambda g: overlap, "windows overlap here (stride < kernel): a pixel that is the maximum of "
                            "several windows must receive the SUM of their gradients (+=, not =)"),
        (lambda g: case.get("ties") or case.get("constant"),
         "with ties, only the first maximum of each window (row-major) gets the gradient"),
    ])
    return problems + check_backward_inputs(bwd, fwd)


@checker("avg_pool")
def check_avg_pool(sb, case):
    rng = rng_for(case)
    x = make_x(rng, case)
    kw = pool_kwargs(case)
    fwd = Call(sb, "pooling", "avg_pool2d_forward", [("x", x)], pool_sent(case, kw), n_out=2, keep=1)
    out, _ = fwd.outputs(["out", "cache"])
    (e_out,), grads, dout = oracle_backward(rng, oracle.avg_pool2d, x, **kw)
    problems = expect("out", out, e_out, hints=[
        (lambda g: kw["padding"] not in (0, (0, 0)),
         "zero padding counts in the average (count_include_pad=True): divide by kh*kw everywhere"),
        (lambda g: kw["stride"] is None, "stride=None means stride = kernel_size"),
    ])
    problems += fwd.unchanged("in the forward")
    if fwd.cache is None:
        raise Failed(problems + ["avg_pool2d_forward did not return (out, cache)"])
    bwd = Call(sb, "pooling", "avg_pool2d_backward", [("dout", dout), ("cache", fwd.cache)], {})
    kh, kw_ = oracle.pair(kw["kernel_size"])
    problems += expect("dx", bwd.value, grads["x"], rtol=RTOL_GRAD, hints=[
        (lambda g: matches(g, grads["x"] * kh * kw_), "each input gets dout / (kh*kw): the 1/(kh*kw) is missing"),
        (lambda g: True, "overlapping windows add up (+=) and the padding border is cropped away"),
    ])
    return problems + check_backward_inputs(bwd, fwd)


# ---------------------------------------------------------------- dilated
@checker("dilate_kernel")
def check_dilate_kernel(sb, case):
    rng = rng_for(case)
    w = randn(rng, case["w"])
    d = opts(case, "dilation")["dilation"]
    call = Call(sb, "dilated", "dilate_kernel", [("w", w)], {"dilation": d})
    expected = oracle.dilate_kernel(w, d)
    return expect("w_dilated", call.value, expected, hints=[
        (lambda g: isinstance(g, np.ndarray) and g.shape[2] > expected.shape[2],
         "insert d-1 zeros between taps (not d): size d*(k-1)+1"),
    ]) + call.unchanged("")


@checker("receptive_field")
def check_receptive_field(sb, case):
    kw = {k: case[k] for k in ("strides", "dilations") if k in case}
    call = Call(sb, "dilated", "receptive_field", [("kernel_sizes", list(case["kernel_sizes"]))], kw)
    expected = oracle.receptive_field(case["kernel_sizes"], case.get("strides"), case.get("dilations"))
    got = call.value
    if not isinstance(got, (list, tuple)) or not all(
            hasattr(v, "value") and isinstance(v.value, int) and not isinstance(v.value, bool) for v in got):
        return [f"receptive_field must return a list of ints, got {type_name(got)}"
                + (f" {[getattr(v, 'value', v) for v in got]}" if isinstance(got, (list, tuple)) else "")]
    values = [v.value for v in got]
    if values != expected:
        lines = [f"receptive_field({case['kernel_sizes']}, strides={case.get('strides')}, "
                 f"dilations={case.get('dilations')}) returned {values}, expected {expected}"]
        if case.get("strides") and any(s != 1 for s in case["strides"]):
            lines.append("hint: each layer's (k-1)*d is multiplied by the product of the strides BEFORE it")
        return lines
    return []


# ---------------------------------------------------------------- toeplitz / im2col / gemm
@checker("toeplitz")
def check_toeplitz(sb, case):
    rng = rng_for(case)
    w = randn(rng, case["w"])
    size = tuple(case["input_size"])
    kw = opts(case, "stride", "padding", "dilation")
    call = Call(sb, "toeplitz", "conv2d_toeplitz", [("w", w)], {"input_size": size, **kw})
    expected = oracle.conv2d_toeplitz(w, size, **kw)
    t_swapped = None
    if isinstance(call.value, np.ndarray) and call.value.shape != expected.shape \
            and call.value.shape == expected.shape[::-1]:
        t_swapped = "hint: rows and columns are swapped: T has one ROW per output value, (F*Ho*Wo, C*H*W)"
    problems = expect("T", call.value, expected, hints=[
        (lambda g: matches(g, oracle.conv2d_toeplitz(w, size, **{**kw, "padding": 0})) if
         g.shape == expected.shape else False, "padding seems ignored: padded pixels are zeros, so their "
                                               "columns are simply dropped"),
        (lambda g: True, "row r = (f, i, j) of T holds w[f] at the columns (c, i*s - p + kh*d, j*s - p + kw*d)"),
    ])
    if t_swapped:
        problems.append(t_swapped)
    return problems + call.unchanged("")


@checker("im2col")
def check_im2col(sb, case):
    rng = rng_for(case)
    x = make_x(rng, case)
    kw = opts(case, "kernel_size", "stride", "padding", "dilation")
    call = Call(sb, "toeplitz", "im2col", [("x", x)], kw)
    expected = oracle.im2col(x, **kw)
    return expect("cols", call.value, expected, hints=[
        (lambda g: True, "rows are ordered (c, kh, kw) with c slowest, like F.unfold; columns row-major "
                         "over output positions"),
    ]) + call.unchanged("")


@checker("col2im")
def check_col2im(sb, case):
    rng = rng_for(case)
    kw = opts(case, "kernel_size", "stride", "padding", "dilation")
    size = tuple(case["output_size"])
    c = case["channels"]
    kh, kw_ = oracle.pair(kw["kernel_size"])
    s, p, d = (oracle.pair(kw.get(k, dflt)) for k, dflt in (("stride", 1), ("padding", 0), ("dilation", 1)))
    L = 1
    for i in range(2):
        L *= (size[i] + 2 * p[i] - d[i] * ((kh, kw_)[i] - 1) - 1) // s[i] + 1
    cols = randn(rng, (case["batch"], c * kh * kw_, L))
    call = Call(sb, "toeplitz", "col2im", [("cols", cols)], {"output_size": size, **kw})
    expected = oracle.col2im(cols, size, **kw)
    return expect("x", call.value, expected, hints=[
        (lambda g: True, "overlapping patches must add up; fancy-index += drops repeated indices "
                         "(use np.add.at, or loop over kernel taps with slice +=)"),
    ]) + call.unchanged("")


@checker("gemm")
def check_gemm(sb, case):
    _, x, w, b, kw = conv_inputs(case)
    call = Call(sb, "toeplitz", "conv2d_gemm", [("x", x), ("w", w), ("b", b)], kw)
    (expected,), _ = oracle.conv2d(x, w, b, **kw)
    return expect("out", call.value, expected, hints=conv_hints(x, w, b, kw)) + call.unchanged("")


def worker_cpu(sb):
    """(CPU seconds of the sandbox worker's threads, CPU seconds it was charged in clock ticks), or None
    where /proc cannot tell (not Linux, no worker). Summed over the worker and its live descendants
    (should the worker ever run under a wrapper process).

    The first comes from /proc/<pid>/task/*/schedstat (nanoseconds, live threads only); the second from
    /proc/<pid>/stat (utime + stime + cutime + cstime, 10 ms ticks), which also holds threads and
    waited-for children that ended in between, so work cannot hide there.
    """
    proc = getattr(sb, "proc", None)
    if proc is None or proc.poll() is not None:
        return None
    ns = ticks = 0
    todo, seen = [proc.pid], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            tids = os.listdir(f"/proc/{pid}/task")
            with open(f"/proc/{pid}/stat") as f:
                ticks += sum(int(v) for v in f.read().rsplit(")", 1)[1].split()[11:15])
        except FileNotFoundError:  # a descendant that just ended
            if pid == proc.pid:
                return None
            continue
        except (OSError, ValueError, IndexError):
            return None
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    ns += int(f.read().split()[0])
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    todo += [int(c) for c in f.read().split()]
            except FileNotFoundError:  # a thread that just ended: in the ticks
                continue
            except (OSError, ValueError):
                return None
    return ns / 1e9, ticks / os.sysconf("SC_CLK_TCK")


def cpu_spent(before, after):
    """CPU seconds between two worker_cpu() readings (None if either is None): the exact figure, unless
    the ticks show more than one tick beyond it (work in threads or processes that ended)."""
    if before is None or after is None:
        return None
    tick = 1 / os.sysconf("SC_CLK_TCK")
    return max(after[0] - before[0], after[1] - before[1] - tick)


@checker("gemm_efficiency")
def check_gemm_efficiency(sb, case):
    """Correct, and at most ``max_ratio`` times torch's time (best of ``repeats``)."""
    problems = check_gemm(sb, case)
    if problems:
        return ["conv2d_gemm must first be correct on this case:"] + problems
    repeats = int(case.get("repeats", 5))
    kw = opts(case, "stride", "padding", "dilation")
    seed = int(case.get("seed", 0))

    def make(i):
        _, x, w, b, _ = conv_inputs({**case, "seed": seed + 1000 + i})
        return x, w, b

    calls, pings = [], []
    cpu_calls, cpu_pings = [], []
    sb.ping()  # the worker is running
    for i in range(repeats):
        x, w, b = make(i)
        before = worker_cpu(sb)
        pings.append(sb.ping([x, w, b]).seconds)
        between = worker_cpu(sb)
        calls.append(sb.call("toeplitz", "conv2d_gemm", [x, w, b], kw).seconds)
        after = worker_cpu(sb)
        cpu_pings.append(cpu_spent(before, between))
        cpu_calls.append(cpu_spent(between, after))
    # CPU time where /proc tells it: the wall clock of a call also counts the pipe round trips of ~1 MB of
    # arrays, which on a busy machine wait for a core many times (the reference measured up to 30x torch by
    # the wall clock on 2 busy cores, 2x by CPU time). Best call minus best ping: each minimum is the least
    # disturbed run of its kind. (The minimum of per-run differences is biased: one slow ping drives its
    # run, and so the minimum, to ~0.)
    by_cpu = None not in cpu_calls + cpu_pings
    student = max(min(cpu_calls) - min(cpu_pings), 1e-6) if by_cpu else max(min(calls) - min(pings), 1e-6)
    sb.pause()
    try:
        # torch takes ~1 ms here, so a busy machine can slow a few runs in a row: more runs, best one.
        reference = oracle.time_conv2d(make, int(case.get("torch_repeats", 4 * repeats)), kw,
                                       clock=time.process_time if by_cpu else time.perf_counter)
    finally:
        sb.resume()
    ratio = student / reference
    limit = float(case["max_ratio"])
    what = " of CPU time" if by_cpu else ""
    msg = (f"conv2d_gemm took {student * 1e3:.2f} ms{what}, torch.nn.functional.conv2d {reference * 1e3:.2f} ms: "
           f"{ratio:.1f}x (limit {limit:g}x)")
    if ratio > limit:
        return [msg, "hint: build the im2col matrix with slicing over kernel taps (or stride tricks), then one "
                     "matrix product (np.matmul / tensordot); no Python loop over output pixels"]
    sb.notes.append(msg)
    return []


# ---------------------------------------------------------------- transposed
def tconv_inputs(case):
    rng = rng_for(case)
    x = make_x(rng, case)
    w = randn(rng, case["w"])
    b = randn(rng, (case["w"][1],)) if case.get("bias", True) else None
    kw = opts(case, "stride", "padding", "output_padding", "dilation")
    return rng, x, w, b, kw


@checker("transposed_forward")
def check_transposed_forward(sb, case):
    _, x, w, b, kw = tconv_inputs(case)
    fwd, out = conv_forward_call(sb, x, w, b, kw, "conv_transpose2d_forward", "transposed")
    (expected,), _ = oracle.conv_transpose2d(x, w, b, **kw)
    hints = conv_hints(x, w, b, kw, transposed=True)
    if kw.get("output_padding", 0) not in (0, (0, 0)):
        hints.append((lambda g: g.shape[2:] != expected.shape[2:],
                      "output_padding adds rows/columns on ONE side (bottom/right) only"))
    hints.append((lambda g: g.shape[2:] != expected.shape[2:],
                  "size is (H-1)*s - 2p + d(k-1) + output_padding + 1: padding CROPS the output"))
    hints.append((lambda g: w.shape[0] != w.shape[1],
                  "weights are (C_in, C_out, KH, KW) for a transposed convolution (axis 0 matches x's channels)"))
    return expect("out", out, expected, hints=hints) + fwd.unchanged("in the forward")


@checker("transposed_backward")
def check_transposed_backward(sb, case):
    rng, x, w, b, kw = tconv_inputs(case)
    fwd, _ = conv_forward_call(sb, x, w, b, kw, "conv_transpose2d_forward", "transposed")
    _, grads, dout = oracle_backward(rng, oracle.conv_transpose2d, x, w, b, **kw)
    problems = fwd.unchanged("in the forward")
    if fwd.cache is None:
        raise Failed(problems + ["conv_transpose2d_forward did not return (out, cache)"])
    return problems + layer_backward(sb, "transposed", fwd, dout, grads, case)


# ---------------------------------------------------------------- upsampling
def simple_layer(sb, case, module, name, oracle_fn, kw, hints_out=(), hints_dx=()):
    rng = rng_for(case)
    x = make_x(rng, case)
    fwd = Call(sb, module, f"{name}_forward", [("x", x)], kw, n_out=2, keep=1)
    out, _ = fwd.outputs(["out", "cache"])
    (e_out,), grads, dout = oracle_backward(rng, oracle_fn, x, **kw)
    problems = expect("out", out, e_out, hints=hints_out) + fwd.unchanged("in the forward")
    if fwd.cache is None:
        raise Failed(problems + [f"{name}_forward did not return (out, cache)"])
    bwd = Call(sb, module, f"{name}_backward", [("dout", dout), ("cache", fwd.cache)], {})
    problems += expect("dx", bwd.value, grads["x"], rtol=RTOL_GRAD, hints=hints_dx)
    return problems + check_backward_inputs(bwd, fwd)


@checker("nearest")
def check_nearest(sb, case):
    return simple_layer(sb, case, "upsample", "nearest_upsample", oracle.nearest_upsample,
                        opts(case, "scale_factor"),
                        hints_dx=[(lambda g: True, "each input pixel was copied to an s x s block, so its gradient "
                                                   "is the SUM of dout over that block")])


@checker("bed_of_nails")
def check_bed_of_nails(sb, case):
    return simple_layer(sb, case, "upsample", "bed_of_nails", oracle.bed_of_nails, opts(case, "scale_factor"),
                        hints_out=[(lambda g: True, "each value goes to the TOP-LEFT of its s x s block")])


@checker("max_unpool")
def check_max_unpool(sb, case):
    rng = rng_for(case)
    x_pre = make_x(rng, case, "pre")
    kw = pool_kwargs(case)
    pooled, idx = oracle.pool_indices(x_pre, **kw)
    if case.get("output_size") == "input":
        kw["output_size"] = tuple(x_pre.shape[2:])
    fwd = Call(sb, "upsample", "max_unpool2d_forward", [("x", pooled), ("indices", idx)],
               kw, n_out=2, keep=1)
    out, _ = fwd.outputs(["out", "cache"])
    (e_out,), grads, dout = oracle_backward(rng, oracle.max_unpool2d, pooled, idx, **kw)
    problems = expect("out", out, e_out, hints=[
        (lambda g: "output_size" in kw and g.shape != e_out.shape, "output_size (H, W) sets the output size"),
        (lambda g: True, "put each value at its flat index (row * W_out + col) of its own (n, c) plane"),
    ]) + fwd.unchanged("in the forward")
    if fwd.cache is None:
        raise Failed(problems + ["max_unpool2d_forward did not return (out, cache)"])
    bwd = Call(sb, "upsample", "max_unpool2d_backward", [("dout", dout), ("cache", fwd.cache)], {})
    problems += expect("dx", bwd.value, grads["x"], rtol=RTOL_GRAD, hints=[
        (lambda g: True, "the backward GATHERS: dx[n, c, i, j] = dout[n, c].flat[indices[n, c, i, j]]"),
    ])
    return problems + check_backward_inputs(bwd, fwd)


# ---------------------------------------------------------------- fcn
@checker("fc_to_conv")
def check_fc_to_conv(sb, case):
    rng = rng_for(case)
    c, h, w = case["input_size"]
    k = case["classes"]
    weight = randn(rng, (k, c * h * w))
    bias = randn(rng, (k,)) if case.get("bias", True) else None
    call = Call(sb, "fcn", "fc_to_conv", [("weight", weight), ("bias", bias)], {"input_size": (c, h, w)})
    got = call.outputs(["w_conv", "b_conv"])
    e_w, e_b = oracle.fc_to_conv(weight, bias, (c, h, w))
    problems = expect("w_conv", got[0], e_w, hints=[
        (lambda g: True, "x.reshape(N, -1) flattens in (C, H, W) order, so weight.reshape(K, C, H, W)"),
    ])
    problems += expect_none("b_conv", got[1], "bias was None") if e_b is None else expect("b_conv", got[1], e_b)
    return problems + call.unchanged("")


def fcn_shapes(c, f1, f2, f3, k):
    """The parameter shapes of the FCN fixed in fcn.py's docstring (in FCN_KEYS order: the seed draws them so)."""
    return {"w1": (f1, c, 3, 3), "b1": (f1,), "w2": (f2, f1, 3, 3), "b2": (f2,),
            "w3": (f2, f3, 4, 4), "b3": (f3,), "w4": (k, f3, 1, 1), "b4": (k,)}


@checker("fcn")
def check_fcn(sb, case):
    rng = rng_for(case)
    x = make_x(rng, case)
    f1, f2, f3, k = case["widths"]
    params = {name: randn(rng, shape) * 0.5 for name, shape in fcn_shapes(x.shape[1], f1, f2, f3, k).items()}
    fwd = Call(sb, "fcn", "fcn_forward", [("x", x), ("params", params)], {}, n_out=2, keep=1)
    scores, _ = fwd.outputs(["scores", "cache"])
    (e_scores,), grads, dout = oracle_backward(rng, oracle.fcn, x, params)
    problems = expect("scores", scores, e_scores) + fwd.unchanged("in the forward")
    if fwd.cache is None:
        raise Failed(problems + ["fcn_forward did not return (scores, cache)"])
    bwd = Call(sb, "fcn", "fcn_backward", [("dscores", dout), ("cache", fwd.cache)], {})
    got = bwd.value
    if not isinstance(got, dict) or set(got) != set(params):
        return problems + [f"fcn_backward must return a dict with keys {sorted(params)}, got "
                           + (f"keys {sorted(got)}" if isinstance(got, dict) else type_name(got))]
    for name in oracle.FCN_KEYS:
        problems += expect(f"grads['{name}']", got[name], grads[name], rtol=RTOL_GRAD)
    return problems + check_backward_inputs(bwd, fwd)


__all__ = ["CHECKERS", "Failed", "Bad"]
