"""The notebook checker: ``from check import check; check("conv_backward")`` in a notebook beside the unpacked
handout, executed headless (nbclient, on an ipykernel of this venv), for a right and a wrong submission; the
HTML it displays (score table, failing cases, the mistake named, a picture of where dx is wrong) and the plain
text ``print()`` gives. Then the renderer itself: everything a submission prints is escaped."""

import base64
import re
import shutil
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.checking.table import load
from autograder.grading import notebook
from autograder.grading.grader import CaseResult, PartResult

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import build_handout  # noqa: E402

from tests.mutants import build as build_mutant  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"
MUTANT = "conv_backward_interior_only"  # dx right inside, zero on the border: NAMED dx_border_zero


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    return build_handout.build(tmp_path_factory.mktemp("dist") / "handout.zip", check_stubs=False)


def unpack(handout, dest, submission):
    with zipfile.ZipFile(handout) as zf:
        zf.extractall(dest)
    folder = Path(dest) / build_handout.TOP
    for f in Path(submission).glob("*.py"):
        if f.name != "common.py":
            shutil.copyfile(f, folder / f.name)
    return folder


def execute(folder, cells):
    """Run a notebook of ``cells`` (code) in ``folder`` on this venv's kernel; {cell index: outputs}."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    nbformat.validate(nb)
    return {i: c.outputs for i, c in enumerate(nb.cells)}


def display(outputs, mime):
    return "".join(o.get("data", {}).get(mime, "") for o in outputs if o.output_type in ("execute_result",
                                                                                          "display_data"))


def printed(outputs):
    return "".join(o.get("text", "") for o in outputs if o.output_type == "stream" and o.name == "stdout")


CELLS = [
    "from check import check",
    "result = check({parts})\nresult",
    "print(result)",
    "import conv, sys\nprint(conv.__file__)\nprint(f\"{result.score:g} {result.total:g}\")",
    "check({parts})",
]


def png_size(data):
    """(width, height) of a base64 PNG, from its header."""
    raw = base64.b64decode(data)
    return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")


def test_notebook_on_a_wrong_submission(handout, tmp_path):
    folder = unpack(handout, tmp_path, build_mutant(MUTANT, tmp_path / "mutant"))
    out = execute(folder, [c.replace("{parts}", '"conv_backward"') for c in CELLS])
    html = display(out[1], "text/html")
    part = load().part("conv_backward")
    # the score table: the part, its score, FAIL, the first problem names the mistake
    assert re.search(rf"<td>{re.escape(part.number)}</td><td>{part.title}</td><td class=\"num\">0/{part.weight:g}"
                     r"</td><td class=\"fail\">FAIL</td><td>(every case|cases? [\d, -]+): the border of dx left at zero"
                     "</td>", html), html
    # the failing cases: configuration, comparison table, the named mistake (bold label), where dx is wrong
    assert "case 1: x (2, 3, 5, 5), w (4, 3, 3, 3), stride=1, padding=1: " in html
    assert "<th>max abs error</th>" in html and "<td>dx</td><td>(2, 3, 5, 5)</td>" in html
    # the verdict first: the mistake with the cases it explains, before any case
    verdict = html.index('<ul class="verdict">')
    assert html.index("<b>likely mistake: the border of dx left at zero</b> [dx_border_zero]:") > verdict
    assert verdict < html.index('<div class="case">')
    assert "dx: wrong in a 1-pixel border of every channel, where it is 0" in html
    # the picture of the case in full: got, expected and their difference side by side, its alt text the same words
    images = re.findall(r'<img alt="([^"]*)" title="[^"]*" src="data:image/png;base64,([^"]+)">', html)
    assert images and images[0][0] == "dx: wrong in a 1-pixel border of every channel"
    assert all(base64.b64decode(data)[:8] == PNG for _, data in images)
    assert len(images) <= notebook.PICTURES_PER_PART
    width, height = png_size(images[0][1])
    assert width > 2 * height, (width, height)  # three panels in a row
    # the same object as plain text (what `python check.py conv_backward` prints), and no HTML there
    text = printed(out[2])
    assert re.search(rf"{re.escape(part.number)} .*conv2d_backward .*0/{part.weight:g} .*FAIL", text), text
    assert "likely mistake: the border of dx left at zero [dx_border_zero]" in text
    assert f"0 / {part.weight:g} points on the visible cases" in text and "<" not in text
    # the student's own modules still import from the notebook's folder afterwards
    lines = printed(out[3]).split("\n")
    assert Path(lines[0]) == folder / "conv.py" and lines[1] == f"0 {part.weight:g}"
    # the banners once per kernel: what hidden cases show (and any warning) with the first check() only
    again = display(out[4], "text/html")
    assert "for those it shows their shapes" in html and "for those it shows their shapes" not in again
    assert "warning:" not in again and "isolation reduced" not in again
    words = " ".join(text.split())  # print() wraps at the kernel's width
    assert html.count("for those it shows their shapes") == 1 and words.count("for those it shows") == 1
    if sys.version_info[:2] != (3, 10):
        assert "warning: this is Python" in html and "warning: this is Python" in words

def test_notebook_on_a_right_submission(handout, tmp_path):
    folder = unpack(handout, tmp_path, ROOT / "solutions")
    out = execute(folder, [c.replace("{parts}", '"conv_backward", "2.1"') for c in CELLS[:4]])
    html = display(out[1], "text/html")
    table = load().visible_only().select(["conv_backward", "max_pool"])
    for p in table.parts:
        assert re.search(rf"<td>{re.escape(p.number)}</td><td>{re.escape(p.title)}</td><td class=\"num\">"
                         rf"{p.weight:g}/{p.weight:g}</td><td class=\"pass\">pass</td>", html), p.id
    assert f"<b>{table.total:g}/{table.total:g}</b>" in html
    assert "FAIL" not in html and "<img" not in html and "likely mistake" not in html
    assert f"{table.total:g} / {table.total:g} points on the visible cases" in html
    assert "FAIL" not in printed(out[2]) and f"{table.total:g}/{table.total:g}" in printed(out[2])
    assert printed(out[3]).split("\n")[1] == f"{table.total:g} {table.total:g}"


def test_check_in_a_notebook_names_an_unknown_part(handout, tmp_path):
    folder = unpack(handout, tmp_path, ROOT / "assignment")
    out = execute(folder, ["from check import check\ncheck('no_such_part')"])
    html = display(out[0], "text/html")
    assert "check.py: unknown part(s): no_such_part. Known: conv_forward" in html


# ----------------------------------------------------------------- the renderer
def fabricated():
    """A failing part whose case carries text a submission chose: printed output, a label, a comparison row."""
    part = load().part("conv_forward")
    mask = __import__("numpy").zeros((1, 2, 4, 4), dtype=bool)
    mask[:, :, -1, :] = True
    case = CaseResult(index=1, hidden=False, passed=False, label="x (1, 2, 4, 4)", lines=["out: <i>wrong</i>"],
                      rows=[{"value": "out", "got": "<svg onload=x>", "expected": "(1, 2, 4, 4)", "abs": "1",
                             "rel": "1", "first": "(0, 0, 3, 0)"}],
                      printed=[("conv2d_forward", "<script>alert(1)</script>\n**bold**")], wrong={"out": mask})
    hidden = CaseResult(index=2, hidden=True, passed=False, label="x (2, 2, 5, 5)", lines=["secret values"],
                        wrong={"out": mask})
    result = PartResult(part, [case, hidden], 0.1)
    data = {"score": 0.0, "tests": [{"name": f"{part.number} {part.title}", "number": part.number, "score": 0.0,
                                     "max_score": part.weight, "status": "failed"}]}
    return data, {part.id: result}


def test_html_escapes_everything_a_submission_chose():
    data, parts = fabricated()
    html = notebook.render(data, parts, load(), header=["warning: <b>"], footer=["a & b"])
    assert "<script>" not in html and "<svg" not in html and "<i>wrong" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;svg onload=x&gt;" in html
    assert "warning: &lt;b&gt;" in html and "a &amp; b" in html
    assert "your code printed (conv2d_forward):" in html


def test_pictures_only_for_visible_cases():
    data, parts = fabricated()
    html = notebook.render(data, parts, load())
    assert html.count("<img") == 1  # case 1; the hidden case 2 has a mask but is never drawn
    assert 'alt="out: wrong in the last row of every channel"' in html
    assert "secret values" not in html  # a hidden case shows what hidden_feedback allows, never its lines


def picture_case(**fields):
    part = load().part("conv_forward")
    case = CaseResult(index=1, hidden=False, passed=False, label="x (1, 1, 4, 4)", kind="wrong", lines=["out: wrong"],
                      **fields)
    data = {"score": 0.0, "tests": [{"name": f"{part.number} {part.title}", "number": part.number, "score": 0.0,
                                     "max_score": part.weight, "status": "failed"}]}
    return notebook.render(data, {part.id: PartResult(part, [case], 0.1)}, load())


def row(got, expected):
    return {"value": "out", "got": got, "expected": expected, "abs": "1", "rel": "1", "first": "(0, 0, 3, 0)"}


def test_a_small_wrong_value_is_drawn_as_got_expected_and_their_difference():
    import numpy as np

    expected = np.arange(16, dtype=float).reshape(1, 1, 4, 4)
    got = expected.copy()
    got[..., -1, :] += 1.0  # the last row off by one
    mask = got != expected
    html = picture_case(rows=[row("(1, 1, 4, 4)", "(1, 1, 4, 4)")], wrong={"out": mask},
                        arrays={"out": (got, expected)})
    images = re.findall(r'<img alt="([^"]*)" title="[^"]*" src="data:image/png;base64,([^"]+)">', html)
    assert [alt for alt, _ in images] == ["out: wrong in the last row of every channel"]
    width, height = png_size(images[0][1])
    assert width > 2 * height  # got, expected, difference side by side


def test_no_picture_where_every_value_is_wrong_or_one_is_but_words():
    import numpy as np

    everywhere = np.ones((1, 1, 4, 4), dtype=bool)
    html = picture_case(rows=[row("(1, 1, 4, 4)", "(1, 1, 4, 4)")], wrong={"out": everywhere})
    assert "<img" not in html and "no picture of out: every one of its 16 values is wrong" in html
    one = np.zeros((1, 1, 4, 4), dtype=bool)
    one[0, 0, 1, 2] = True  # the first wrong index says it all
    html = picture_case(rows=[row("(1, 1, 4, 4)", "(1, 1, 4, 4)")], wrong={"out": one})
    assert "<img" not in html and "no picture" not in html


def test_a_wrong_shape_is_drawn_as_two_boxes():
    html = picture_case(rows=[row("(2, 3, 4, 6)", "(2, 3, 5, 5)")])
    images = re.findall(r'<img alt="([^"]*)" title="[^"]*" src="data:image/png;base64,([^"]+)">', html)
    assert [alt for alt, _ in images] == ["out: wrong shape (2, 3, 4, 6), expected (2, 3, 5, 5)"]
    assert base64.b64decode(images[0][1])[:8] == PNG
