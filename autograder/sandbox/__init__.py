"""Sandbox: everything about the worker process, the only process that ever runs student code.

The worker's own source (worker.py, with codec.py, landlock.py, seccomp.py and lockdown.py inlined ahead of
it: it sees no grader file), the grader's side of one worker (session.py: start, calls, replies, kill), the
pipes and what crosses them (channel.py, codec.py), what the worker may see (confine.py), who it runs as and
what its uid leaves behind (isolation.py, procs.py), its limits (limits.py), its scratch folder's budget where
it is on disk (scratch.py), what it printed (output.py), where a stopped call was and how a worker that
died ended (stack.py) and its CPU time (cpu.py). It imports nothing of the
grader outside this package: every later stage builds on it.
"""
