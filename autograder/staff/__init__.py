"""Staff: what only course staff run.

A whole Gradescope export at once: reading it (export.py), grading it with long-lived grading processes
(batch.py, pool.py, batch_worker.py) and writing grades.csv, the summary and the plots (report.py), the
regrade diff (regrade.py), the class's mistakes and crashes (classreport.py; term.py reads a term's
results.json without regrading, for `class-report`) and, on request, the code similarity (similarity.py);
and removing the sandbox users grading created (cleanup.py). It may import everything below it (run.py and
the packages it uses); nothing but the command line imports it, and the student handout leaves it out.
"""
