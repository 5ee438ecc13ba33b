"""oracle_cache: grade-all computes each case's deterministic values once per batch.

A submission graded with the cache (in memory, then by another process's Memo from the batch's folder)
gets exactly the results it gets without it: the same scores, the same feedback (mistakes named from
variants and from the mistakes' own computations included), on visible and hidden cases. The speed part's
yardsticks are measured once.
"""

import mutants
import numpy as np
import pytest

from autograder.checking import layer, oracle_cache
from autograder.checking.table import load
from autograder.run import grade

PARTS = ["conv_forward", "conv_backward", "max_pool", "transposed_forward", "col2im", "gemm_efficiency"]
MUTANTS = ["conv_kernel_flipped", "conv_db_mean", "maxpool_last_tied_max_wins", "tconv_weight_axes_swapped",
           "col2im_fancy_index_add", "gemm_ignores_bias"]
SEED = 1234  # one secret for the "batch", as grade-all shares one


def comparable(data):
    """Scores and feedback; the speed part's feedback holds timings, so only its score."""
    return [(t["number"], t["score"], t["output"] if not t["name"].startswith("4.5") else "") for t in data["tests"]]


@pytest.fixture(scope="module")
def submissions(tmp_path_factory):
    base = tmp_path_factory.mktemp("subs")
    subs = {"reference": mutants.reference_copy(base / "reference")}
    for name in MUTANTS:
        subs[name] = mutants.build(name, base / name)
    return subs


@pytest.fixture
def fresh_memo():
    yield
    oracle_cache.uninstall()


def test_cached_grading_is_the_same_grading(submissions, tmp_path, fresh_memo):
    table = load().select(PARTS)
    plain = {k: comparable(grade(p, table=table, seed=SEED).data) for k, p in submissions.items()}
    folder = tmp_path / "oracle"
    folder.mkdir()
    first = oracle_cache.install(folder)
    for k, p in submissions.items():
        assert comparable(grade(p, table=table, seed=SEED).data) == plain[k], k
    assert first.misses > 0 and first.hits > first.misses  # later submissions reuse what the first computed
    computed = first.misses
    for k, p in submissions.items():  # the same process again: everything from memory
        assert comparable(grade(p, table=table, seed=SEED).data) == plain[k], k
    # ... but a speed measurement that a busy machine made implausible is measured again (a new attempt)
    assert set(first.missed[computed:]) <= {"calibration"}, first.missed[computed:]
    second = oracle_cache.install(folder)  # another grading process of the batch: loads, computes nothing
    for k, p in submissions.items():
        assert comparable(grade(p, table=table, seed=SEED).data) == plain[k], k
    assert set(second.missed) <= {"calibration"} and second.hits > 0, second.missed


def test_another_secret_is_another_value(fresh_memo):
    table = load().select(["conv_forward"])
    part = table.part("conv_forward")
    from autograder.grading.grader import case_for

    hidden = next(i for i, c in enumerate(part.cases, 1) if c.get("hidden"))
    oracle_cache.install()
    runs = []
    for secret in (1, 2):
        case = case_for(secret, part, hidden, part.cases[hidden - 1])
        run = layer.CaseRun(part, case, layer.rng_for(case))
        run.solve()
        runs.append(run)
    assert not np.array_equal(runs[0].inputs["x"], runs[1].inputs["x"])
    assert not np.array_equal(runs[0].expected["out"], runs[1].expected["out"])


def test_cached_values_are_read_only(fresh_memo):
    part = load().part("conv_backward")
    case = part.cases[0]
    oracle_cache.install()
    run = layer.CaseRun(part, case, layer.rng_for(case))
    run.solve()
    again = layer.CaseRun(part, case, layer.rng_for(case))
    again.solve()
    assert again.expected["dx"] is run.expected["dx"]  # computed once
    for value in (run.inputs["x"], run.expected["out"], run.expected["dw"], run.dout):
        with pytest.raises(ValueError):
            value[...] = 0
    oracle_cache.uninstall()
    plain = layer.CaseRun(part, case, layer.rng_for(case))
    plain.solve()
    assert np.array_equal(plain.expected["dx"], run.expected["dx"]) and np.array_equal(plain.dout, run.dout)


def test_calibration_once_per_batch(fresh_memo):
    calls = []

    def measure():
        calls.append(1)
        return 0.5 + len(calls)

    assert oracle_cache.calibration(["t"], measure) == 1.5 and oracle_cache.calibration(["t"], measure) == 2.5
    oracle_cache.install()
    assert oracle_cache.calibration(["t"], measure) == 3.5 and oracle_cache.calibration(["t"], measure) == 3.5
    assert len(calls) == 3
