"""A file whose syntax Gradescope's Python (3.10) lacks fails its parts in every Python, with the same message:
the line and what to write instead (autograder/intake/static.py). This file runs under 3.10 too (make test)."""

import pytest

from autograder.intake.static import check_source

NEWER = [
    ("try:\n    f()\nexcept* ValueError:\n    pass\n", 3, "use a plain except", "except* ValueError:"),
    ("import numpy as np\n\n\nx = np.zeros(3)[*[0]]\n", 4, "index with a tuple", "x = np.zeros(3)[*[0]]"),
    ("type Shape = tuple\n", 1, "use a plain assignment", "type Shape = tuple"),
    ("def first[T](xs):\n    return xs[0]\n", 1, "drop the [T] after the name", "def first[T](xs):"),
]


@pytest.mark.parametrize("source, line, advice, text", NEWER, ids=["except*", "starred index", "type", "generic"])
def test_syntax_newer_than_gradescopes_python_names_the_line_and_what_to_change(tmp_path, source, line, advice, text):
    file = tmp_path / "conv.py"
    file.write_text(source)
    message = check_source(file, "conv")
    assert message.startswith(f"conv.py line {line} needs a Python newer than 3.10, and Gradescope runs your code "
                              "with Python 3.10"), message
    assert advice in message and message.endswith(f"\n    {text}"), message


@pytest.mark.parametrize("source", [
    "match x:\n    case 1:\n        pass\n",  # 3.10 has match
    "x = a[(*idx,)]\ny = a[i * 2, j]\nz = f(a, *b)\n",  # a parenthesised starred tuple, products, calls
    "with (open('a') as f, open('b') as g):\n    pass\n",
])
def test_python_310_syntax_passes(tmp_path, source):
    file = tmp_path / "conv.py"
    file.write_text(source)
    assert check_source(file, "conv") is None


def test_a_plain_syntax_error_stays_one(tmp_path):
    file = tmp_path / "conv.py"
    file.write_text("def f(:\n    pass\n")
    assert check_source(file, "conv").startswith("conv.py has a syntax error on line 1")
