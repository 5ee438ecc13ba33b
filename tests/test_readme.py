"""The README's parts table is the case table's, and the README's commands exist."""

import re
from pathlib import Path

from autograder.table import load

ROOT = Path(__file__).resolve().parent.parent


def parts_table(table):
    rows = ["| # | part | file | points | cases (hidden) |", "| --- | --- | --- | ---: | --- |"]
    for p in table.parts:
        hidden = len(p.cases) - len(p.visible_cases)
        rows.append(f"| {p.number} | {p.title} | {p.module}.py | {p.weight:g} | {len(p.cases)} ({hidden}) |")
    return "\n".join(rows)


def test_readme_parts_table_matches_case_table():
    text = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- parts-table -->\n(.*?)\n<!-- /parts-table -->", text, re.S)
    assert m, "README lost its parts-table markers"
    assert m.group(1).strip() == parts_table(load()), "README parts table is stale; paste parts_table(load())"


def test_default_weights_total_100():
    assert load().total == 100


def test_readme_make_targets_exist():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, re.M))
    used = set(re.findall(r"`make ([a-z0-9-]+)", (ROOT / "README.md").read_text()))
    assert used and used <= targets, f"README mentions missing targets: {used - targets}"
