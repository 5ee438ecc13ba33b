"""Where the wrong values are (autograder/checking/regions.py): said by position only, in the words of the
value's layout, and telling whether it points somewhere (then it replaces general advice)."""

import numpy as np
import pytest

from autograder.checking.regions import describe, layout_of


def mask(shape, *where):
    bad = np.zeros(shape, dtype=bool)
    for index in where:
        bad[index] = True
    return bad


def line(bad, got=None, layout="image", name="dx"):
    region = describe(bad, np.ones(bad.shape) if got is None else got, layout)
    return region.line(name), region.specific


@pytest.mark.parametrize("bad, expected", [
    (mask((2, 3, 7, 6), (slice(None), slice(None), slice(5, 7))), "dx: wrong in the last 2 rows of every channel"),
    (mask((2, 3, 7, 6), (..., 0), (..., -1), (..., 0, slice(None)), (..., -1, slice(None))),
     "dx: wrong in a 1-pixel border of every channel"),
    (mask((2, 3, 7, 6), (..., 2)), "dx: wrong in column 2 of every channel"),
    (mask((2, 3, 7, 6), (1,)), "dx: wrong in every pixel of the last sample"),
    (mask((2, 3, 7, 6), (slice(None), 1, slice(2, 4), slice(1, 3))),
     "dx: wrong in the 2 x 2 block of rows 2-3, columns 1-2 of channel 1 of every sample"),
    (mask((1, 2, 7, 6), (..., slice(None, None, 2), slice(None, None, 2))),
     "dx: wrong in every pixel that is in rows 0, 2, 4, 6 and in columns 0, 2, 4 of every channel"),
    (mask((1, 1, 9, 9), (..., 0, 3), (..., 8, 4)), "dx: wrong in 2 pixels on the 1-pixel border of every channel"),
    (mask((4,), (2,)), "dx: wrong in element 2"),
])
def test_phrases(bad, expected):
    text, specific = line(bad)
    assert text == expected and specific


def test_everywhere_and_scattered_say_no_place():
    assert line(np.ones((2, 3, 4, 4), dtype=bool)) == ("dx: wrong in every value", False)
    scattered = np.random.default_rng(0).random((1, 1, 8, 10)) < 0.6
    text, specific = line(scattered)
    assert text == f"dx: wrong in {int(scattered.sum())} of the 80 pixels of every channel" and not specific


def test_zeros_are_said_and_values_never():
    bad = mask((1, 1, 4, 4), (..., -1, slice(None)))
    got = np.full((1, 1, 4, 4), 0.123456)
    got[bad] = 0
    text, _ = line(bad, got)
    assert text == "dx: wrong in the last row of every channel, where it is 0" and "0.12" not in text
    assert describe(np.zeros((2, 2), dtype=bool), got[0, 0, :2, :2]) is None


def test_each_layout_speaks_its_own_words():
    assert layout_of("dw", 4) == "weight" and layout_of("grads['w3']", 4) == "weight"
    assert layout_of("grads['b3']", 1) == "matrix" and layout_of("out", 4) == "image" and layout_of("T", 2) == "matrix"
    weight = mask((4, 3, 3, 3), (slice(None), slice(None), -1))
    assert line(weight, layout="weight", name="dw")[0] == "dw: wrong in the last kernel row of every filter"
    cols = mask((2, 8, 9), (slice(None), slice(1, 7)))
    assert line(cols, layout="matrix", name="cols")[0] == "cols: wrong in rows 1-6 of every sample"
    uneven = mask((2, 3, 4, 4), (0, 0, 0, 0), (1, 2, 3, 3))
    # other places in each plane: a count
    assert line(uneven)[0] == "dx: wrong in 2 of the 96 values, in 2 of the 6 (sample, channel) planes"
