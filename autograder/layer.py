"""The one checker of every part that is a layer or a function: its table entry says it all.

For one case: draw the inputs (inputs.py), call the student's forward with the options by keyword,
ask the oracle for the same inputs, compare every graded output, check that no input changed; then,
for a part with a backward, call it with the forward's cache and an upstream gradient, and compare
every gradient the table lists. Problems are feedback lines (an empty list: the case passed).
"""

import numpy as np

from .calls import Call, Failed, check_backward_inputs, expect
from .compare import RTOL_GRAD, RTOL_OUT, type_name
from .hints import first_hint
from .inputs import as_option, make_inputs, sent


class _Oracle:
    """oracle.py, imported on first use: it imports torch (~2 s, ~270 MB), which listing or loading the
    case table (`python -m autograder list`, the grade-all parent process) does not need."""

    def __getattr__(self, name):
        from . import oracle as module

        return getattr(module, name)


oracle = _Oracle()


def rng_for(case):
    return np.random.default_rng(int(case.get("seed", 0)))


def options_of(part, case):
    """The case's keyword arguments, as the grader passes them (pairs as tuples); absent ones are not sent."""
    return {n: as_option(case[n]) for n in part.options if n in case}


class CaseRun:
    """The evidence of one case on the grader's side: inputs, options, the oracle's answers, variants."""

    def __init__(self, part, case, rng):
        self.part, self.case = part, case
        self.options = options_of(part, case)
        self.inputs = make_inputs(part, case, rng, self.options)
        self.args = sent(part, self.inputs)
        self.rng = rng
        self.dout = None
        self.expected = {}
        self._variants = {}

    def solve(self):
        """The oracle's outputs (by the part's output names) and, with a backward, its gradients for an
        upstream gradient drawn now (by "dx", "dw", ... or "grads['w1']")."""
        fn = getattr(oracle, self.part.oracle)
        upstream = None
        if self.part.backward:
            def upstream(outs):
                self.dout = self.rng.standard_normal(outs[0].shape)
                return self.dout
        outs, grads = fn(*[v for _, v in self.args], dout=upstream, **self.options)
        self.expected = self._named(outs, grads)
        return self.expected

    def _named(self, outs, grads):
        values = dict(zip(self.part.outputs, outs))
        for name, key in self.part.gradient_names(self.inputs):
            values[name] = grads.get(key)
        return values

    def variant(self, inputs=None, options=None):
        """The oracle's values with some inputs or options changed (same upstream gradient): what a
        known mistake computes. Cached per change."""
        key = repr((sorted((k, id(v)) for k, v in (inputs or {}).items()), sorted((options or {}).items())))
        if key not in self._variants:
            args = dict(self.args)
            args.update(inputs or {})
            fn = getattr(oracle, self.part.oracle)
            dout = self.dout if self.part.backward else None
            outs, grads = fn(*args.values(), dout=dout, **{**self.options, **(options or {})})
            self._variants[key] = (inputs, self._named(outs, grads))  # inputs kept alive: their ids are the key
        return self._variants[key][1]

    def judge(self, name, got, rtol):
        """Problems of one value, with the first hint of the part that explains it."""
        expected = self.expected[name]
        why = f"the forward got {name[1:]}=None" if name.startswith("d") else "the input was None"
        problems = expect(name, got, expected, rtol=rtol, why_none=why)
        if problems and expected is not None:
            line = first_hint(self.part.hints, self, name, got)
            if line:
                problems.append(line)
        return problems


def check_layer(sb, part, case):
    run = CaseRun(part, case, rng_for(case))
    fwd = Call(sb, part.forward, run.args, run.options, returns=part.returns)
    got = fwd.outputs()
    run.solve()
    problems = []
    for name in part.outputs if part.grade_forward else ():
        problems += run.judge(name, got[name], RTOL_OUT)
    problems += fwd.unchanged("in the forward" if part.backward else "")
    if not part.backward:
        return problems
    if fwd.cache is None:
        raise Failed(problems + [f"{fwd.func} did not return ({', '.join(part.returns)}), "
                                 "so the backward cannot be called"])
    bwd = Call(sb, part.backward, [(part.upstream, run.dout), ("cache", fwd.cache)], {},
               returns=part.backward_returns)
    if isinstance(part.grads, str):  # one dict of gradients, keyed like that input dict
        value, keys = bwd.value, set(run.inputs[part.grads])
        if not isinstance(value, dict) or set(value) != keys:
            shown = f"keys {sorted(value)}" if isinstance(value, dict) else type_name(value)
            return problems + [f"{bwd.func} must return a dict with keys {sorted(keys)}, got {shown}"]
        grads = {name: value[key] for name, key in part.gradient_names(run.inputs)}
    else:
        grads = bwd.outputs()
    for name, _ in part.gradient_names(run.inputs):
        problems += run.judge(name, grads[name], RTOL_GRAD)
    return problems + check_backward_inputs(bwd, fwd)
