#!/usr/bin/env bash
# Gradescope autograder image set-up (Ubuntu, runs as root). Upload a zip of this repository's
# root with this file and run_autograder at the top level (see docs/gradescope.md).
set -euo pipefail
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-pip bubblewrap util-linux
cd /autograder/source
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install -q --upgrade pip
# The course's packages (torch, ...) come with the 'course' extra; the harness needs none.
/autograder/venv/bin/pip install -q -e '.[course]'
# Compute and cache the reference results now, once, instead of in every student's run.
GRADER_CACHE_DIR=/autograder/cache /autograder/venv/bin/grader verify "${ASSIGNMENT:-intro_ann}"
