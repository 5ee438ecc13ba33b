"""Hostile submissions: each one is the reference solutions with one module patched.

``ATTACKS`` (attacks.py) lists them; ``build.make_submission`` writes one into a
folder (or a zip) for tests/test_hostile.py, which grades it through the real
grading path and checks that nothing escaped.
"""
