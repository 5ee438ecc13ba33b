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


def test_every_graded_function_is_in_the_contract_with_its_signature():
    """Each function the table calls is named in docs/API.md, with the solution's argument names in order."""
    text = (ROOT / "docs" / "API.md").read_text(encoding="utf-8").split(INDEX)[0]
    for part in load().parts:
        for ref in filter(None, (part.forward, part.backward)):
            module, _, func = ref.rpartition(".")
            tree = ast.parse((ROOT / "solutions" / f"{module}.py").read_text(encoding="utf-8"))
            fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == func)
            m = re.search(rf"`{func}\(([^)]*)\)", text)
            assert m, f"{func} is graded but not in the contract"
            documented = [a.split("=")[0].strip() for a in m.group(1).split(",") if a.strip()]
            assert documented == [a.arg for a in fn.args.args], (func, documented)


def test_readme_make_targets_exist():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, re.M))
    used = set(re.findall(r"`make ([a-z0-9-]+)", (ROOT / "README.md").read_text()))
    assert used and used <= targets, f"README mentions missing targets: {used - targets}"
