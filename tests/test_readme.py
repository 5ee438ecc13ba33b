"""The documentation's generated blocks are current, the API document is the course's, and the README's
commands exist."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.checking.table import load

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import docs  # noqa: E402

SHARED = ROOT.parent / "shared" / "ASSIGNMENT.md"
INDEX = "\n## Index of graded functions\n"


def test_generated_blocks_are_current():
    proc = subprocess.run([sys.executable, "tools/docs.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_changed_weight_makes_the_blocks_stale():
    table = load()
    table.parts[0].weight += 1
    assert ROOT / "README.md" in docs.stale(table)


def test_fill_replaces_only_the_named_block():
    text = "a\n<!-- x -->\nold\n<!-- /x -->\nb\n<!-- y -->\nkeep\n<!-- /y -->\n"
    assert docs.fill(text, "x", "new") == "a\n<!-- x -->\nnew\n<!-- /x -->\nb\n<!-- y -->\nkeep\n<!-- /y -->\n"


@pytest.mark.skipif(not SHARED.is_file(), reason="the course's shared/ASSIGNMENT.md is not beside this checkout")
def test_api_document_is_the_courses():
    ours = (ROOT / "docs" / "API.md").read_text(encoding="utf-8")
    assert INDEX in ours, "docs/API.md lost its index heading"
    assert ours.split(INDEX)[0].rstrip() == SHARED.read_text(encoding="utf-8").rstrip(), \
        "docs/API.md differs from ../shared/ASSIGNMENT.md: the two must agree"


def solution_functions():
    """{function name: (module, [argument names])} of every function of the graded solution modules."""
    out = {}
    for module in load().modules:
        tree = ast.parse((ROOT / "solutions" / f"{module}.py").read_text(encoding="utf-8"))
        for fn in tree.body:
            if isinstance(fn, ast.FunctionDef):
                out.setdefault(fn.name, (module, [a.arg for a in fn.args.args]))
    return out


def test_every_graded_function_the_contract_names_has_its_signature():
    """A graded function the contract (docs/API.md above its index) names is documented with the solution's
    argument names, in order; one it does not name yet is marked so in the generated index."""
    text = (ROOT / "docs" / "API.md").read_text(encoding="utf-8")
    contract, index = text.split(INDEX)
    functions = solution_functions()
    for part in load().parts:
        for ref in filter(None, (part.forward, part.backward)):
            module, _, func = ref.rpartition(".")
            m = re.search(rf"`{func}\(([^)]*)\)", contract)
            if m is None:
                assert f"`{module}.py`: `{func}`" in index and "(not in the contract)" in index, (
                    f"part {part.id} ({part.number}) grades {ref}, which the contract does not name and the index "
                    "does not mark: run `make docs`")
                continue
            documented = [a.split("=")[0].strip() for a in m.group(1).split(",") if a.strip()]
            assert documented == functions[func][1], (
                f"part {part.id} ({part.number}) grades {ref}({', '.join(functions[func][1])}), but docs/API.md "
                f"documents {func}({', '.join(documented)})")


def test_every_function_of_the_contract_is_graded():
    """The contract's functions (those the solutions define) are all graded by some part of the table."""
    contract = (ROOT / "docs" / "API.md").read_text(encoding="utf-8").split(INDEX)[0]
    graded = {ref.rpartition(".")[2] for p in load().parts for ref in (p.forward, p.backward) if ref}
    named = set(re.findall(r"`(\w+)\(", contract)) & set(solution_functions())
    assert named, "the contract names no function of the solutions"
    assert named <= graded, f"the contract names {sorted(named - graded)}, which no part of cases.yaml grades"


def test_a_function_outside_the_contract_is_marked_in_the_index():
    table = load()
    table.parts[0].forward = "conv.conv2d_forward_renamed"
    index = docs.graded_functions(table)
    assert "`conv.py`: `conv2d_forward_renamed(...)  (missing in solutions/conv.py)` (not in the contract)" in index
    assert "Graded here but not in the contract above: `conv.py`: `conv2d_forward_renamed`" in index


def test_readme_make_targets_exist():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, re.M))
    used = set(re.findall(r"`make ([a-z0-9-]+)", (ROOT / "README.md").read_text()))
    assert used and used <= targets, f"README mentions missing targets: {used - targets}"


def test_the_handout_order_follows_the_table_and_learns_of_a_new_module():
    """assignment/README.md's "In what order" list is generated: one item per graded module in the table's order,
    with the parts graded in it; a part moved to a module of its own gets an item from its solution's docstring."""
    table = load()
    text = docs.handout_order(table)
    items = re.findall(r"^\d+\. \*\*`(\w+)\.py`", text, re.M)
    assert items == list(table.modules)
    readme = (ROOT / "assignment" / "README.md").read_text(encoding="utf-8")
    assert text in readme
    for p in table.parts:
        assert p.number in " ".join(text.split()), p.id
    moved = table.part("receptive_field")
    moved.forward = "receptive.receptive_field"  # a new module, without a note in docs/handout_order.yaml
    moved.number = "8.1"
    table.parts.remove(moved)
    table.parts.append(moved)
    text = " ".join(docs.handout_order(table).split())
    n = list(table.modules).index("receptive") + 1
    assert text.endswith(f"{n}. **`receptive.py`: receptive.** Part 8.1: {moved.weight:g} points."), text[-200:]
    kept = table.part("dilate_kernel")
    assert "**`dilated.py`: dilated (atrous) convolution.**" in text
    assert f"Part {kept.number}: {kept.weight:g} points." in text
    assert ROOT / "assignment" / "README.md" in docs.stale(table)
