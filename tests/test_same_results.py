"""The grader's output is what it was: every score and every word, for the reference, the stubs, every correct
style and every mutant, graded with one fixed hidden seed (tools/compare_results.py).

tests/data/results_snapshot.json.xz holds, for each of them, results.json (scores, the Gradescope output of each
part, the summary, the staff-only records), each part's feedback as the student reads it (Markdown and text) and
as staff read it, and each case's evidence (the mistakes named, where the values are wrong, the masks and values
the notebook's pictures come from, by sha256). It was recorded from the grader before the optimisations of issue
30 (one torch pass, batched transport, ...): an optimisation must not change a byte of it. Only what is timing by
nature is left out of the comparison: results.json's execution_time, the speed part's ms and ratio figures and
its leaderboard value, and the line a call that ran out of time was stopped at. A speed part that differs (its
pass or fail depends on the machine's load) is graded again before it counts.

After a change that is meant to change the feedback: `python tools/compare_results.py check` shows every
difference; review them, then `python tools/compare_results.py snapshot` records the new output.
"""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import compare_results  # noqa: E402

SNAPSHOT = compare_results.load(compare_results.SNAPSHOT)
NAMES = compare_results.submissions()


def test_the_snapshot_holds_every_submission():
    """Every mutant, style, the reference and the stubs: a new mutant is recorded with `snapshot NAME`."""
    missing = [n for n in NAMES if n not in SNAPSHOT["submissions"]]
    assert not missing, f"not in {compare_results.SNAPSHOT.name}: {missing}; record them with " \
                        f"`python tools/compare_results.py snapshot {' '.join(missing)}`"


@pytest.mark.parametrize("name", [n for n in NAMES if n in SNAPSHOT["submissions"]])
def test_grading_gives_byte_for_byte_what_it_gave(name):
    lines = []
    differ = compare_results.check({"seed": SNAPSHOT["seed"], "submissions": {name: SNAPSHOT["submissions"][name]}},
                                   [name], jobs=1, out=lines.append)
    assert not differ, "\n".join(lines)[:20000]


def test_a_changed_word_is_found():
    """The comparison itself: a snapshot with one word of one part's feedback changed fails, and says where."""
    name = "reference"
    got = compare_results.grade_one(name, SNAPSHOT["seed"])[1]
    changed = json.loads(json.dumps(got))
    part = sorted(changed["parts"])[0]
    changed["parts"][part]["text"] = changed["parts"][part]["text"].replace("passed", "pased", 1)
    lines = compare_results.differences(name, changed, got)
    assert lines and any(f".parts.{part}.text" in line for line in lines), lines
    assert compare_results.differences(name, got, got) == []
