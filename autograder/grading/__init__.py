"""Grading: a submission's cases and parts, and everything written about them.

The grader runs the checkers over the visible, then the hidden cases and keeps each case's and part's
result (grader.py), and what only all the parts tell together (diagnosis.py: a cause in another part, a
mistake decided by another case); the feedback a student reads (verdict.py: the cases grouped by
diagnosis, each said once; feedback.py: Markdown on Gradescope, plain text in a terminal), the score table
(scoretable.py), Gradescope's results.json (results.py), the same grading for the other platforms
(prairielearn.py: PrairieLearn's results.json; classroom.py: GitHub Classroom's workflow; notebook.py: HTML
for the handout's notebook checker, with pictures.py's pictures) and the environment fingerprint of a
grading (environment.py). It may import checking and sandbox, never intake or staff.
"""
