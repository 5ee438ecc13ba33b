"""The autograder end to end on real submissions: reference, stubs, broken files, buggy code."""

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from autograder.checking.table import MODULES, load
from autograder.grading.results import validate
from autograder.run import grade

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"


def submission(tmp_path, name="sub", patches=None, replace=None):
    """A copy of the reference solutions; ``patches`` appends code to a module,
    ``replace`` substitutes a module's whole source."""
    folder = tmp_path / name
    folder.mkdir()
    for m in MODULES:
        shutil.copy(SOLUTIONS / f"{m}.py", folder / f"{m}.py")
    for m, code in (patches or {}).items():
        with open(folder / f"{m}.py", "a") as f:
            f.write("\n\n" + code)
    for m, code in (replace or {}).items():
        if code is None:
            (folder / f"{m}.py").unlink()
        else:
            (folder / f"{m}.py").write_text(code)
    return folder


def scores(outcome):
    return {t["number"]: t["score"] for t in outcome.data["tests"]}


def full(table=None):
    return {p.number: p.weight for p in (table or load()).parts}


def lost_parts(outcome):
    table = load()
    got = scores(outcome)
    return {p.id for p in table.parts if got[p.number] < p.weight}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    results = tmp_path_factory.mktemp("ref") / "results.json"
    return grade(SOLUTIONS, results_path=results), results


def test_reference_scores_full_marks(reference):
    outcome, path = reference
    failing = [t["output"] for t in outcome.data["tests"] if t["status"] != "passed"]
    assert outcome.data["score"] == pytest.approx(load().total), failing
    assert scores(outcome) == full()
    on_disk = json.loads(path.read_text())
    validate(on_disk, load())
    assert on_disk["score"] == outcome.data["score"]
    for key in ("execution_time", "output", "visibility", "stdout_visibility"):
        assert key in on_disk


def test_every_part_once_in_table_order(reference):
    outcome, _ = reference
    assert [t["number"] for t in outcome.data["tests"]] == [p.number for p in load().parts], \
        "results.json's tests are not the parts of cases.yaml, in order"


def test_stubs_score_zero_with_clear_messages(tmp_path):
    outcome = grade(ROOT / "assignment", results_path=tmp_path / "r.json")
    assert outcome.data["score"] == 0
    assert len(outcome.data["tests"]) == len(load().parts)
    for t in outcome.data["tests"]:
        assert t["status"] == "failed"
        assert "not implemented yet" in t["output"], t["output"]
        assert "Traceback" not in t["output"]


def test_grading_twice_gives_identical_scores(tmp_path, reference):
    buggy = submission(tmp_path, patches={"conv": DB_MEAN})
    a = grade(buggy)
    b = grade(buggy)
    assert scores(a) == scores(b)


DB_MEAN = '''
_orig_backward = conv2d_backward
def conv2d_backward(dout, cache):
    dx, dw, db = _orig_backward(dout, cache)
    return dx, dw, (None if db is None else db / dout.shape[0])
'''

FLIPPED = '''
_orig_forward = conv2d_forward
def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1):
    return _orig_forward(x, w[:, :, ::-1, ::-1].copy(), b, stride, padding, dilation)
'''

BED_CENTRE = '''
def bed_of_nails_forward(x, scale_factor):
    sh, sw = pair(scale_factor)
    N, C, H, W = x.shape
    out = np.zeros((N, C, H * sh, W * sw), dtype=x.dtype)
    out[:, :, sh // 2::sh, sw // 2::sw] = x
    return out, (x.shape, (sh, sw))
'''


@pytest.mark.parametrize("module, code, expected", [
    ("conv", DB_MEAN, {"conv_backward", "dilated_conv", "fcn"}),
    ("conv", FLIPPED, {"conv_forward", "conv_backward", "dilated_conv", "fcn"}),
    ("upsample", BED_CENTRE, {"bed_of_nails"}),
])
def test_buggy_submissions_lose_points_on_broken_parts_only(tmp_path, module, code, expected):
    outcome = grade(submission(tmp_path, patches={module: code}))
    assert lost_parts(outcome) == expected


def test_flipped_kernel_gets_its_hint(tmp_path):
    outcome = grade(submission(tmp_path, patches={"conv": FLIPPED}), parts=["conv_forward"])
    out = outcome.data["tests"][0]["output"]
    assert "kernel flipped" in out
    assert "case 1: x (2, 3, 5, 5)" in out


def test_missing_file_fails_only_its_parts(tmp_path):
    outcome = grade(submission(tmp_path, replace={"upsample": None}))
    assert lost_parts(outcome) == {"nearest", "bed_of_nails", "max_unpool"}
    out = next(t["output"] for t in outcome.data["tests"] if t["number"] == "6.1")
    assert "upsample.py was not found" in out


def test_syntax_error_names_the_line(tmp_path):
    outcome = grade(submission(tmp_path, replace={"dilated": "import numpy as np\ndef dilate_kernel(w, d)\n"}),
                    parts=["dilate_kernel", "receptive_field", "conv_forward"])
    s = scores(outcome)
    assert s["3.2"] == 0 and s["3.3"] == 0 and s["1.1"] == load().part("conv_forward").weight, \
        f"parts dilate_kernel, receptive_field, conv_forward of cases.yaml: {s}"
    assert "syntax error on line 2" in outcome.data["tests"][1]["output"]


def test_forbidden_import_is_found_in_code_not_comments(tmp_path):
    comment = "# we could use torch.nn.functional here, but numpy it is\n"
    folder = submission(tmp_path, replace={
        "dilated": comment + (SOLUTIONS / "dilated.py").read_text(),
        "upsample": "import torch.nn.functional as F\n" + (SOLUTIONS / "upsample.py").read_text(),
    })
    outcome = grade(folder, parts=["dilate_kernel", "nearest"])
    s = scores(outcome)
    assert s["3.2"] == load().part("dilate_kernel").weight and s["6.1"] == 0, \
        f"parts dilate_kernel and nearest of cases.yaml: {s}"
    assert "imports torch.nn.functional (line 1)" in outcome.data["tests"][1]["output"]


def test_zip_with_nested_folder_and_macos_junk(tmp_path):
    folder = submission(tmp_path)
    zpath = tmp_path / "sub.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for m in MODULES:
            zf.write(folder / f"{m}.py", f"my_hw/{m}.py")
            zf.writestr(f"__MACOSX/my_hw/._{m}.py", b"\x00\x05junk")
    outcome = grade(zpath, parts=["conv_forward", "fc_to_conv"])
    assert outcome.data["score"] == load().select(["conv_forward", "fc_to_conv"]).total


def test_case_sensitive_names(tmp_path):
    folder = submission(tmp_path)
    (folder / "fcn.py").rename(folder / "FCN.py")
    outcome = grade(folder, parts=["fc_to_conv"])
    assert outcome.data["score"] == 0
    assert "case-sensitive" in outcome.data["tests"][0]["output"]


def test_unreadable_submission_still_writes_valid_results(tmp_path):
    path = tmp_path / "results.json"
    outcome = grade(tmp_path / "does-not-exist", results_path=path)
    data = json.loads(path.read_text())
    validate(data, load())
    assert outcome.status == "error" and data["score"] == 0


def test_exception_in_student_code_fails_one_case(tmp_path):
    code = '''
_orig = avg_pool2d_forward
def avg_pool2d_forward(x, kernel_size, stride=None, padding=0):
    if padding:
        raise ValueError("padding not supported yet")
    return _orig(x, kernel_size, stride, padding)
'''
    outcome = grade(submission(tmp_path, patches={"pooling": code}), parts=["avg_pool"])
    result = outcome.parts["avg_pool"]
    assert [c.passed for c in result.cases] == [not c.get("padding") for c in load().part("avg_pool").cases], \
        "part avg_pool of cases.yaml: exactly its cases with a padding must fail"
    assert "your code raised ValueError: padding not supported yet" in result.cases[1].lines[0]
