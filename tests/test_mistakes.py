"""The grader-side computations of the mistakes catalogue (autograder/checking/mistakes/), checked against torch.

A mistake is named when the student's value equals what the mistake computes; these helpers compute it
with numpy or torch on the grader's own inputs. Given the RIGHT parameters each must reproduce the
oracle exactly, on every case of the table, or it could name a mistake that is not there.
"""

import numpy as np
import pytest

from autograder.checking import mistakes
from autograder.checking.layer import CaseRun, rng_for
from autograder.checking.sizes import expected_size, geometry
from autograder.checking.table import load

TABLE = load()


def runs(pid, kinds=None):
    part = TABLE.part(pid)
    out = []
    for case in part.cases:
        if kinds is None or case.get("kind", "normal") in kinds:
            run = CaseRun(part, case, rng_for(case))
            run.solve()
            out.append(run)
    return out


def case_ids(pid):
    return [f"{pid}-{i}" for i, _ in enumerate(TABLE.part(pid).cases, 1)]


def test_every_part_lists_known_mistakes_only_and_each_has_evidence():
    for p in TABLE.parts:
        for name in p.mistakes:
            m = mistakes.MISTAKES[name]
            assert m.text and m.title and callable(m.test), f"part {p.id} of cases.yaml: mistake {name}"


@pytest.mark.parametrize("pid", ["conv_backward", "dilated_conv", "transposed_backward"])
def test_folding_dx_with_the_cases_own_stride_and_dilation_is_the_oracles_dx(pid):
    for run in runs(pid):
        g = geometry(run)
        np.testing.assert_allclose(mistakes.conv.backward_variant(run, g.stride, g.dilation), run.expected["dx"],
                                   atol=1e-9)


@pytest.mark.parametrize("pid", ["conv_backward", "dilated_conv", "max_pool", "avg_pool", "col2im"])
def test_the_single_contributions_add_up_to_the_oracles_answer(pid):
    for run in runs(pid):
        targets, values = mistakes.catalogue.contributions(run)
        value = "x" if pid == "col2im" else "dx"
        e = run.expected[value]
        planes = targets.shape[0]
        inside = targets >= 0
        flat = (targets + np.arange(planes)[:, None] * (e.size // planes))[inside]
        summed = np.bincount(flat, weights=np.asarray(values)[inside], minlength=e.size).reshape(e.shape)
        np.testing.assert_allclose(summed, e, atol=1e-9)
        assert not mistakes.catalogue.single_contributions(e.copy(), e, targets, values)  # the right answer: no mistake


def test_max_pool_variants_without_ties_are_the_oracles_answer():
    for run in runs("max_pool", kinds={"normal"}):
        np.testing.assert_array_equal(mistakes.pooling.last_max_indices(run), run.expected["indices"])
        np.testing.assert_allclose(mistakes.pooling.every_max_dx(run), run.expected["dx"], atol=1e-12)


def test_max_pool_variants_with_ties_differ_where_ties_are():
    differ = 0
    for run in runs("max_pool", kinds={"ties", "constant"}):
        differ += not np.array_equal(mistakes.pooling.last_max_indices(run), run.expected["indices"])
    assert differ  # the tie cases do hold ties that the first-maximum rule decides


@pytest.mark.parametrize("pid", [p.id for p in TABLE.parts if p.size and p.check == "layer"])
def test_the_size_formula_gives_the_oracles_output_shape(pid):
    for run in runs(pid):
        g = geometry(run)
        out = run.expected[TABLE.part(pid).outputs[0]]
        if g.kind == "conv" and out.ndim != 4:  # toeplitz, im2col: a matrix over the windows' grid
            continue
        assert tuple(out.shape[2:]) == expected_size(g), (pid, run.case)
