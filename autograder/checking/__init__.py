"""Checking: judging one case of one part against torch.

The case table (table.py) and the grader's inputs drawn from it (inputs.py), the oracle and its per-batch
cache (oracle.py, oracle_cache.py), one call into student code (calls.py), comparison (compare.py), sizes
and geometry (sizes.py), the generic layer checker and the bespoke ones (layer.py, checks.py, parts.py),
the catalogue of known mistakes (mistakes/), structural evidence on any part (structure.py: transforms.py,
neighbours.py, symbols.py, fits.py), the evidence a checker collects (evidence.py), where in an
array the wrong values are (regions.py), what makes student-derived text safe to show (text.py), and the
difficulties of the table with the visible case that meets each alone (difficulties.py, coverage.py). It
may import the sandbox package, never intake, grading or staff.
"""
