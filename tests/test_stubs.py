"""The handout's stubs: generated from solutions/, in sync, free of solution code."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import make_stubs  # noqa: E402

MODULES = make_stubs.MODULES


def contract_functions(path):
    tree = ast.parse(path.read_text())
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")}


def test_assignment_is_up_to_date():
    assert make_stubs.main(["--check"]) == 0, "assignment/ is stale: run `make stubs`"


def test_make_stubs_is_idempotent():
    files = make_stubs.expected_files()
    again = {name: make_stubs.stub_source(make_stubs.stub_source(text)) if name != "common.py" else text
             for name, text in files.items()}
    assert again == files


@pytest.mark.parametrize("name", MODULES)
def test_stub_has_no_solution_code(name):
    text = (ROOT / "assignment" / f"{name}.py").read_text()
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    for fn in contract_functions(ROOT / "assignment" / f"{name}.py").values():
        body = [n for n in fn.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
        assert len(body) == 1 and isinstance(body[0], ast.Raise), f"{name}.{fn.name} holds code besides raise"


@pytest.mark.parametrize("name", MODULES)
def test_stub_keeps_signatures_and_docstrings(name):
    sol = contract_functions(ROOT / "solutions" / f"{name}.py")
    stub = contract_functions(ROOT / "assignment" / f"{name}.py")
    assert sol.keys() == stub.keys()
    for fname, fn in sol.items():
        assert ast.dump(fn.args) == ast.dump(stub[fname].args), fname
        assert ast.get_docstring(fn) == ast.get_docstring(stub[fname]), fname


def test_stubs_import_and_raise_not_implemented():
    """In a fresh interpreter on the stubs alone: every contract function raises
    NotImplementedError with a message naming the function."""
    code = r"""
import ast, inspect, sys
sys.path.insert(0, sys.argv[1])
import importlib
for name in sys.argv[2:]:
    mod = importlib.import_module(name)
    tree = ast.parse(open(mod.__file__).read())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            fn = getattr(mod, node.name)
            nargs = len([p for p in inspect.signature(fn).parameters.values() if p.default is p.empty])
            try:
                fn(*[None] * nargs)
            except NotImplementedError as e:
                assert node.name in str(e), (node.name, str(e))
            else:
                raise SystemExit(f"{name}.{node.name} did not raise NotImplementedError")
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "assignment"), *MODULES],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_common_is_shared_verbatim():
    assert (ROOT / "assignment" / "common.py").read_text() == (ROOT / "solutions" / "common.py").read_text()


def test_stub_source_rules():
    src = (
        "import numpy as np\n"
        "# BEGIN SOLUTION\n"
        "def _helper():\n    return 1\n"
        "# END SOLUTION\n"
        "def f(x):\n"
        '    """Doc."""\n'
        "    # BEGIN SOLUTION\n"
        "    # HINT: add one\n"
        "    # STUB: y = None\n"
        "    return x + _helper()\n"
        "    # END SOLUTION\n"
    )
    stub = make_stubs.stub_source(src)
    assert "_helper" not in stub
    assert "    # add one\n    y = None\n    raise NotImplementedError('f: not implemented yet (add one)')" in stub
    with pytest.raises(ValueError):
        make_stubs.stub_source("# BEGIN SOLUTION\nx = 1\n")
