"""What the student's code printed is shown on every visible case of every kind of part, passed or not, and
on no hidden case (README: "A visible case shows everything, its printed output included").

A kind of part is what decides how its cases are checked: the checker the table names (``check:``), and for
the generic layer checker whether the part has a backward and whether it grades its forward. One part of
each kind, read from the table, is graded with every function it calls wrapped in one that prints.
"""

import re

import pytest
from test_feedback import case_blocks, output, plain
from test_grader import submission

from autograder.checking.table import load
from autograder.run import grade

TABLE = load()


def kind(part):
    if part.check != "layer":
        return part.check
    if not part.backward:
        return "layer, forward only"
    return "layer, forward and backward" if part.grade_forward else "layer, backward graded"


KINDS = {}
for _p in TABLE.parts:
    KINDS.setdefault(kind(_p), _p.id)


def printing(refs):
    """{module: code} wrapping each "module.function" of ``refs`` in a function that prints its name first."""
    patches = {}
    for ref in refs:
        module, _, func = ref.rpartition(".")
        patches[module] = patches.get(module, "") + (
            f"\n_printing_{func} = {func}\n\n\ndef {func}(*args, **kwargs):\n"
            f"    print('PRINTED-BY-{func}')\n    return _printing_{func}(*args, **kwargs)\n")
    return patches


def calls(part):
    return [ref for ref in (part.forward, part.backward) if ref]


def check_printed(outcome, part, passed=None):
    """Every visible case shows what each function it called printed; no hidden case shows any."""
    blocks = case_blocks(output(outcome, part.id)["output"])
    result = outcome.parts[part.id]
    for i, case in enumerate(part.cases, 1):
        if case.get("hidden"):  # a passed hidden case is only counted in the verdict's "passed" line
            assert "PRINTED-BY" not in plain(blocks.get(i, "")), (part.id, i)
            continue
        assert i in blocks, (part.id, i, sorted(blocks))  # a visible case that printed is shown, folded or not
        text = plain(blocks[i])
        if passed is not None:
            assert result.cases[i - 1].passed == passed, (part.id, i, text)
        for ref in calls(part):
            func = ref.rpartition(".")[2]
            assert f"your code printed ({func}):" in text and f"PRINTED-BY-{func}" in text, (part.id, i, text)
    # the terminal's text shows it too
    assert "PRINTED-BY" in result.feedback(fmt="text")


def test_every_kind_of_part_is_found_in_the_table():
    assert {"layer, forward only", "layer, forward and backward", "receptive_field", "gemm_efficiency"} <= set(KINDS)


@pytest.mark.parametrize("pid", sorted(KINDS.values()), ids=lambda pid: f"{kind(TABLE.part(pid))}: {pid}")
def test_printed_output_on_every_visible_case_passed(tmp_path, pid):
    part = TABLE.part(pid)
    outcome = grade(submission(tmp_path, patches=printing(calls(part))), parts=[pid], user=None)
    timing = part.check == "gemm_efficiency"
    check_printed(outcome, part, passed=None if timing else True)  # the speed part may lose to a busy machine
    if not timing:
        assert outcome.data["score"] == part.weight  # printing changes nothing


def test_printed_output_on_a_failing_receptive_field_case(tmp_path):
    """A wrong answer that raised nothing (the bespoke checker showed printed output only when a call raised)."""
    part = TABLE.part("receptive_field")
    wrong = ("\n_right_receptive_field = receptive_field\n\n\ndef receptive_field(kernel_sizes, strides=None, "
             "dilations=None):\n    return [r + 1 for r in _right_receptive_field(kernel_sizes, strides, dilations)]\n")
    patches = {"dilated": wrong + printing([part.forward])["dilated"]}
    outcome = grade(submission(tmp_path, patches=patches), parts=["receptive_field"], user=None)
    check_printed(outcome, part, passed=False)
    assert outcome.data["score"] == 0
    assert re.search(r"returned \[\d", plain(output(outcome, "receptive_field")["output"]))
