#!/usr/bin/env bash
# Gradescope runs this once, as root, on Ubuntu 22.04 (Python 3.10), to build the image.
#
# Two environments, so that student code cannot even read torch:
#   /autograder/grader-venv  torch (CPU-only build), numpy, gradescope-utils: root only (mode 700)
#   /autograder/worker-venv  numpy only: what the sandboxed worker runs, readable by the sandbox user
set -euxo pipefail

ROOT=${AUTOGRADER_ROOT:-/autograder}
SANDBOX_USER=${CONVGRADE_SANDBOX_USER:-convgrade-sandbox}

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip

python3 -m venv "$ROOT/grader-venv"
"$ROOT/grader-venv/bin/pip" install --no-cache-dir --upgrade pip
# CPU-only torch from PyTorch's CPU index: never the multi-GB CUDA build.
"$ROOT/grader-venv/bin/pip" install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu "torch>=2.2,<3"
"$ROOT/grader-venv/bin/pip" install --no-cache-dir -r "$ROOT/source/requirements-grader.txt"
chmod -R go-rwx "$ROOT/grader-venv"

python3 -m venv "$ROOT/worker-venv"
"$ROOT/worker-venv/bin/pip" install --no-cache-dir -r "$ROOT/source/requirements-worker.txt"
chmod -R a+rX "$ROOT/worker-venv"
chmod a+x "$ROOT"

id -u "$SANDBOX_USER" >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin --user-group "$SANDBOX_USER"

# Nothing under source/ is for the sandbox user's eyes.
chmod -R go-rwx "$ROOT/source"
