"""The oracle: torch (float64) computes every expected value, live.

Each function takes numpy inputs (the grader's private copies) and returns
numpy outputs; ``grads`` gives autograd gradients for a given upstream
gradient. No reference solution is involved anywhere.
"""

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)


def tensor(a, grad=False):
    if a is None:
        return None
    t = torch.from_numpy(np.array(a, copy=True))
    return t.requires_grad_(grad) if grad and t.dtype.is_floating_point else t


def _run(fn, inputs, dout=None):
    """Apply fn to tensors of ``inputs`` (name -> array or None); optional backward.

    ``dout``: the upstream gradient (an array, or a list for several outputs), or a function that makes
    it from the outputs (numpy arrays): forward and backward in one run when its shape is not known yet.
    Returns (outputs as a list of numpy arrays, {name: gradient or None}).
    """
    ts = {k: tensor(v, grad=dout is not None) for k, v in inputs.items()}
    out = fn(**ts)
    outs = list(out) if isinstance(out, tuple) else [out]
    results = [o.detach().numpy().copy() for o in outs]
    grads = {}
    if dout is not None:
        if callable(dout):
            dout = dout(results)
        dts = [tensor(d) for d in (dout if isinstance(dout, list) else [dout])]
        floats = [o for o in outs if o.dtype.is_floating_point][: len(dts)]
        if [tuple(o.shape) for o in floats] != [tuple(d.shape) for d in dts]:
            raise ValueError("upstream gradients do not match the outputs")
        # backward() of the scalar sum(out * dout) hands exactly dout to out's grad_fn (1.0 * dout), like
        # backward(out, dout) does, without the latter's shape check that imports sympy (~1 s, ~35 MB).
        sum((o * d).sum() for o, d in zip(floats, dts)).backward()
        grads = {k: (t.grad.numpy().copy() if t is not None and t.grad is not None else
                     (None if t is None else np.zeros_like(inputs[k])))
                 for k, t in ts.items()}
    return results, grads


def plain(fn):
    """An oracle without gradients in the layer checker's shape: (outputs as a list, {})."""

    def run(*args, dout=None, **kw):
        out = fn(*args, **kw)
        return (list(out) if isinstance(out, tuple) else [out]), {}

    run.__name__ = fn.__name__
    run.raw = fn
    return run


def conv2d(x, w, b=None, dout=None, **kw):
    return _run(lambda x, w, b: F.conv2d(x, w, b, **kw), {"x": x, "w": w, "b": b}, dout)


def conv_transpose2d(x, w, b=None, dout=None, **kw):
    return _run(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw), {"x": x, "w": w, "b": b}, dout)


def max_pool2d(x, dout=None, kernel_size=1, stride=None, padding=0):
    return _run(lambda x: F.max_pool2d(x, kernel_size, stride=stride, padding=padding, return_indices=True),
                {"x": x}, dout)


def avg_pool2d(x, dout=None, kernel_size=1, stride=None, padding=0, count_include_pad=True):
    """count_include_pad=True is the contract; False is what a known mistake computes (mistakes.py)."""
    return _run(lambda x: F.avg_pool2d(x, kernel_size, stride=stride, padding=padding,
                                       count_include_pad=count_include_pad), {"x": x}, dout)


def nearest_upsample(x, dout=None, scale_factor=1):
    s = tuple(float(v) for v in pair(scale_factor))
    return _run(lambda x: F.interpolate(x, scale_factor=s, mode="nearest"), {"x": x}, dout)


def bed_of_nails(x, dout=None, scale_factor=1):
    sh, sw = pair(scale_factor)

    def fn(x):
        n, c, h, w = x.shape
        out = torch.zeros((n, c, h * sh, w * sw), dtype=x.dtype)
        out[:, :, ::sh, ::sw] = x
        return out

    return _run(fn, {"x": x}, dout)


def max_unpool2d(x, indices, dout=None, kernel_size=1, stride=None, padding=0, output_size=None):
    idx = tensor(indices)
    size = unpool_size(x.shape, kernel_size, stride, padding, output_size)
    return _run(lambda x: torch._C._nn.max_unpool2d(x, idx, size), {"x": x}, dout)


def unpool_size(shape, kernel_size, stride=None, padding=0, output_size=None):
    """F.max_unpool2d's output size and its checks, without the call to torch._check_value there,
    which imports sympy (~1 s, ~35 MB); F.max_unpool2d then calls the same torch._C._nn op."""
    k, p = pair(kernel_size), pair(padding)
    s = k if stride is None else pair(stride)
    default = [(shape[2 + d] - 1) * s[d] + k[d] - 2 * p[d] for d in range(2)]
    if output_size is None:
        return default
    size = [int(v) for v in output_size][-2:] if len(output_size) == 4 else [int(v) for v in output_size]
    if len(size) != 2:
        raise ValueError(f"output_size should be a sequence containing 2 or 4 elements, got {output_size}")
    for d in range(2):
        if not default[d] - s[d] < size[d] < default[d] + s[d] or size[d] < 0:
            raise ValueError(f'invalid output_size "{list(output_size)}" (dim {d} must be between '
                             f"{default[d] - s[d]} and {default[d] + s[d]})")
    return size


def pool_indices(x, kernel_size, stride=None, padding=0):
    """Pooled values and flat indices from torch's max pool (for unpooling cases)."""
    out, idx = F.max_pool2d(tensor(x), kernel_size, stride=stride, padding=padding, return_indices=True)
    return out.numpy().copy(), idx.numpy().copy()


@plain
def dilate_kernel(w, dilation):
    dh, dw = pair(dilation)
    f, c, kh, kw = w.shape
    out = torch.zeros((f, c, dh * (kh - 1) + 1, dw * (kw - 1) + 1), dtype=torch.float64)
    out[:, :, ::dh, ::dw] = tensor(w)
    return out.numpy()


def receptive_field(kernel_sizes, strides=None, dilations=None):
    """Receptive field after each layer, measured by autograd on a 1-D conv stack:
    the span of input pixels with a non-zero gradient for one output unit."""
    n = len(kernel_sizes)
    strides = strides or [1] * n
    dilations = dilations or [1] * n
    need = 1
    for k, s, d in zip(kernel_sizes, strides, dilations):
        need = need * s + (k - 1) * d + s
    result = []
    for layers in range(1, n + 1):
        x = torch.ones((1, 1, 4 * need + 8), dtype=torch.float64, requires_grad=True)
        h = x
        for k, s, d in list(zip(kernel_sizes, strides, dilations))[:layers]:
            h = F.conv1d(h, torch.ones((1, 1, k), dtype=torch.float64), stride=s, dilation=d)
        h[0, 0, h.shape[-1] // 2].backward()
        nz = torch.nonzero(x.grad[0, 0]).flatten()
        result.append(int(nz.max() - nz.min() + 1))
    return result


@plain
def conv2d_toeplitz(w, input_size, stride=1, padding=0, dilation=1):
    """T such that T @ x.ravel() == conv2d(x, w).ravel(): conv2d of every basis image."""
    c, h, wd = input_size
    eye = torch.eye(c * h * wd, dtype=torch.float64).reshape(c * h * wd, c, h, wd)
    out = F.conv2d(eye, tensor(w), stride=stride, padding=padding, dilation=dilation)
    return out.reshape(c * h * wd, -1).T.contiguous().numpy()


@plain
def im2col(x, kernel_size, stride=1, padding=0, dilation=1):
    return F.unfold(tensor(x), kernel_size, dilation=dilation, padding=padding, stride=stride).numpy()


@plain
def col2im(cols, output_size, kernel_size, stride=1, padding=0, dilation=1):
    return F.fold(tensor(cols), output_size, kernel_size, dilation=dilation, padding=padding,
                  stride=stride).numpy()


@plain
def fc_to_conv(weight, bias, input_size):
    c, h, w = input_size
    wc = tensor(weight).reshape(weight.shape[0], c, h, w).numpy().copy()
    return wc, (None if bias is None else np.array(bias, copy=True))


# The FCN of fcn.py's docstring, the one description the oracle's network and the grader's parameter
# shapes come from: (kind, weight, bias, kernel size, keyword arguments) per layer, relu after all but
# the last. Widths (F1, F2, F3, K) come from the case; kind "tconv" weights are (C_in, C_out, KH, KW).
FCN_LAYERS = (
    ("conv", "w1", "b1", 3, {"padding": 1}),
    ("pool", None, None, 2, {"stride": 2}),
    ("conv", "w2", "b2", 3, {"padding": 1}),
    ("tconv", "w3", "b3", 4, {"stride": 2, "padding": 1}),  # output_padding (H % 2, W % 2): back to H x W
    ("conv", "w4", "b4", 1, {}),
)
FCN_KEYS = tuple(k for layer in FCN_LAYERS for k in layer[1:3] if k)


def fcn_shapes(channels, widths):
    """{key: shape} of the FCN's parameters for ``channels`` input channels and ``widths`` (F1, F2, F3, K),
    in FCN_KEYS order."""
    shapes, c, widths = {}, channels, list(widths)
    for kind, w, b, k, _ in FCN_LAYERS:
        if kind == "pool":
            continue
        f = widths.pop(0)
        shapes[w] = (c, f, k, k) if kind == "tconv" else (f, c, k, k)
        shapes[b] = (f,)
        c = f
    return shapes


def fcn(x, params, dout=None):
    """The FCN of FCN_LAYERS, in torch."""
    h, w = x.shape[2], x.shape[3]

    def net(x, **p):
        for i, (kind, wk, bk, k, kw) in enumerate(FCN_LAYERS):
            if kind == "pool":
                x = F.max_pool2d(x, k, **kw)
                continue
            if kind == "tconv":
                x = F.conv_transpose2d(x, p[wk], p[bk], output_padding=(h % 2, w % 2), **kw)
            else:
                x = F.conv2d(x, p[wk], p[bk], **kw)
            if i < len(FCN_LAYERS) - 1:
                x = F.relu(x)
        return x

    return _run(net, {"x": x, **params}, dout)


def pair(v):
    if isinstance(v, (tuple, list)):
        return int(v[0]), int(v[1])
    return int(v), int(v)
