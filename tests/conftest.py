"""Shared test set-up: the reference solutions are importable as flat modules
(``import conv``), the way the grader's worker imports a submission."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "solutions"))
sys.path.insert(1, str(ROOT))
