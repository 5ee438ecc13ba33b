"""Intake: a submission as it arrives, before anything of it runs.

Finding the graded files of a folder or zip (locate.py; safe unpacking in unzip.py), the static checks of
each file (static.py: readable text, syntax, forbidden imports) and, on Gradescope, the course's rate
limit (ratelimit.py). It may import the sandbox package (the worker's list of forbidden frameworks) and
nothing else of the grader: the graded modules come in as a parameter, from the case table.
"""
