"""Provided helpers for the convolution assignment.

This file is given to you and is NOT submitted: the autograder always uses its
own copy, so changes you make here are lost when you are graded.

Sizes follow torch.nn.functional (floor division, ``ceil_mode=False``):

    conv / pool:  out = (size + 2*padding - dilation*(kernel - 1) - 1) // stride + 1
    transposed:   out = (size - 1)*stride - 2*padding + dilation*(kernel - 1)
                        + output_padding + 1
"""

import numpy as np


def pair(value, name="value"):
    """Turn an int or an (h, w) pair into a tuple of two ints, like torch does.

    Inputs:
    - value: int, or a tuple/list of two ints
    - name: used in the error message
    Returns: (h, w) tuple of Python ints
    """
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (h, w), got {value!r}")
        return int(value[0]), int(value[1])
    return int(value), int(value)


def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):
    """Output length along one axis of a convolution or pooling window."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv_transpose_output_size(size, kernel, stride=1, padding=0, output_padding=0, dilation=1):
    """Output length along one axis of a transposed convolution."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def rel_error(a, b):
    """Largest relative error between two arrays (for your own checks)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def numerical_gradient(f, x, dout, h=1e-5):
    """Centered-difference gradient of sum(f(x) * dout) with respect to x.

    Inputs:
    - f: function of one array returning an array (e.g. lambda x: conv2d_forward(x, w)[0])
    - x: float64 array; temporarily changed in place, restored before returning
    - dout: upstream gradient, same shape as f(x)
    Returns: array of the shape of x
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        pos = np.sum(f(x) * dout)
        x[i] = old - h
        neg = np.sum(f(x) * dout)
        x[i] = old
        grad[i] = (pos - neg) / (2 * h)
        it.iternext()
    return grad
