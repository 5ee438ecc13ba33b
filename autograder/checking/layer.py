"""The one checker of every part that is a layer or a function: its table entry says it all.

For one case: draw the inputs (inputs.py), call the student's forward with the options by keyword,
ask the oracle for the same inputs, compare every graded output, check that no input changed; then,
for a part with a backward, call it with the forward's cache and an upstream gradient, and compare
every gradient the table lists. The result is a feedback.Report: the problems (none: the case
passed), the credit (a part that grades forward and backward together gives the forward its
``forward_share`` of the case when it is right, the backward the rest), the mistake recognised on a
wrong value (mistakes.py), and for a failed call the expected shapes and the output-size formula.
"""

import functools

import numpy as np

from ..sandbox.channel import CallError
from ..sandbox.stages import stage
from .calls import Call, Failed, check_backward_inputs, expect
from .compare import RTOL_GRAD, RTOL_OUT, type_name
from .compare import wrong_mask
from .evidence import Report, call_error_text, expected_shapes, is_shape_error, located_error, mismatch_row, verdict
from .inputs import as_option, make_inputs, sent
from .mistakes import MISTAKES
from .mistakes import close as close_enough
from .mistakes import diagnose
from .regions import describe, layout_of
from .sizes import formula_lines
from . import structure


class _Oracle:
    """oracle.py, imported on first use: it imports torch (~2 s, ~270 MB), which listing or loading the
    case table (`python -m autograder list`, the grade-all parent process) does not need."""

    def __getattr__(self, name):
        from . import oracle as module

        return getattr(module, name)


oracle = _Oracle()
PICTURED = 4096  # a visible case keeps the values it got and expected up to this size (the notebook draws them)
MEMO = None  # grade-all: an oracle_cache.Memo, keeping the cases' deterministic values for the whole batch


def once_per_batch(step):
    """A CaseRun step whose result depends only on the part, the case and the random state: computed once
    per batch where grade-all installed a Memo (oracle_cache.py), else simply run."""
    @functools.wraps(step)
    def run(self, *args, **kwargs):
        return step(self, *args, **kwargs) if MEMO is None else MEMO.step(self, step, args, kwargs)
    return run


def rng_for(case):
    return np.random.default_rng(int(case.get("seed", 0)))


def options_of(part, case):
    """The case's keyword arguments, as the grader passes them (pairs as tuples); absent ones are not sent."""
    return {n: as_option(case[n]) for n in part.options if n in case}


class CaseRun:
    """The evidence of one case on the grader's side: inputs, options, the oracle's answers, variants,
    and what the judging found (the mistake recognised, general advice, a comparison row per wrong value)."""

    def __init__(self, part, case, rng):
        self.part, self.case = part, case
        self.options = options_of(part, case)
        self.inputs = self._draw(rng)
        self.args = sent(part, self.inputs)
        self.rng = rng
        self.dout = None
        self.expected = {}
        self._variants = {}
        self._memo = {}
        self.mistakes, self.advice, self.rows, self.info = [], [], [], []
        self.located, self.candidates, self.evidence, self.used = [], [], {}, {}
        self.wrong = {}  # {value: mask of its wrong elements} of a visible case (the notebook's pictures)
        self.arrays = {}  # {value: (got, expected)} of a visible case's small wrong values (the same pictures)
        self.pinpointed = False  # a wrong value's region says where it is wrong (regions.py)

    @once_per_batch
    def _draw(self, rng):
        return make_inputs(self.part, self.case, rng, self.options)

    @once_per_batch
    def solve(self):
        """The oracle's outputs (by the part's output names) and, with a backward, its gradients for an
        upstream gradient drawn now (by "dx", "dw", ... or "grads['w1']")."""
        if self.expected:
            return self.expected
        fn = getattr(oracle, self.part.oracle)
        upstream = None
        if self.part.backward:
            def upstream(outs):
                self.dout = self.rng.standard_normal(outs[0].shape)
                return self.dout
        with stage("oracle"):
            outs, grads = fn(*[v for _, v in self.args], dout=upstream, **self.options)
        self.expected = self._named(outs, grads)
        return self.expected

    def _named(self, outs, grads):
        values = dict(zip(self.part.outputs, outs))
        for name, key in self.part.gradient_names(self.inputs):
            values[name] = grads.get(key)
        return values

    @once_per_batch
    def variant(self, inputs=None, options=None, backward=True):
        """The oracle's values with some inputs or options changed (same upstream gradient): what a
        known mistake computes. ``backward=False``: the outputs only (a change of the output's shape).
        Cached per change."""
        key = repr((sorted((k, id(v)) for k, v in (inputs or {}).items()), sorted((options or {}).items()),
                    backward))
        if key not in self._variants:
            args = dict(self.args)
            args.update(inputs or {})
            fn = getattr(oracle, self.part.oracle)
            dout = self.dout if self.part.backward and backward else None
            with stage("oracle"):
                outs, grads = fn(*args.values(), dout=dout, **{**self.options, **(options or {})})
            self._variants[key] = (inputs, self._named(outs, grads))  # inputs kept alive: their ids are the key
        return self._variants[key][1]

    def with_upstream(self, dout):
        """The oracle's values for the case's inputs and options with another upstream gradient ``dout`` (of the
        output's shape): what a backward that leaves part of dout out computes. Not cached (callers use memo)."""
        fn = getattr(oracle, self.part.oracle)
        with stage("oracle"):
            outs, grads = fn(*[v for _, v in self.args], dout=dout, **self.options)
        return self._named(outs, grads)

    @once_per_batch
    def memo(self, key, compute):
        """A value a mistake computes from the evidence (numpy or torch, grader side), computed once; in
        grade-all once per batch (keyed by the case and ``key``): it must never depend on what the student
        returned."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def judge(self, name, got, rtol):
        """Problems of one value; a wrong one gets a comparison row, a located line (where it is wrong) and,
        when this case has not diagnosed a value yet, the known mistake of the part whose evidence holds (or
        the candidates when several do, or general advice)."""
        expected = self.expected[name]
        why = f"the forward got {name[1:]}=None" if name.startswith("d") else "the input was None"
        problems = expect(name, got, expected, rtol=rtol, why_none=why, errors=False)
        if not problems:
            return problems
        if expected is None:
            self.located.append(verdict(name, got, expected, why_none=why))
            return problems
        self.rows.append(mismatch_row(name, got, expected, rtol))
        region = None
        if isinstance(got, np.ndarray) and got.shape == expected.shape and got.dtype == expected.dtype:
            mask = wrong_mask(got, expected, rtol)
            region = describe(mask, got, layout_of(name, got.ndim))
            if not self.case.get("hidden") and mask.ndim >= 2 and mask.any():
                self.wrong[name] = mask
                if got.size <= PICTURED:
                    self.arrays[name] = (got, expected)
            if region is not None and region.specific:
                problems.append(region.line(name))
        self.located.append(verdict(name, got, expected, region))
        if name in self.part.outputs and isinstance(got, np.ndarray) and got.shape != expected.shape:
            self.formula()
        if not self.mistakes and not self.candidates:
            self.diagnose(name, got, expected, rtol, problems)
        if region is not None and region.specific:
            self.pinpointed = True
        if self.pinpointed:  # where the wrong values are says more than vague general advice
            self.advice = [a for a in self.advice if not MISTAKES[a].vague]
        return problems

    def diagnose(self, name, got, expected, rtol, problems):
        """Name what the first wrong value of the case is: a known mistake of the part (the catalogue), else what
        structural evidence finds (structure.py, any part: its line joins the problems); or the candidates, or
        general advice. Values right but of another type name nothing (that message says it all), but for a float
        of lower precision than expected (float32 for float64): the structural low_precision names it."""
        near = close_enough(got, expected)  # right to the catalogue's tolerance: no variant can tell
        lower = isinstance(got, np.ndarray) and got.dtype.kind == expected.dtype.kind == "f" \
            and got.dtype.itemsize < expected.dtype.itemsize  # float32 where float64 belongs: structure.py says so
        if near and not (isinstance(got, np.ndarray) and got.dtype == expected.dtype) and not lower:
            return
        shaped, tested = structure.findings(self, name, got, rtol)
        found = diagnose([] if near else self.part.mistakes, self, name, got)
        named = found.found or shaped  # no known mistake of the part: what the value is, said as a fact
        if len(named) == 1:
            self.mistakes.append(named[0].name)
        else:
            self.candidates = [m.name for m in named]
        if not found.found:
            problems += unique_lines(f.text for f in shaped)
            self.located += unique_lines(f.hidden for f in shaped)
        if named or not self.evidence:
            self.evidence = {"value": name, "held": {**tested, **dict(found.held)},
                             "said": {f.name: f.text for f in shaped}}
        for a in found.advised:
            if a.name not in self.advice:
                self.advice.append(a.name)

    def aliased(self, call, name, value, inputs):
        """The problem of a returned value the docstring promises as a new array (the part's ``new_arrays``) that
        shares memory with an input, also as a hidden case's located line (it holds names only)."""
        if name not in self.part.new_arrays:
            return []
        lines = call.shared(name, value, inputs)
        self.located += [line.split(" (")[0] for line in lines]
        return lines

    def several(self, names, wrong, at):
        """A line naming the right values beside the wrong ones, where a stage returns several (put first among
        the stage's located lines, which start at index ``at``)."""
        right = [n for n in names if n not in wrong]
        if len(names) < 2 or not wrong or not right:
            return []
        line = f"right: {', '.join(right)}; wrong: {', '.join(n for n in names if n in wrong)}"
        self.located.insert(at, line)
        return [line]

    def info_once(self, lines):
        self.info += [t for t in lines if t not in self.info]

    def formula(self):
        """The output-size formula with this case's numbers, as an explanation; a hidden case may show it too
        (it holds the configuration's numbers only)."""
        lines = formula_lines(self)
        self.info_once(lines)
        self.located += [t for t in lines if t not in self.located]

    def failed_call(self, err, sb, stage, values, func=""):
        """Lines for a call that raised: the error and, for an exception, the shapes it should have
        returned and (a shape error) the output-size formula with this case's numbers."""
        lines = [call_error_text(err, sb.limits)]
        self.used[func] = list(err.used)
        line = located_error(err, func, student_files(sb))
        if line:
            self.located.append(line)
        if err.kind == "error" and not str(err).startswith(("NotImplementedError", "ModuleNotFoundError",
                                                            "ImportError", "SyntaxError")):
            try:
                self.solve()
                shapes = expected_shapes({k: self.expected.get(k) for k in values})
                if shapes:
                    self.info_once([f"the {stage} should return {shapes}"])
                if is_shape_error(str(err)):
                    self.formula()
            except Exception:  # noqa: BLE001 - the explanation is a courtesy; the oracle may refuse
                pass
        return lines

    def report(self, lines, credit=None, kind="", stages=()):
        return Report(lines=list(lines), credit=credit, kind=kind, mistakes=list(self.mistakes),
                      advice=list(self.advice), rows=list(self.rows), info=list(self.info), stages=list(stages),
                      located=list(self.located), used={k: list(v) for k, v in self.used.items()},
                      candidates=list(self.candidates), evidence=dict(self.evidence), wrong=dict(self.wrong),
                      arrays=dict(self.arrays))


def unique_lines(lines):
    return list(dict.fromkeys(lines))


def student_files(sb):
    """{module: path} of the files in the worker's run folder (the student's and the provided common.py)."""
    from ..sandbox.confine import provided_common

    files = dict(getattr(sb, "files", None) or {})
    try:
        files.setdefault("common", provided_common())
    except Exception:  # noqa: BLE001 - no provided common.py: only the student's files
        pass
    return files


def check_layer(sb, part, case):
    run = CaseRun(part, case, rng_for(case))
    printed = []
    forward_func = part.forward.rpartition(".")[2]
    try:
        fwd = Call(sb, part.forward, run.args, run.options, returns=part.returns)
    except CallError as err:
        printed.append((forward_func, err.output))
        lines = run.failed_call(err, sb, "forward", part.outputs, forward_func)
        return with_printed(run.report(lines, credit=0.0, kind=err.kind), printed)
    printed.append((fwd.func, fwd.output))
    run.used[fwd.func] = fwd.used
    try:
        got = fwd.outputs()
    except Failed as f:
        run.located.append(f"{fwd.func} did not return ({', '.join(part.returns)})"
                           if isinstance(part.returns, list) else f"{fwd.func} did not return {part.returns}")
        return with_printed(run.report(f.lines, credit=0.0), printed)
    run.solve()
    forward, wrong, at = [], set(), len(run.located)
    for name in part.outputs if part.grade_forward else ():
        found = run.judge(name, got[name], RTOL_OUT) + run.aliased(fwd, name, got[name], fwd.names)
        wrong |= {name} if found else set()
        forward += found
    forward[:0] = run.several(part.outputs if part.grade_forward else [], wrong, at)
    if not part.grade_forward and all(not expect(n, got[n], run.expected[n]) for n in part.outputs):
        # the forward another part grades is right on this case: not a cause of this part's failure
        run.used[fwd.func] = [u for u in fwd.used if u != part.forward]
    changed = fwd.unchanged("in the forward" if part.backward else "")
    run.located += [line.split(";")[0] for line in changed]
    forward += changed
    if not part.backward:
        return with_printed(run.report(forward), printed)

    backward, kind = [], ""
    if fwd.cache is None:
        backward = [f"{fwd.func} did not return ({', '.join(part.returns)}), so the backward cannot be called"]
    else:
        backward_func = part.backward.rpartition(".")[2]
        try:
            bwd = Call(sb, part.backward, [(part.upstream, run.dout), ("cache", fwd.cache)], {},
                       returns=part.backward_returns)
        except CallError as err:
            printed.append((backward_func, err.output))
            backward = run.failed_call(err, sb, "backward", [n for n, _ in part.gradient_names(run.inputs)],
                                       backward_func)
            kind = err.kind
        else:
            printed.append((bwd.func, bwd.output))
            run.used[bwd.func] = bwd.used
            try:
                changed = check_backward_inputs(bwd, fwd)
                run.located += [line.split(";")[0] for line in changed]
                backward = judge_gradients(run, part, bwd, fwd.names) + changed
            except Failed as f:
                returns = part.backward_returns
                run.located.append(f"{bwd.func} did not return "
                                   + (f"({', '.join(returns)})" if isinstance(returns, list) else returns))
                backward = list(f.lines)
    if part.grade_forward:  # forward and backward graded together: each earns its own share
        share = float(part.forward_share)
        credit = share * (not forward) + (1 - share) * (not backward)
        stages = [("forward", not forward), ("backward", not backward)]
    else:  # the forward only feeds the backward: the case is the backward's
        credit, stages = float(not forward and not backward), ()
    return with_printed(run.report(forward + backward, credit=credit, kind=kind, stages=stages), printed)


def judge_gradients(run, part, bwd, forward_inputs=()):
    if isinstance(part.grads, str):  # one dict of gradients, keyed like that input dict
        value, keys = bwd.value, set(run.inputs[part.grads])
        if not isinstance(value, dict) or set(value) != keys:
            shown = f"keys {sorted(value)}" if isinstance(value, dict) else type_name(value)
            run.located.append(f"{bwd.func} must return a dict with keys {sorted(keys)}")
            return [f"{bwd.func} must return a dict with keys {sorted(keys)}, got {shown}"]
        grads = {name: value[key] for name, key in part.gradient_names(run.inputs)}
    else:
        grads = bwd.outputs()
    problems, wrong, names = [], set(), [name for name, _ in part.gradient_names(run.inputs)]
    at = len(run.located)
    for name in names:
        found = run.judge(name, grads[name], RTOL_GRAD) + run.aliased(bwd, name, grads[name],
                                                                       [*bwd.names, *forward_inputs])
        wrong |= {name} if found else set()
        problems += found
    return run.several(names, wrong, at) + problems


def with_printed(report, printed):
    for func, text in printed:
        report.printed_by(func, text)
    return report
