"""What the grader concludes once every case of every part is graded, and no single case can tell:

- **Candidates decided by another case.** When the evidence of two known mistakes holds on a case (their
  variants give the same value, or the same wrong shape), the case names neither alone (checking/layer.py
  keeps both as candidates). Another case of the part whose evidence on the same value holds for one and
  not for the other decides (never a hidden case of a part whose ``hidden_feedback`` is ``none``: that one
  shows nothing but its status, and naming it from another case would show more); where none does, or
  cases disagree, both stay candidates, and the feedback says so.
- **A cause in another part.** The worker records which graded functions a call ran (sandbox/worker.py).
  A failing case whose call ran a graded function that fails the part grading it (conv2d_gemm calling the
  student's im2col, which fails 4.2) gets that said first: fix that one first. A part's own functions do
  not count, nor does a part that only measures speed.

Both only change what the student reads, never a score. What the worker recorded is student-controlled:
at worst it sends the student's own feedback to another of their own parts.
"""

from ..checking.parts import METRICS


def conclude(results):
    """Decide candidates and trace causes in every PartResult of ``results`` ({part id: PartResult})."""
    decide_candidates(results)
    trace_causes(results)


# ----------------------------------------------------------------- candidates
def diagnosed(result, case):
    """(the student function that returned the diagnosed value, the value's name), or None."""
    value = case.evidence.get("value")
    if not value:
        return None
    part = result.part
    return (part.forward if value in part.outputs else part.backward), value


def decide_candidates(results):
    """A case with candidate mistakes takes the one that the other cases leave: each case whose diagnosis
    tested every candidate on the same value of the same student function (in its own part or another that
    grades that function, as conv2d_forward in 1.1 and 3.1), and found some but not all of them, rules the
    others out."""
    by_value = {}
    for result in results.values():
        for case in result.cases:
            key = diagnosed(result, case)
            if key:
                by_value.setdefault(key, []).append((result, case))
    for result in results.values():
        for case in result.cases:
            if len(case.candidates) >= 2:
                decide(case, [(r, c) for r, c in by_value.get(diagnosed(result, case), []) if c is not case],
                       result)


def decide(case, others, result):
    left, deciders = set(case.candidates), []
    for other_result, other in others:
        if other.hidden and other_result.part.hidden_feedback == "none":
            continue  # its part shows nothing of a hidden case but its status: not even through another case
        held = other.evidence.get("held", {})
        if not all(m in held for m in case.candidates):
            continue
        fits = {m for m in case.candidates if held[m]}
        if fits and fits != set(case.candidates):
            left &= fits
            deciders.append((other_result, other))
    if len(left) == 1:
        (name,) = left
        rest = [m for m in case.candidates if m != name]
        other_result, other = deciders[0]
        where = f"case {other.index}{' (hidden)' if other.hidden else ''}"
        if other_result is not result:
            where += f" of {other_result.part.number} {other_result.part.title}"
        case.mistakes, case.candidates = [name], []
        case.notes.append(("decided", rest, where))


# ----------------------------------------------------------------- causes in other parts
def grading_parts(results):
    """{"module.function": [PartResult]} of the parts that grade each function for correctness and fail it:
    a case whose stage of that function failed (a part graded forward + backward fails its backward only
    where the backward's own stage failed)."""
    out = {}
    for result in results.values():
        part = result.part
        if part.check in METRICS:
            continue  # a speed part: failing it says nothing about the function's values
        stages = {"backward": part.backward} if part.backward else {}
        if part.grade_forward or not part.backward:
            stages["forward"] = part.forward
        for stage, ref in stages.items():
            if any(fails(case, stage, len(stages)) for case in result.cases):
                out.setdefault(ref, []).append(result)
    return out


def fails(case, stage, graded):
    """Did ``stage`` fail in the case? Its own record where the case has one per stage; else the case's (a
    failure before the stages, such as a forward that raised, is the forward's)."""
    if case.passed or case.kind == "machine":  # (the grading machine failed it: nothing said of the function)
        return False
    recorded = dict(case.stages)
    if stage in recorded:
        return not recorded[stage]
    return graded == 1 or stage == "forward"


def own_functions(part):
    return {ref for ref in (part.forward if part.grade_forward or not part.backward else "", part.backward) if ref}


def trace_causes(results):
    graders = grading_parts(results)
    for result in results.values():
        own = own_functions(result.part)
        for case in result.cases:
            if case.passed:
                continue
            for caller, used in case.used.items():
                for ref in used:
                    if ref in own:
                        continue
                    failing = [r for r in graders.get(ref, []) if r is not result]
                    if failing:
                        parts = " and ".join(f"{r.part.number} {r.part.title}" for r in failing)
                        func = ref.rpartition(".")[2]
                        if func == caller:  # the forward of a part that grades its backward only
                            line = (f"this part's backward gets the result of your {func}, which is wrong on "
                                    f"this case (it fails {parts}): fix {func} first, then check this part again")
                        else:
                            line = (f"{caller} used your {func}, which fails {parts}: fix that first, then check "
                                    "this part again")
                        if line not in case.causes:
                            case.causes.append(line)
