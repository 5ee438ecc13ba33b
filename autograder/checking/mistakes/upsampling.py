"""Known mistakes of upsampling, unpooling and the FCN."""

import numpy as np

from ..sizes import geometry
from .catalogue import arr, close, mistake, oracle, spatial, wrong_size


# ----------------------------------------------------------------- upsampling, FCN
@mistake("nearest_tiles", ["out"], "the image tiled, not each pixel",
         "your output repeats the WHOLE image (np.tile); nearest upsampling repeats each PIXEL into an sh x sw "
         "block, out[..., i, j] = x[..., i // sh, j // sw] (np.repeat along H, then along W)")
def _nearest_tiles(run, value, got):
    sh, sw = geometry(run).stride
    return close(got, np.tile(run.inputs["x"], (1, 1, sh, sw)))


@mistake("nearest_backward_one", ["dx"], "one element of each block, not the sum",
         "dx takes ONE element of each sh x sw block of dout; each input pixel was copied to the whole block, so "
         "its gradient is the SUM of dout over the block")
def _nearest_backward_one(run, value, got):
    sh, sw = geometry(run).stride
    return any(close(got, run.dout[:, :, a::sh, b::sw]) for a in range(sh) for b in range(sw))


@mistake("nails_not_top_left", ["out"], "the nail not at the top-left",
         "your values sit at another position of their sh x sw block; bed of nails puts each value at the "
         "TOP-LEFT of its block, out[..., i * sh, j * sw] = x[..., i, j], and zeros elsewhere")
def _nails_not_top_left(run, value, got):
    x = run.inputs["x"]
    sh, sw = geometry(run).stride
    for a in range(sh):
        for b in range(sw):
            if (a, b) != (0, 0):
                ref = np.zeros_like(run.expected[value])
                ref[:, :, a::sh, b::sw] = x
                if close(got, ref):
                    return True
    return False


@mistake("unpool_output_size", ["out"], "output_size ignored",
         "your output has the default size; when output_size (Ho, Wo) is given it sets the output size")
def _unpool_output_size(run, value, got):
    g = geometry(run)
    if g.output_size is None or not wrong_size(got, run.expected[value]):
        return False
    return spatial(got) == tuple((g.size[a] - 1) * g.stride[a] - 2 * g.padding[a] + g.kernel[a] for a in range(2))


@mistake("unpool_scatter", ["dx"], "the backward scatters instead of gathering",
         "dx is wrong exactly where several inputs share one index (overlapping pools, ties): the backward "
         "GATHERS, dx[n, c, h, w] = dout[n, c].flat[indices[n, c, h, w]], so every input reads its own index")
def _unpool_scatter(run, value, got):
    e, idx = run.expected[value], run.inputs["indices"]
    if not (arr(got) and got.shape == e.shape):
        return False
    planes = idx.shape[0] * idx.shape[1]
    flat = idx.reshape(planes, -1)
    shared = np.array([np.bincount(f, minlength=int(f.max()) + 1)[f] >= 2 for f in flat])
    bad = ~np.isclose(got, e, rtol=1e-6, atol=1e-7).reshape(planes, -1)
    return bool(bad.any() and shared[bad].all())


@mistake("fc_reshape_order", ["w_conv"], "weights reshaped channels-last",
         "x.reshape(N, -1) of an NCHW input flattens in (C, H, W) order, so each row of weight reshapes to "
         "(C, H, W): w_conv = weight.reshape(K, C, H, W), not (K, H, W, C)")
def _fc_reshape_order(run, value, got):
    weight = run.inputs["weight"]
    c, h, w = (int(v) for v in run.options["input_size"])
    return close(got, weight.reshape(-1, h, w, c).transpose(0, 3, 1, 2))


def fcn_grads_without_mask(run, layer):
    """The FCN's gradients (by the grads' value names) when the ReLU after ``layer`` passes its gradient through
    unmasked in the backward (its forward unchanged)."""
    o = oracle()
    F = o.F
    x, params = run.inputs["x"], run.inputs["params"]
    h, w = x.shape[2], x.shape[3]

    def net(x, **p):
        for i, (kind, wk, bk, k, kw) in enumerate(o.FCN_LAYERS):
            if kind == "pool":
                x = F.max_pool2d(x, k, **kw)
                continue
            if kind == "tconv":
                x = F.conv_transpose2d(x, p[wk], p[bk], output_padding=(h % 2, w % 2), **kw)
            else:
                x = F.conv2d(x, p[wk], p[bk], **kw)
            if i < len(o.FCN_LAYERS) - 1:
                x = x + (F.relu(x) - x).detach() if i == layer else F.relu(x)
        return x

    _, grads = o._run(net, {"x": x, **params}, run.dout)
    return {f"grads['{k}']": grads[k] for k in params}


@mistake("relu_mask_missing", ["grad"], "a ReLU's mask left out of the backward",
         "these gradients are what the network gives when one ReLU passes its gradient back unmasked: the backward "
         "of out = max(a, 0) is dout * (a > 0), so multiply the gradient by that mask before the layer below "
         "(the right gradients beside the wrong ones say which layer: the first wrong one is just below it)")
def _relu_mask_missing(run, value, got):
    from .. import oracle as module

    layers = [i for i, layer in enumerate(module.FCN_LAYERS[:-1]) if layer[0] != "pool"]
    for layer in layers:
        grads = run.memo(("relu_mask_missing", layer), lambda: fcn_grads_without_mask(run, layer))
        if close(got, grads.get(value)):
            return True
    return False
