"""What a student reads: named mistakes, hidden cases that teach without leaking, fair partial credit,
crashes explained, printed output, Markdown on Gradescope and a compact table in the terminal, the same text
in both.

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


def reads(markdown):
    """Markdown as a student reads it: escapes undone, bold gone."""
    return plain(markdown.replace("**", ""))


def output(outcome, pid):
    number = TABLE.part(pid).number
    return next(t for t in outcome.data["tests"] if t["number"] == number)


def listed_once(text, index):
    """A failing case is listed once: its own line (in full or folded), or within the one line of its group's cases
    not listed one by one ("* cases 12-18 (7 of 22): FAILED in the same way")."""
    own = len(re.findall(rf"^(?:[*+] )?case {index}\b", text, re.M))
    in_rest = [m for m in re.findall(r"^[*+] cases ([\d, -]+) \(", text, re.M) if index in span_of(m)]
    return own + len(in_rest) == 1


def span_of(text):
    """{2, 5, 6, 7} of "2, 5-7"."""
    out = set()
    for piece in text.split(","):
        a, _, b = piece.strip().partition("-")
        out |= set(range(int(a), int(b or a) + 1))
    return out


def case_blocks(md):
    """{case number: the Markdown of that case} of one part's output: a case shown in full (its heading and the
    blocks up to the next case or group), or the line of a case folded into one line ("* case 3: ...") with the
    blocks that follow it (what it printed)."""
    blocks, current = {}, None
    for block in md.strip("\n").split("\n\n"):
        if block.startswith("**") and current is not None and not re.match(r"\*\*case", block):
            current = None  # a group's heading ends the case before it
        m = re.match(r"case (\d+)", block)
        if m:
            current = int(m.group(1))
            blocks[current] = block
            continue
        folded = [re.match(r"^[*+] (cases? (\d+).*)$", line) for line in block.split("\n")]
        if folded and all(folded):
            one = [f for f in folded if f.group(1).startswith("case ")]  # "cases ...": the rest of a group
            blocks.update({int(f.group(2)): f.group(1) for f in one})
            current = int(one[-1].group(2)) if one and one[-1] is folded[-1] else None  # what it printed follows
        elif current is not None:
            blocks[current] += "\n\n" + block
    return blocks


def verdict_lines(md):
    """The verdict's lines (escapes and bold undone): the list after the summary line."""
    return [reads(line[2:]) for line in md.split("\n\n")[1].split("\n")]


def listed(line):
    """The case numbers a verdict line speaks of ("cases 1-5, 7 (6 of 22): ...")."""
    m = re.match(r"^cases? ([\d, -]+) \(", line)
    out = []
    for run in m.group(1).split(", "):
        a, _, b = run.partition("-")
        out += range(int(a), int(b or a) + 1)
    return out


# ----------------------------------------------------------------- hidden cases
LEAKY_FLIPPED = FLIPPED + '''
_flipped_forward = conv2d_forward
def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1):
    print(f"PRINTED{tuple(x.shape)} sum={x.sum():.9f}")
    if x.shape == (2, 3, 7, 6):  # a hidden case of conv_forward only
        raise ValueError(f"BOOM{x.ravel()[:3]}")
    return _flipped_forward(x, w, b, stride, padding, dilation)
'''


def test_hidden_cases_show_configuration_mistake_and_where_never_values_prints_or_messages(tmp_path):
    outcome = grade(submission(tmp_path, patches={"conv": LEAKY_FLIPPED}), parts=["conv_forward"], user=None)
    md = output(outcome, "conv_forward")["output"]
    part, result = TABLE.part("conv_forward"), outcome.parts["conv_forward"]
    blocks = case_blocks(md)
    source = (tmp_path / "sub" / "conv.py").read_text().splitlines()
    boom = next(n for n, line in enumerate(source, 1) if "BOOM" in line)
    crashed = [i for i, case in enumerate(part.cases, 1) if case.get("hidden") and case["x"][1:3] == [3, 7]]
    flipped = [c.index for c in result.cases if "kernel_flipped" in c.mistakes]
    assert crashed and any(part.cases[i - 1].get("hidden") for i in flipped)
    verdict = verdict_lines(md)
    # the verdict: the mistake with every case it explains, hidden ones included; the crash by type and place
    assert listed(verdict[0]) == flipped and "[kernel_flipped]" in verdict[0]
    crash = next(line for line in verdict if "raised" in line)
    assert listed(crash) == crashed and crash.endswith(
        f"conv2d_forward raised ValueError at conv.py, line {boom}, in conv2d_forward"), crash
    passed = [c.index for c in result.cases if c.passed]
    assert not passed or listed(next(line for line in verdict if line.startswith("passed: "))[8:]) == passed
    for i, case in enumerate(part.cases, 1):
        if not case.get("hidden") or i in passed:
            continue
        text = plain(blocks[i])
        assert text.startswith(f"case {i} (hidden): x {tuple(case['x'])}, w {tuple(case['w'])}")  # configuration
        assert "PRINTED" not in text and "sum=" not in text and "BOOM" not in text  # nothing the code wrote
        assert "|" not in blocks[i]  # no comparison table: no got/expected numbers
        assert not re.search(r"\d\.\d", text), text  # no value of any kind
    lead = next(c for c in result.cases if not c.hidden and not c.passed)
    assert f"PRINTED{tuple(part.cases[lead.index - 1]['x'])}" in plain(blocks[lead.index])  # the case in full
    folded = [c for c in result.cases if not c.hidden and not c.passed and c is not lead]
    # a visible case in one line still shows what it printed, under that line (issue 29: every visible case)
    assert folded and all(f"PRINTED{tuple(part.cases[c.index - 1]['x'])}" in plain(blocks[c.index]) for c in folded)
    assert "BOOM" not in md and "sum=" not in plain(md).split("(hidden)")[-1]


def test_a_stricter_hidden_feedback_shows_configuration_status_and_mistake_only(tmp_path):
    table = table_with(tmp_path, "conv_forward", hidden_feedback="config")
    outcome = grade(submission(tmp_path, patches={"conv": LEAKY_FLIPPED}), table=table, parts=["conv_forward"],
                    user=None)
    md = output(outcome, "conv_forward")["output"]
    blocks, result = case_blocks(md), outcome.parts["conv_forward"]
    for c in result.cases:
        if c.hidden and not c.passed:  # one line: configuration and status (the kind of failure, never where)
            assert reads(blocks[c.index]) in (f"case {c.index} (hidden): {c.label}: passed",
                                              f"case {c.index} (hidden): {c.label}: FAILED",
                                              f"case {c.index} (hidden): {c.label}: FAILED (the code raised an "
                                              "exception)"), blocks[c.index]
    verdict = verdict_lines(md)
    assert listed(verdict[0]) == [c.index for c in result.cases if "kernel_flipped" in c.mistakes]  # the mistake
    assert "conv.py, line" not in md and "ValueError" not in md  # where a hidden case raised: not at "config"


def table_with(tmp_path, pid, **changes):
    """The case table with one part's entry changed, loaded from a copy."""
    data = yaml.safe_load((SOLUTIONS.parent / "autograder" / "cases.yaml").read_text())
    entry = next(p for p in data["parts"] if p["id"] == pid)
    entry.update(changes)
    path = tmp_path / "cases.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))  # the inputs keep their call order
    return load(path)


def test_a_table_switch_turns_hidden_configuration_off(tmp_path):
    table = table_with(tmp_path, "conv_forward", hidden_feedback="none")
    outcome = grade(submission(tmp_path, patches={"conv": FLIPPED}), table=table, parts=["conv_forward"], user=None)
    md = output(outcome, "conv_forward")["output"]
    blocks, result = case_blocks(md), outcome.parts["conv_forward"]
    hidden = [c for c in result.cases if c.hidden]
    for c in hidden:
        if not c.passed:
            assert reads(blocks[c.index]) == f"case {c.index} (hidden): FAILED"
    visible = [c for c in result.cases if not c.hidden]
    assert all("kernel_flipped" in c.mistakes for c in visible if not c.passed)
    assert any("kernel_flipped" in c.mistakes for c in hidden)  # found, and never told: not even by grouping
    verdict = verdict_lines(md)
    assert listed(verdict[0]) == [c.index for c in visible if not c.passed]
    assert f"{verdict_case_list([c for c in hidden if not c.passed], len(result.cases))} (hidden): FAILED" in verdict
    assert result.named() == ["kernel_flipped"]  # named on visible cases only


def verdict_case_list(cases, total):
    from autograder.grading.verdict import which

    return which([c.index for c in cases], total)


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
        text = reads(test["output"])
        assert text.count("not implemented yet") == 1 and "case 2:" not in text  # once for the part, no case
        n = len(result.cases)
        assert f"the forward is right on cases 1-{n} (all {n}), which earns its share" in text


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
        if c.hidden and not c.passed:
            shown = case_blocks(output(outcome, "max_pool")["output"]).get(c.index, "")
            assert "could not broadcast" not in plain(shown)


def test_an_import_that_fails_because_of_another_file_names_that_file(tmp_path):
    folder = submission(tmp_path, replace={"pooling": "import numpy as np\ndef max_pool2d_forward(x, k:\n"})
    outcome = grade(folder, parts=["fcn", "max_pool", "avg_pool"], user=None)
    text = plain(output(outcome, "fcn")["output"])
    assert "No module named 'pooling'" in text
    assert "because pooling.py could not be used" in text and "syntax error on line 2" in text
    for pid in ("fcn", "max_pool", "avg_pool"):  # once per part, no case listed
        text = reads(output(outcome, pid)["output"])
        n = len(TABLE.part(pid).cases)
        assert text.count("syntax error on line 2") == 1 and "case 1:" not in text, text
        assert verdict_lines(output(outcome, pid)["output"])[0].startswith(f"cases 1-{n} (all {n}): ")


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
    shown = blocks[visible]
    assert "your code printed (nearest_upsample_forward):" in plain(shown)
    assert "`````text\ndebug ```` fence ?red" in shown  # a fence longer than the text's backticks
    assert "\x1b" not in test["output"]
    assert test["output"].count("debug") == sum(1 for c in TABLE.part("nearest").cases if not c.get("hidden"))
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


def fabricated_case(index, label, **fields):
    """A failing visible case as the grader keeps it, its values judged wrong."""
    return CaseResult(index=index, hidden=False, passed=False, label=label, kind="wrong", **fields)


def test_general_advice_never_sits_beside_a_named_mistake():
    part = TABLE.part("conv_backward")
    case = fabricated_case(1, "x (1, 1, 3, 3), stride=2", lines=["dx: wrong"], mistakes=["backward_ignores_stride"],
                           advice=["strided_backward"])
    alone = fabricated_case(2, "x (1, 1, 5, 5), stride=2", lines=["dx: wrong"], advice=["strided_backward"])
    text = PartResult(part, [case, alone], 0.0).feedback(fmt="text")
    first, second = text.split("\ncase 2")
    assert "[backward_ignores_stride]" in first and "general advice" not in first
    assert "hint (general advice, not a diagnosis)" in second


def test_general_advice_only_where_every_failing_case_agrees_with_it():
    """"a stride or dilation > 1" is a hint on a stride-2 case only where no case without it fails too: the
    advice's own condition held on every failing case whose values were judged (layer.py records it)."""
    part = TABLE.part("conv_backward")
    hint = MISTAKES["strided_backward"].line(part)
    strided = fabricated_case(1, "x (1, 1, 5, 5), stride=2", lines=["dx: wrong"], advice=["strided_backward"])
    plain_ = fabricated_case(2, "x (1, 1, 5, 5)", lines=["dx: wrong"])
    assert hint in PartResult(part, [strided], 0.0).feedback()
    assert "general advice" not in PartResult(part, [strided, plain_], 0.0).feedback()
    crashed = CaseResult(index=2, hidden=False, passed=False, label="x (1, 1, 5, 5)", kind="error",
                         lines=["your code raised ValueError: ..."])
    assert hint in PartResult(part, [strided, crashed], 0.0).feedback()  # a crash judged no value: no say


def test_the_forwards_diagnosis_comes_before_the_backwards_exception(tmp_path):
    """A part graded forward and backward whose forward is wrong (a known mistake) and whose backward raises:
    the verdict names the forward's mistake first, and the case in full says the forward's problem first."""
    import mutants

    forward = mutants.load(mutants.HERE / "maxpool_zero_padding.py")
    backward = "\ndef max_pool2d_backward(dout, cache):\n    raise ValueError('the backward broke')\n"
    outcome = grade(submission(tmp_path, patches={"pooling": forward.code + backward}), parts=["max_pool"],
                    user=None)
    result, md = outcome.parts["max_pool"], output(outcome, "max_pool")["output"]
    named = [c for c in result.cases if "pool_zero_padding" in c.mistakes]
    assert named and all(c.kind == "error" for c in named)  # the backward raised on these too
    text = reads(md)
    assert text.index("[pool_zero_padding]") < text.index("raised ValueError")
    verdict = verdict_lines(md)
    assert listed(verdict[0]) == [c.index for c in named]
    lead = reads(case_blocks(md)[next(c.index for c in named if not c.hidden)])
    assert lead.index("out: ") < lead.index("your code raised ValueError")


def test_values_right_but_float32_name_float32_precision(tmp_path):
    """A float32 result where float64 belongs is named as what it is (computed in float32), not left as a dtype
    line only: a float32 forward and the float32 gradients that follow from it read as one mistake."""
    code = '''
_reference_forward = conv2d_forward
def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1):
    out, cache = _reference_forward(x, w, b, stride, padding, dilation)
    return out.astype(np.float32), cache
'''
    outcome = grade(submission(tmp_path, patches={"conv": code}), parts=["conv_forward"], user=None)
    result = outcome.parts["conv_forward"]
    assert result.score == 0 and result.named() == ["low_precision"]
    text = result.feedback()
    assert "wrong dtype float32" in text and "out is float32, where float64 is expected" in text


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
    line = MISTAKES["kernel_flipped"].line(TABLE.part("conv_forward"))
    assert any(row.strip().endswith(": " + line) for row in details.splitlines()), details  # one line, unwrapped
    assert np.all([len(r) <= 100 for r in table.splitlines()])


# ----------------------------------------------------------------- the same text everywhere
def markdown_lines(md):
    """What a Gradescope reader sees, line by line: markup gone (bold, bullets, fences, table pipes and
    rules, escapes), blank lines and runs of spaces dropped."""
    out, fence_mark = [], None
    for line in md.split("\n"):
        if fence_mark:
            fence_mark = None if line == fence_mark else fence_mark
            if fence_mark:
                out.append(line)
            continue
        opening = re.match(r"^(`{3,})\w*$", line)
        if opening:
            fence_mark = opening.group(1)
            continue
        if re.match(r"^\|( -+:? \|)+$", line):
            continue  # a table's rule
        if line.startswith("| "):
            line = " ".join(cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1])
        line = plain((line[2:] if line.startswith(("- ", "* ", "+ ")) else line).replace("**", ""))
        out.append(line)
    return [" ".join(t.split()) for t in out if t.strip()]


def text_lines(text):
    """The terminal's text, line by line: indentation and the bars before printed output dropped."""
    out = []
    for line in text.split("\n"):
        line = line.strip()
        line = line[1:] if line.startswith("|") else line
        out.append(" ".join(line.split()))
    return [t for t in out if t]


def test_visible_feedback_reads_the_same_in_the_terminal_and_on_gradescope(tmp_path):
    """check.py prints the text rendering, Gradescope shows the Markdown: line for line the same words, on
    crashes, printed output, comparison tables, formulas, several gradients, named mistakes, a syntax error."""
    folder = submission(tmp_path, patches={"conv": LEAKY_FLIPPED, "upsample": PRINTS, "pooling": OFF_BY_ONE_CRASH},
                        replace={"dilated": "import numpy as np\ndef dilate_kernel(w, dilation:\n"})
    parts = ["conv_forward", "nearest", "max_pool", "dilate_kernel", "fcn", "conv_backward"]
    outcome = grade(folder, table=TABLE.visible_only(), parts=parts, user=None)
    for pid in parts:
        result = outcome.parts[pid]
        md, text = result.feedback(fmt="md"), result.feedback(fmt="text")
        assert markdown_lines(md) == text_lines(text), pid
        assert markdown_lines(output(outcome, pid)["output"]) == text_lines(text), pid
    conv = text_lines(outcome.parts["conv_forward"].feedback(fmt="text"))
    assert any(line.startswith("value got expected max abs error") for line in conv), conv  # the table, as text


# ----------------------------------------------------------------- a paragraph once, in the part's words
def test_a_mistakes_paragraph_is_shown_once_per_part_with_the_cases_it_explains(tmp_path):
    outcome = grade(submission(tmp_path, patches={"conv": FLIPPED}), parts=["conv_forward"], user=None)
    md = output(outcome, "conv_forward")["output"]
    text = reads(md)
    paragraph = MISTAKES["kernel_flipped"].text_for(TABLE.part("conv_forward"))
    failing = [c for c in outcome.parts["conv_forward"].cases if not c.passed]
    assert len(failing) > 2 and text.count(paragraph) == 1 and text.count("[kernel_flipped]") == 1
    assert listed(verdict_lines(md)[0]) == [c.index for c in failing]
    blocks = case_blocks(md)
    assert all(listed_once(text, c.index) for c in failing)  # each once
    full = [c.index for c in failing if "|" in blocks.get(c.index, "")]
    assert full == [failing[0].index]  # one comparison table: the first case; the others one line each
    assert all(blocks[c.index].count("\n") == 0 for c in failing[1:] if c.index in blocks)


OPTION_WORDS = {  # words that speak of an option: a mistake's text in a part without that option must not use them
    "dilation": ("dilation", "dh", "dw", "dil_h", "dilated"),
    "output_padding": ("output_padding",),
}
KIND_WORDS = {"tconv": ("cross-correlation", "b[f]", "w[f, c"), "pool": ("w[", "b[")}


@pytest.mark.parametrize("part", TABLE.parts, ids=lambda p: p.id)
def test_each_mistake_speaks_in_its_parts_own_words(part):
    """Pooling has no dilation, a transposed convolution no filters w[f, c]; the docstrings say Ho and KH."""
    for name in part.mistakes:
        text = MISTAKES[name].text_for(part)
        words = set(re.findall(r"[A-Za-z_\[\]]+", text))
        for option, spoken in OPTION_WORDS.items():
            if option not in part.options:
                assert not words & set(spoken) and "d(k-1)" not in text, (name, option, text)
        for phrase in KIND_WORDS.get(part.size, ()):
            assert phrase not in text, (name, phrase, text)
        assert not re.search(r"\b[HW]_out\b|\bkh\b|\bkw\b", text), (name, text)  # the docstrings' Ho, KH


def test_a_flipped_transposed_kernel_is_explained_as_a_transposed_convolution(tmp_path):
    code = '''
_reference_tconv = conv_transpose2d_forward
def conv_transpose2d_forward(x, w, b=None, stride=1, padding=0, output_padding=0, dilation=1):
    return _reference_tconv(x, w[:, :, ::-1, ::-1].copy(), b, stride, padding, output_padding, dilation)
'''
    outcome = grade(submission(tmp_path, patches={"transposed": code}), parts=["transposed_forward"], user=None)
    text = reads(output(outcome, "transposed_forward")["output"])
    assert "[kernel_flipped]: your output matches the transposed convolution with the kernel flipped" in text
    assert "cross-correlation" not in text and "w[f, c" not in text


# ----------------------------------------------------------------- where the wrong values are
def test_where_the_wrong_values_are_replaces_general_advice(tmp_path):
    import mutants

    outcome = grade(mutants.build("conv_backward_last_window_row_missed", tmp_path / "sub"), parts=["conv_backward"],
                    user=None)
    result = outcome.parts["conv_backward"]
    strided = [c for c in result.cases if not c.hidden and not c.passed and "stride=2" in c.label]
    assert strided
    for c in strided:
        # no general advice, no false cause: what the value is (the loop over output rows stops one short)
        assert c.advice == [] and c.mistakes == ["stops_early"], (c.advice, c.mistakes)
        assert any(line.startswith("dx: wrong in ") for line in c.lines), c.lines
    assert "general advice" not in result.feedback()


def test_no_relative_error_where_zero_is_expected():
    from autograder.checking.compare import compare_array
    from autograder.checking.evidence import mismatch_row

    expected = np.zeros((1, 1, 2, 2))
    expected[0, 0, 0, 0] = 2.0
    got = expected.copy()
    got[0, 0, 1, 1] = 1e-3  # wrong where 0 is expected: no relative error to speak of
    lines = compare_array("out", got, expected)
    assert "rel" not in " ".join(lines) and "max abs error 0.001 (where 0 is expected)" in lines[1], lines
    assert mismatch_row("out", got, expected, 1e-7)["rel"] == "-"
    got[0, 0, 0, 0] = 3.0
    assert "max rel error 0.5" in compare_array("out", got, expected)[1]
    assert mismatch_row("out", got, expected, 1e-7)["rel"] == "0.5"


# ----------------------------------------------------------------- two mistakes that fit one case
def test_two_mistakes_that_fit_a_case_are_both_named_until_another_case_tells_them_apart(tmp_path):
    """Rounding the output size (round(3 / 2) + 1 = 3) gives (3, 3) on a 5 x 6 input with 2 x 2 windows and
    stride 2: the size of Ho computed from the width's numbers too. Alone, the case names both as candidates;
    a second case where only the rounding fits decides."""
    import mutants

    ambiguous = {"x": [1, 2, 5, 6], "kernel_size": 2, "stride": 2, "seed": 1}
    separating = {"x": [2, 2, 7, 7], "kernel_size": 2, "stride": 3, "seed": 2}
    folder = mutants.build("maxpool_output_size_round", tmp_path / "sub")
    alone = grade(folder, table=table_with(tmp_path, "max_pool", cases=[ambiguous]), parts=["max_pool"], user=None)
    case = alone.parts["max_pool"].cases[0]
    assert case.mistakes == [] and set(case.candidates) == {"size_not_floor", "height_for_width"}
    text = reads(output(alone, "max_pool")["output"])
    assert "these values fit 2 known mistakes and no case tells them apart" in text
    assert "possible mistake: output size rounded up [size_not_floor]" in text
    assert "possible mistake: a height used for a width [height_for_width]" in text
    assert "likely mistake" not in text
    both = grade(folder, table=table_with(tmp_path, "max_pool", cases=[ambiguous, separating]), parts=["max_pool"],
                 user=None)
    first, second = both.parts["max_pool"].cases
    assert first.mistakes == ["size_not_floor"] and second.mistakes == ["size_not_floor"] and not first.candidates
    text = reads(output(both, "max_pool")["output"])
    assert "(case 1's values also fit 'a height used for a width'; case 2 fits only the one above)" in text


# ----------------------------------------------------------------- the record of graded functions a call ran
FORGED_RECORD = """
import sys as _sys
_reference_dilate = dilate_kernel
def dilate_kernel(w, dilation):
    for finder in _sys.meta_path:
        if hasattr(finder, "used"):
            finder.used.update({"toeplitz.im2col", "os.system", "dilated.nothing", "conv.conv2d_backward"})
    return _reference_dilate(w, dilation)[:, :, :-1]
"""


def test_a_forged_record_of_graded_functions_changes_only_the_students_own_feedback(tmp_path):
    """The worker's record is student-controlled: only the table's graded functions are kept, and they can at
    most send the student's feedback to another of their own parts; never a score."""
    broken_im2col = "def im2col(*a, **k):\n    return 0\n"
    folder = submission(tmp_path, patches={"dilated": FORGED_RECORD, "toeplitz": broken_im2col})
    outcome = grade(folder, parts=["dilate_kernel", "im2col"], user=None)
    result = outcome.parts["dilate_kernel"]
    assert result.score == 0 and outcome.parts["im2col"].score == 0
    for c in result.cases:
        used = set().union(*map(set, c.used.values()))
        assert used <= {"toeplitz.im2col", "conv.conv2d_backward", "dilated.dilate_kernel"}, c.used
    assert "dilate_kernel used your im2col, which fails 4.2 im2col" in reads(output(outcome, "dilate_kernel")["output"])


def test_a_hidden_case_says_a_returned_shape_only_when_a_mistake_could_give_it():
    """An empty array's shape could carry any numbers the code chose (a hidden input's, say): a hidden case
    shows the shape returned only near the expected one."""
    from autograder.checking.evidence import verdict

    expected = np.zeros((2, 3, 5, 5))
    assert verdict("dx", np.zeros((2, 3, 4, 6)), expected) == "dx: wrong shape (2, 3, 4, 6), expected (2, 3, 5, 5)"
    for chosen in [(0, 123456, 987), (2, 3, 5, 700), (0,)]:
        line = verdict("dx", np.zeros(chosen), expected)
        assert line.startswith("dx: wrong shape (a ") and "123456" not in line and "700" not in line, line


# ----------------------------------------------------------------- the difficulty a failing case isolates
ROW_BOUND = """
import numpy as np
_reference_forward = conv2d_forward
def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1):
    out, cache = _reference_forward(x, w, b, stride=stride, padding=padding, dilation=dilation)
    if x.shape[3] > x.shape[2]:  # wide inputs: the columns past the height are left at zero
        out = out.copy()
        out[..., x.shape[2]:] = 0.0
    return out, cache
"""


def test_a_failing_case_that_meets_one_difficulty_alone_names_it(tmp_path):
    """A visible case shown in full that differs from the part's plain case in one difficulty says which (the
    table's own words), so the student knows what is special about the case their code fails; only where the
    plain case passed."""
    from autograder.checking.coverage import part_cells
    from autograder.checking.difficulties import plain_case

    table = load()
    part = table.part("conv_forward")
    isolating = {i: c.difficulty for c in part_cells(part, table.difficulties) if c.status == "isolated"
                 for i in c.cases}
    outcome = grade(submission(tmp_path, patches={"conv": ROW_BOUND}), parts=["conv_forward"], user=None)
    md = output(outcome, "conv_forward")["output"]
    blocks, result = case_blocks(md), outcome.parts["conv_forward"]
    assert result.cases[plain_case(part)[0] - 1].passed  # the plain case passes: the line may be said
    failed = [c for c in result.cases if not c.passed and not c.hidden]
    assert failed, "the patch must fail some visible case of conv_forward (see cases.yaml's conv_forward)"
    shown = [c for c in failed if "\n" in blocks[c.index]]  # in full: its heading, then its lines
    assert shown and any(c.index in isolating for c in shown), "a case in full meets a difficulty alone"
    for c in failed:
        text = reads(blocks[c.index])
        if c.index in isolating and c in shown:
            assert table.difficulties[isolating[c.index]].text.split(":")[0] in text, text
            assert "what sets this case apart from case" in text
        else:
            assert "what sets this case apart" not in text
    assert reads(md).count("what sets this case apart") == len([c for c in shown if c.index in isolating])


def test_no_difficulty_is_named_where_the_plain_case_fails_too(tmp_path):
    """dw is one sample's gradient: the plain case fails like every other, so no case is set apart from it by a
    difficulty that has nothing to do with the bug."""
    import mutants
    from autograder.checking.difficulties import plain_case

    outcome = grade(mutants.build("conv_dw_not_summed_over_batch", tmp_path / "sub"), parts=["conv_backward"],
                    user=None)
    result = outcome.parts["conv_backward"]
    assert not result.cases[plain_case(result.part)[0] - 1].passed
    assert all(not c.alone for c in result.cases) and "what sets this case apart" not in result.feedback()


# ----------------------------------------------------------------- the verdict first
def test_one_mistake_reads_in_one_screen_named_first(tmp_path):
    """The issue's example: dw is one sample's gradient. The part's Gradescope output names the mistake in its
    third line with the cases it explains, says which passed, shows one case in full and the others one line
    each, within the budget of tests/mutants (every mutant is measured in test_mutants.py)."""
    import mutants

    outcome = grade(mutants.build("conv_dw_not_summed_over_batch", tmp_path / "sub"), parts=["conv_backward"],
                    user=None)
    result, md = outcome.parts["conv_backward"], output(outcome, "conv_backward")["output"]
    lines = reads(md).split("\n")
    explained = [c.index for c in result.cases if "grad_last_sample" in c.mistakes]
    total = len(result.cases)
    assert len(explained) > total // 2
    assert lines[2].startswith(f"- {verdict_case_list([c for c in result.cases if c.index in explained], total)}: "
                               "likely mistake: one sample's gradient"), lines[:3]
    assert mutants.first_naming_line(md, ["grad_last_sample"]) <= mutants.BUDGET_NAMED_BY
    assert len(md.split("\n")) <= mutants.BUDGET_LINES
    passed = [c for c in result.cases if c.passed]
    assert f"- passed: {verdict_case_list(passed, total)}" in lines
    assert md.count("| dw |") == 1  # one comparison table
    assert all(listed_once("\n".join(lines), c.index) for c in result.cases if not c.passed)


def test_check_on_the_stubs_says_each_function_not_implemented_once(tmp_path):
    """The untouched stubs: every part fails because its function raises NotImplementedError. The terminal
    (check.py, grade -v) says so in one line for the whole grading, each function once with its parts."""
    from rich.console import Console

    from autograder.grading.scoretable import print_table

    parts = ["conv_forward", "conv_backward", "max_pool", "im2col"]
    outcome = grade(SOLUTIONS.parent / "assignment", table=TABLE.visible_only(), parts=parts, user=None)
    for pid in parts:
        md = reads(output(outcome, pid)["output"])
        assert md.count("not implemented yet") == 1 and "case 1:" not in md, md
    console = Console(width=200, record=True, file=open("/dev/null", "w"))
    print_table(outcome, console, verbose=True, table=TABLE.select(parts))
    text = console.export_text()
    line = next(row for row in text.splitlines() if row.startswith("not implemented yet: "))
    numbers = {pid: TABLE.part(pid).number for pid in parts}
    assert f"conv2d_forward ({numbers['conv_forward']}, {numbers['conv_backward']})" in line, line
    assert f"im2col ({numbers['im2col']})" in line and text.count("not implemented yet") == len(parts) + 1


def test_a_fact_the_evidence_states_names_the_mistake_in_the_cases_own_numbers():
    """A structural finding says what the value is in the case's numbers (the evidence's "said": "out is the
    expected value times 0.5"): the verdict names the mistake with the lead's fact, then its paragraph; a folded
    case whose fact differs says its own; a hidden case never gets one from here."""
    part = TABLE.part("conv_forward")
    name = part.mistakes[0]
    facts = ["out is the expected value times 0.5 (= 1/N)", "out is the expected value times 0.25 (= 1/N)"]
    cases = [fabricated_case(i + 1, f"x ({i + 1}, 1, 5, 5)", lines=[facts[i]], mistakes=[name],
                             evidence={"value": "out", "said": {name: facts[i]}}) for i in range(2)]
    hidden = CaseResult(index=3, hidden=True, passed=False, label="x (3, 1, 5, 5)", kind="wrong", mistakes=[name],
                        evidence={"value": "out", "said": {name: "out is the expected value times 0.125"}})
    md = PartResult(part, cases + [hidden], 0.0).feedback(fmt="md")
    verdict = verdict_lines(md)
    assert verdict[0] == f"cases 1-3 (all 3): likely mistake: {MISTAKES[name].title} [{name}]: {facts[0]}", verdict
    assert verdict[1] == MISTAKES[name].text_for(part)
    assert reads(case_blocks(md)[2]).endswith(f"FAILED; {facts[1]}")
    assert "0.125" not in md


def test_a_memory_error_is_a_crash_said_once_per_place():
    part = TABLE.part("conv_forward")
    where = "conv2d_forward ran out of memory (MemoryError) at conv.py, line 7, in conv2d_forward"
    cases = [CaseResult(index=i, hidden=False, passed=False, label=f"x ({i}, 1, 5, 5)", kind="error",
                        lines=["your code ran out of memory (MemoryError, at conv.py, line 7, in conv2d_forward)"],
                        located=[where]) for i in (1, 2)]
    verdict = verdict_lines(PartResult(part, cases, 0.0).feedback(fmt="md"))
    assert verdict == [f"cases 1-2 (all 2): {where}"]
