"""Comparison and feedback text: strict, NaN-safe, and safe to show."""

import numpy as np

from autograder.checking.compare import compare_array, decode, sanitize


def test_match_and_tolerance():
    e = np.linspace(-1, 1, 12).reshape(3, 4)
    assert compare_array("out", e.copy(), e) is None
    assert compare_array("out", e * (1 + 1e-9), e) is None
    assert compare_array("out", e + 1e-3, e)[0].startswith("out: 12 of 12 values wrong")


def test_type_shape_dtype_in_that_order():
    e = np.zeros((2, 3))
    assert "expected a numpy array" in compare_array("out", [[0, 0, 0]] * 2, e)[0]
    assert "wrong shape (3, 2)" in compare_array("out", np.zeros((3, 2)), e)[0]
    assert "float32" in compare_array("out", np.zeros((2, 3), np.float32), e)[0]


def test_no_broadcasting():
    e = np.ones((1, 2, 3, 3))
    assert compare_array("out", np.ones((2, 3, 3)), e) is not None
    assert compare_array("out", np.ones((1, 1, 3, 3)), e) is not None


def test_nan_never_matches_a_number_and_is_reported():
    e = np.ones((2, 2))
    got = e.copy()
    got[1, 0] = np.nan
    lines = compare_array("dx", got, e)
    assert "first at index (1, 0)" in lines[0] and "NaN" in lines[1]
    assert compare_array("dx", np.full((2, 2), np.inf), e) is not None


def test_axis_order_hint_only_where_the_shapes_say_so():
    e = np.zeros((1, 2, 4, 5))
    assert "axis order" in "\n".join(compare_array("out", np.zeros((2, 1, 4, 5)), e))
    # a wrong H or W is the case geometry's business (sizes.py, mistakes.py), not a guess from shapes
    assert not [line for line in compare_array("out", np.zeros((1, 2, 5, 5)), e) if "hint" in line]
    assert not [line for line in compare_array("out", np.zeros((1, 2, 5, 4)), e) if "hint" in line]


def test_integer_indices_compare_exactly():
    e = np.array([[0, 5]], dtype=np.int64)
    assert compare_array("indices", e.copy(), e, integer=True) is None
    assert compare_array("indices", np.array([[0, 4]], dtype=np.int64), e, integer=True) is not None
    assert "int64" in compare_array("indices", e.astype(np.int32), e, integer=True)[0]


def test_sanitize_strips_escapes_and_caps():
    text = "ok\x1b[2J\x1b]0;title\x07\x00bell\ud800 end" + "x" * 5000
    clean = sanitize(text, limit=100)
    assert "\x1b" not in clean and "\x00" not in clean and "\ud800" not in clean
    assert clean.startswith("ok") and "more characters cut" in clean


def test_sanitize_survives_raising_str():
    class Evil:
        def __str__(self):
            raise RuntimeError("boom")

    assert sanitize(Evil()) == "<unprintable>"


def test_decode_never_trusts_unknown_kinds():
    assert repr(decode({"kind": "pickle", "type": "evil"}, [])) == "evil"
    assert decode({"kind": "tuple", "items": [{"kind": "none"}, {"kind": "array", "index": 0}]},
                  [np.ones(2)])[0] is None
