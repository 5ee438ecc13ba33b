"""What a student reads: named mistakes, hidden cases that teach without leaking, fair partial credit,
crashes explained, printed output, Markdown on Gradescope and a compact table in the terminal.

Every grade here goes through the real path (``autograder.run.grade``) on the reference solutions with
one function replaced, the way tests/test_grader.py builds its submissions.
"""

import re

import numpy as np
import pytest
import yaml
from test_grader import FLIPPED, SOLUTIONS, submission

from autograder.checking.mistakes import MISTAKES
from autograder.checking.table import load
from autograder.grading import feedback
from autograder.grading.grader import CaseResult, PartResult
from autograder.run import grade

TABLE = load()


def plain(markdown):
    """Markdown as it reads (the escapes of feedback.md_escape undone)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def output(outcome, pid):
    number = TABLE.part(pid).number
    return next(t for t in outcome.data["tests"] if t["number"] == number)


def case_blocks(md):
    """{case number: the Markdown of that case} of one part's output."""
    blocks, current = {}, None
    for block in md.split("\n\n"):
        m = re.match(r"case (\d+)", block)
        if m:
            current = int(m.group(1))
            blocks[current] = block
        elif current is not None:
            blocks[current] += "\n\n" + block
    return blocks


# ----------------------------------------------------------------- hidden cases
LEAKY_FLIPPED = FLIPPED + '''
_flipped_forward = conv2d_forward
def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1):
    print(f"PRINTED{tuple(x.shape)} sum={x.sum():.9f}")
    if x.shape == (2, 3, 7, 6):  # a hidden case of conv_forward only
        raise ValueError(f"BOOM{x.ravel()[:3]}")
    return _flipped_forward(x, w, b, stride, padding, dilation)
'''


def test_hidden_cases_show_configuration_and_mistake_never_values_prints_or_errors(tmp_path):
    outcome = grade(submission(tmp_path, patches={"conv": LEAKY_FLIPPED}), parts=["conv_forward"], user=None)
    md = output(outcome, "conv_forward")["output"]
    part = TABLE.part("conv_forward")
    blocks = case_blocks(md)
    for i, case in enumerate(part.cases, 1):
        text = plain(blocks[i])
        shape = str(tuple(case["x"]))
        if not case.get("hidden"):
            assert f"PRINTED{shape}" in text  # a visible case shows what the code printed, passed or not
            continue
        assert text.startswith(f"case {i} (hidden): x {shape}, w {tuple(case['w'])}")  # its configuration
        assert "PRINTED" not in text and "sum=" not in text and "BOOM" not in text  # nothing the code wrote
        assert "|" not in blocks[i]  # no comparison table: no got/expected numbers
        extra = [line for line in blocks[i].split("\n")[1:] if line.strip()]
        assert all(line.startswith("- **likely mistake") for line in extra), extra
        result = outcome.parts["conv_forward"].cases[i - 1]
        if not result.passed and case["x"] != [2, 3, 7, 6]:
            assert "[kernel_flipped]" in text, text  # the mistake is named on a hidden case too
    assert "BOOM" not in md and "sum=" not in plain(md).split("(hidden)")[-1]


def test_a_table_switch_turns_hidden_configuration_off(tmp_path):
    data = yaml.safe_load((SOLUTIONS.parent / "autograder" / "cases.yaml").read_text())
    entry = next(p for p in data["parts"] if p["id"] == "conv_forward")
    entry["hidden_feedback"] = "none"
    path = tmp_path / "cases.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))  # the inputs keep their call order
    table = load(path)
    outcome = grade(submission(tmp_path, patches={"conv": FLIPPED}), table=table, parts=["conv_forward"], user=None)
    md = output(outcome, "conv_forward")["output"]
    blocks = case_blocks(md)
    for i, case in enumerate(table.part("conv_forward").cases, 1):
        if case.get("hidden"):
            assert blocks[i].strip() in (f"case {i} (hidden): FAILED", f"case {i} (hidden): passed"), blocks[i]
    visible = [c for c in outcome.parts["conv_forward"].cases if not c.hidden]
    assert all("kernel_flipped" in c.mistakes for c in visible if not c.passed)
    assert outcome.parts["conv_forward"].named() == ["kernel_flipped"]  # named on visible cases only


# ----------------------------------------------------------------- partial credit
def test_a_correct_forward_with_a_missing_backward_scores_the_forward_share(tmp_path):
    combined = [p for p in TABLE.parts if p.backward and p.grade_forward]
    assert combined
    patches = {}
    for p in combined:
        module, _, func = p.backward.rpartition(".")
        patches[module] = patches.get(module, "") + (
            f"\ndef {func}(*args, **kwargs):\n    raise NotImplementedError('{func}: not implemented yet')\n")
    outcome = grade(submission(tmp_path, patches=patches), parts=[p.id for p in combined], user=None)
    for p in combined:
        test = output(outcome, p.id)
        assert test["score"] == pytest.approx(p.weight * p.forward_share, abs=1e-3), (p.id, test["output"])
        assert test["status"] == "failed"
        result = outcome.parts[p.id]
        assert all(c.stages == [("forward", True), ("backward", False)] for c in result.cases)
        assert "not implemented yet" in test["output"] and "forward passed" in test["output"]


def test_stubs_earn_nothing_even_in_part():
    outcome = grade(SOLUTIONS.parent / "assignment", parts=["max_pool", "fcn"], user=None)
    assert outcome.data["score"] == 0
    assert all(c.credit == 0 for r in outcome.parts.values() for c in r.cases)


# ----------------------------------------------------------------- crashes and imports
OFF_BY_ONE_CRASH = '''
def max_pool2d_forward(x, kernel_size, stride=None, padding=0):
    N, C, H, W = x.shape
    kernel, stride, padding, (Ho, Wo) = _sizes(x.shape, kernel_size, stride, padding)
    out = np.zeros((N, C, Ho + 1, Wo))
    out[:] = x[:, :, :Ho, :Wo]
    return out, out.astype(np.int64), None
'''


def test_a_shape_error_shows_the_expected_shapes_and_the_size_formula(tmp_path):
    outcome = grade(submission(tmp_path, patches={"pooling": OFF_BY_ONE_CRASH}), parts=["max_pool"], user=None)
    result = outcome.parts["max_pool"]
    case = TABLE.part("max_pool").cases[0]
    first = plain(case_blocks(output(outcome, "max_pool")["output"])[1])
    assert "could not broadcast" in first
    h, w = case["x"][2:]
    k, s = case["kernel_size"], case["stride"]
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    assert f"should return out {tuple(case['x'][:2]) + (ho, wo)}" in first.replace("(2, 3) + ", "")
    assert f"({h} + 2*0 - {k}) // {s} + 1 = {ho}" in first
    for c in result.cases:
        if c.hidden:
            assert "could not broadcast" not in plain(case_blocks(output(outcome, "max_pool")["output"])[c.index])


def test_an_import_that_fails_because_of_another_file_names_that_file(tmp_path):
    folder = submission(tmp_path, replace={"pooling": "import numpy as np\ndef max_pool2d_forward(x, k:\n"})
    outcome = grade(folder, parts=["fcn"], user=None)
    text = plain(output(outcome, "fcn")["output"])
    assert "No module named 'pooling'" in text
    assert "because pooling.py could not be used" in text and "syntax error on line 2" in text


# ----------------------------------------------------------------- printed output
PRINTS = '''
_reference_nearest = nearest_upsample_forward
def nearest_upsample_forward(x, scale_factor):
    print("debug ```` fence \\x1b[31mred", x.shape)
    return _reference_nearest(x, scale_factor)
'''


def test_printed_output_is_shown_for_visible_cases_passed_or_not_fenced_and_sanitised(tmp_path):
    outcome = grade(submission(tmp_path, patches={"upsample": PRINTS}), parts=["nearest"], user=None)
    test = output(outcome, "nearest")
    assert test["score"] == TABLE.part("nearest").weight  # the prints change nothing
    blocks = case_blocks(test["output"])
    visible = next(i for i, c in enumerate(TABLE.part("nearest").cases, 1) if not c.get("hidden"))
    hidden = next(i for i, c in enumerate(TABLE.part("nearest").cases, 1) if c.get("hidden"))
    shown = blocks[visible]
    assert "your code printed (nearest_upsample_forward):" in plain(shown)
    assert "`````text\ndebug ```` fence ?red" in shown  # a fence longer than the text's backticks
    assert "\x1b" not in test["output"]
    assert "debug" not in blocks[hidden]
    text = outcome.parts["nearest"].feedback(fmt="text")
    assert "        | debug ```` fence ?red" in text


def test_fence_cannot_be_closed_and_escaping_keeps_the_text():
    text = "a ``` b\n~~~~\n`````"
    fenced = feedback.fence(text)
    mark = fenced.split("text", 1)[0]
    assert len(mark) == 6 and mark not in text and fenced.endswith("\n" + mark)
    raw = "- [link](http://x) <b>*bold*</b> | 1. _x_ # h"
    escaped = feedback.md_escape(raw)
    assert plain(escaped) == raw
    for token in ("[link]", "<b>", "*bold*", "_x_"):
        assert token not in escaped


# ----------------------------------------------------------------- presentation
def test_gradescope_output_is_markdown_with_a_comparison_table_and_a_summary_of_mistakes(tmp_path):
    outcome = grade(submission(tmp_path, patches={"conv": FLIPPED}), parts=["conv_forward", "fc_to_conv"],
                    user=None)
    data = outcome.data
    assert data["output_format"] == "md" and all(t["output_format"] == "md" for t in data["tests"])
    conv = output(outcome, "conv_forward")
    assert conv["status"] == "failed" and output(outcome, "fc_to_conv")["status"] == "passed"
    first = case_blocks(conv["output"])[1]
    assert "| value | got | expected | max abs error | max rel error | first wrong index |" in first
    row = next(line for line in first.split("\n") if line.startswith("| out |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == cells[2] and float(cells[3]) > 0 and cells[5].startswith("(")
    summary = plain(data["output"])
    assert "Mistakes recognised" in summary
    assert f"{TABLE.part('conv_forward').number} conv2d_forward: kernel flipped [kernel_flipped]" in summary


def test_general_advice_never_sits_beside_a_named_mistake():
    part = TABLE.part("conv_backward")
    case = CaseResult(index=1, hidden=False, passed=False, label="x (1, 1, 3, 3)", lines=["dx: wrong"],
                      mistakes=["backward_ignores_stride"], advice=[MISTAKES["strided_backward"].line()])
    alone = CaseResult(index=2, hidden=False, passed=False, label="x (1, 1, 3, 3)", lines=["dx: wrong"],
                       advice=[MISTAKES["strided_backward"].line()])
    text = PartResult(part, [case, alone], 0.0).feedback(fmt="text")
    first, second = text.split("case 2")
    assert "[backward_ignores_stride]" in first and "general advice" not in first
    assert "hint (general advice, not a diagnosis)" in second


def test_values_right_but_float32_name_no_mistake(tmp_path):
    code = '''
_reference_forward = conv2d_forward
def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1):
    out, cache = _reference_forward(x, w, b, stride, padding, dilation)
    return out.astype(np.float32), cache
'''
    outcome = grade(submission(tmp_path, patches={"conv": code}), parts=["conv_forward"], user=None)
    result = outcome.parts["conv_forward"]
    assert result.score == 0 and result.named() == []
    assert "wrong dtype float32" in result.feedback()


def test_terminal_table_is_compact_and_the_feedback_follows_uncut(tmp_path, capsys):
    from autograder import cli

    folder = submission(tmp_path, patches={"conv": FLIPPED})
    assert cli.main(["grade", str(folder), "--parts", "conv_forward", "dilate_kernel", "--width", "100"]) == 0
    out = capsys.readouterr().out
    table, details = out.split("total", 1)
    rows = [line for line in table.splitlines() if re.match(r"^│ +\d\.\d", line)]
    assert len(rows) == 2 and all(len(line) <= 100 for line in rows)
    assert "kernel flipped" in rows[0]
    assert "more characters cut" not in out
    line = MISTAKES["kernel_flipped"].line()
    assert any(row.strip() == line for row in details.splitlines()), details  # one line, never wrapped
    assert np.all([len(r) <= 100 for r in table.splitlines()])
