#!/usr/bin/env bash
# Gradescope runs this once, as root, on Ubuntu 22.04 (Python 3.10), to build the image.
#
# Two environments, so that student code cannot even read torch:
#   /autograder/grader-venv  torch 2.13.0 (CPU-only build), numpy, gradescope-utils: root only (mode 700)
#   /autograder/worker-venv  numpy only: what the sandboxed worker runs, readable by the sandbox user
# and an unprivileged sandbox user for student code (see SECURITY.md).
set -euxo pipefail

ROOT=${AUTOGRADER_ROOT:-/autograder}
SANDBOX_USER=${CONVGRADE_SANDBOX_USER:-convgrade-sandbox}
# Where torch comes from: PyTorch's CPU index on Gradescope. A machine that cannot reach it (the container
# test, tools/gradescope_container.py) points pip elsewhere, e.g. "--find-links /opt/wheels", and names
# the Python that wheel is for (the grader's venv; the worker's stays on python3, Gradescope's 3.10).
TORCH_SOURCE=${CONVGRADE_TORCH_SOURCE:---index-url https://download.pytorch.org/whl/cpu}
GRADER_PYTHON=${CONVGRADE_GRADER_PYTHON:-python3}

export DEBIAN_FRONTEND=noninteractive
apt-get update
# procps: pkill in run_autograder; passwd: useradd; util-linux: ipcrm; bubblewrap: the worker's
# allow-list root (where the container refuses its namespaces, the grader falls back and says so)
apt-get install -y --no-install-recommends python3 python3-venv python3-pip procps passwd util-linux bubblewrap

umask 022
"$GRADER_PYTHON" -m venv "$ROOT/grader-venv"
"$ROOT/grader-venv/bin/pip" install --no-cache-dir --upgrade pip
# torch exactly as the tests run it, CPU-only, from PyTorch's CPU index: never the multi-GB CUDA
# build (2.13.0+cpu exists only there). The same pins as every requirements file (one set, kept
# in step by tests/test_environment.py).
# shellcheck disable=SC2086  # TORCH_SOURCE is pip options, split on purpose
"$ROOT/grader-venv/bin/pip" install --no-cache-dir $TORCH_SOURCE "torch==2.13.0+cpu"
"$ROOT/grader-venv/bin/pip" install --no-cache-dir -r "$ROOT/source/requirements-grader.txt"
chmod -R go-rwx "$ROOT/grader-venv"

# The worker's interpreter: Ubuntu's python3 (under /usr, readable by everyone) plus numpy.
python3 -m venv "$ROOT/worker-venv"
"$ROOT/worker-venv/bin/pip" install --no-cache-dir -r "$ROOT/source/requirements-worker.txt"
chmod -R a+rX "$ROOT/worker-venv"
# Fail the image build, not the first grading, when an install did not give the pinned versions;
# prints the grader's and the worker's Python, numpy and torch for the build log.
(cd "$ROOT/source" && CONVGRADE_WORKER_PYTHON="$ROOT/worker-venv/bin/python" \
    "$ROOT/grader-venv/bin/python" -m autograder environment --check)
chmod 711 "$ROOT"
# The grader's bytecode, compiled once into the image: each run is a fresh container, which would otherwise
# compile every grader module again before grading (CPU that half a core pays on every submission).
"$ROOT/grader-venv/bin/python" -m compileall -q "$ROOT/source/autograder"

id -u "$SANDBOX_USER" >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin --user-group "$SANDBOX_USER"

# Nothing under source/ is for the sandbox user's eyes (run_autograder repeats this per run).
chmod -R go-rwx "$ROOT/source"
# Nothing of the grader's installs left lying around for others to read (caches).
rm -rf /root/.cache/pip
