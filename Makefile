# Every task a person runs. Each target creates .venv by itself when needed.
PY_BOOT ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
# The sandboxed worker's interpreter: numpy only, readable by the sandbox user.
# Debian's /usr/bin/python3 where it exists (pyenv's lives under /root, mode 700).
WORKER_BOOT ?= $(shell test -x /usr/bin/python3 && /usr/bin/python3 -c 'import venv' 2>/dev/null && echo /usr/bin/python3 || echo $(PY_BOOT))
WVENV   := .venv-worker
WSTAMP  := $(WVENV)/.installed
SUBMISSION ?= solutions

.PHONY: help sysdeps test stubs docs lint grade autograder handout bench mutation-report clean

help:
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/'

$(STAMP): requirements.txt
	test -x $(PY) || $(PY_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

$(WSTAMP): requirements-worker.txt
	test -x $(WVENV)/bin/python || $(WORKER_BOOT) -m venv $(WVENV)
	$(WVENV)/bin/python -m pip install --quiet -r requirements-worker.txt
	chmod -R a+rX $(WVENV)
	touch $(WSTAMP)

venv: $(STAMP) $(WSTAMP)

# bubblewrap: the worker's allow-list root (SECURITY.md). Installed where we are root with apt-get (CI,
# Gradescope's setup.sh does the same); elsewhere the grader falls back and says so.
sysdeps:
	@command -v bwrap >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bubblewrap >/dev/null 2>&1 || \
		{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bubblewrap; }; } || \
		echo "bubblewrap not installed: the worker uses its own namespaces (see SECURITY.md)"

test: $(STAMP) $(WSTAMP) sysdeps ## run the whole test suite (after regenerating the documentation's derived blocks)
	$(PY) tools/docs.py
	$(PY) -m pytest -q -n 2 tests

stubs: $(STAMP) ## regenerate assignment/ stubs from solutions/
	$(PY) tools/make_stubs.py

docs: $(STAMP) ## regenerate the parts tables, upload lists and API index from the case table
	$(PY) tools/docs.py

lint: $(STAMP) ## ruff
	$(VENV)/bin/ruff check .

grade: $(STAMP) $(WSTAMP) ## grade SUBMISSION (default: the reference solutions) and print the table
	$(PY) -m autograder grade $(SUBMISSION)

bench: $(STAMP) $(WSTAMP) ## performance figures vs Gradescope's smallest container (QUICK=1: no batch, ~4 min)
	$(PY) tools/bench.py $(if $(QUICK),--quick)

mutation-report: $(STAMP) $(WSTAMP) ## grade every mutant (tests/mutants) and correct style (tests/styles): the kill matrix
	$(PY) tools/mutation_report.py

autograder: $(STAMP) ## build dist/autograder.zip for Gradescope
	$(PY) tools/build_autograder.py

handout: $(STAMP) ## build dist/handout.zip for students (stubs, common.py, README, check.py, visualize.py)
	$(PY) tools/make_stubs.py
	$(PY) tools/docs.py
	$(PY) tools/build_handout.py

clean:
	rm -rf dist build .pytest_cache
