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
# Gradescope's Python, 3.10 (pyenv's, else python3.10 on PATH; empty where the machine has none):
# `make test` also runs the worker, the student-facing tests and what it can of the grader under it.
ifeq ($(origin PY310_BOOT),undefined)
PY310_BOOT := $(shell for p in $$(pyenv root 2>/dev/null)/versions/3.10*/bin/python3.10 \
	$${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.10*/bin/python3.10 $$(command -v python3.10); do \
	"$$p" -c 'import sys, venv; assert sys.version_info[:2] == (3, 10)' 2>/dev/null && { echo "$$p"; break; }; done)
endif
V310    := .venv-py310
V310STAMP := $(V310)/.installed
# The tests that need no torch, run by the 3.10 interpreter itself (the rest: tests/test_py310.py).
PY310_TESTS := tests/test_environment.py tests/test_stubs.py tests/test_compare.py tests/test_readme.py \
	tests/test_submission_zip.py tests/test_regions.py tests/test_static.py
# As root in a checkout that someone else owns (`sudo make grade`): the venvs made here go back to
# that owner, so grading as root never leaves the TA's checkout unusable for the TA.
OWNER   := $(shell stat -c %u:%g . 2>/dev/null)
GIVE_BACK = if [ "$$(id -u)" = 0 ] && [ -n "$(OWNER)" ] && [ "$(OWNER)" != "0:0" ]; then chown -R $(OWNER) $(1); fi
SUBMISSION ?= solutions

.PHONY: help sysdeps container-deps container-image test test-py310 gradescope-test stubs docs lint grade demo-batch autograder handout prairielearn bench mutation-report diagnosis-report clean

help:
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/'

$(STAMP): requirements.txt
	test -x $(PY) || $(PY_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)
	@$(call GIVE_BACK,$(VENV))

$(WSTAMP): requirements-worker.txt
	test -x $(WVENV)/bin/python || $(WORKER_BOOT) -m venv $(WVENV)
	$(WVENV)/bin/python -m pip install --quiet -r requirements-worker.txt
	chmod -R a+rX $(WVENV)
	touch $(WSTAMP)
	@$(call GIVE_BACK,$(WVENV))

# torch for the grader under 3.10: only the CPU build (a +cpu version, which no index with a CUDA
# build has), only where pip finds one; tools/py310.py then says what ran and what did not.
$(V310STAMP): requirements-py310.txt requirements-worker.txt requirements.txt
	test -x $(V310)/bin/python || $(PY310_BOOT) -m venv $(V310)
	$(V310)/bin/python -m pip install --quiet -r requirements-py310.txt
	$(V310)/bin/python -m pip install --quiet "$$(grep -oE '^torch==[^ ;]*[+]cpu' requirements.txt)" >/dev/null 2>&1 \
		|| echo "no CPU build of torch for Python 3.10 found by pip: the 3.10 run goes without the oracle"
	chmod -R a+rX $(V310)
	touch $(V310STAMP)
	@$(call GIVE_BACK,$(V310))

venv: $(STAMP) $(WSTAMP) $(if $(PY310_BOOT),$(V310STAMP))

# bubblewrap: the worker's allow-list root (SECURITY.md). Installed where we are root with apt-get (CI,
# Gradescope's setup.sh does the same); elsewhere the grader falls back and says so. strace: the test that
# traces the worker's system calls against its allow-list (tools/trace_syscalls.py).
sysdeps:
	@command -v bwrap >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bubblewrap >/dev/null 2>&1 || \
		{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bubblewrap; }; } || \
		echo "bubblewrap not installed: the worker uses its own namespaces (see SECURITY.md)"
	@command -v strace >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends strace >/dev/null 2>&1; } || \
		echo "strace not installed: the test that traces the worker's system calls skips"

# Gradescope's container in the tests (tools/gradescope_container.py): podman, runc and mmdebstrap from
# Debian's packages, where we are root with apt-get; elsewhere the container tests skip and say why.
container-deps:
	@{ command -v podman && command -v runc && command -v mmdebstrap; } >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
		command -v apt-get >/dev/null 2>&1 && { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		podman runc mmdebstrap >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get \
		install -y --no-install-recommends podman runc mmdebstrap; }; }; } || \
		echo "podman not installed: the tests in Gradescope's container skip (see tools/gradescope_container.py)"

test: $(STAMP) $(WSTAMP) $(if $(PY310_BOOT),$(V310STAMP)) sysdeps container-deps ## run the whole test suite (after regenerating the stubs and the documentation's derived blocks; Gradescope's container where podman runs), and its Python 3.10 part
	$(PY) tools/make_stubs.py
	$(PY) tools/docs.py
	@failed=""; \
	CONVGRADE_PY310="$(PY310_BOOT)" $(PY) -m pytest -q -n 2 --dist loadgroup -rs tests || failed="the test suite"; \
	$(MAKE) --no-print-directory test-py310 || failed="$${failed:+$$failed and }its Python 3.10 part"; \
	if [ -n "$$failed" ]; then echo "make test: $$failed failed"; exit 1; fi

test-py310: $(if $(PY310_BOOT),$(V310STAMP)) ## the Python 3.10 part of `make test` (Gradescope's Python)
ifeq ($(PY310_BOOT),)
	@echo "Python 3.10: none on this machine (no \$$(pyenv root)/versions/3.10*, no python3.10 on PATH): nothing ran under Python 3.10"
else
	$(V310)/bin/python -m pytest -q -rs $(PY310_TESTS)
	$(V310)/bin/python tools/py310.py $(PY310_TESTS)
endif

# The root of Gradescope's container, built ahead (the container tests build it where it is missing): Ubuntu
# 22.04 where Ubuntu's archive works, else Debian 12 with this machine's Python 3.10 (tools/container_root.py).
container-image: $(STAMP) container-deps ## build (or find) the root of Gradescope's container in ~/.cache/convgrade/container
	CONVGRADE_PY310="$(PY310_BOOT)" $(PY) tools/container_root.py

gradescope-test: $(STAMP) $(WSTAMP) sysdeps container-deps ## the autograder zip set up and run in Gradescope's container (podman, Docker's defaults): reference, stubs, hostile submissions
	$(PY) tools/build_autograder.py
	CONVGRADE_PY310="$(PY310_BOOT)" $(PY) -m pytest -v -rs tests/test_gradescope_container.py

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

demo-batch: $(STAMP) $(WSTAMP) ## a small sample Gradescope export (dist/demo-export.zip) graded by grade-all into dist/demo-grades
	$(PY) tools/demo_batch.py

mutation-report: $(STAMP) $(WSTAMP) ## grade every mutant (tests/mutants) and correct style (tests/styles): the kill matrix
	$(PY) tools/mutation_report.py

diagnosis-report: $(STAMP) $(WSTAMP) ## how each mutant's feedback names its bug: named, only pointed near, misleading
	$(PY) tools/diagnosis_report.py

autograder: $(STAMP) ## build dist/autograder.zip for Gradescope
	$(PY) tools/build_autograder.py

prairielearn: $(STAMP) ## build dist/prairielearn/: the grader image's folder (docker build) and the course's serverFilesCourse/convgrade
	$(PY) tools/build_prairielearn.py

handout: $(STAMP) ## build dist/handout.zip for students (stubs, common.py, README, check.py, visualize.py)
	$(PY) tools/make_stubs.py
	$(PY) tools/docs.py
	$(PY) tools/build_handout.py

clean:
	rm -rf dist build .pytest_cache
