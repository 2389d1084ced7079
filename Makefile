# Every target does its own set-up on a fresh machine: the venv, the project, bubblewrap.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The CUDA build of torch from this machine's disk; elsewhere pip picks what fits.
TORCH ?= torch==2.14.1 torchvision==0.29.1

.PHONY: all setup system demo test lint typecheck docs unit test-numerics bench clean

all: test

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH) || $(PY) -m pip install -q torch torchvision
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# bubblewrap (the sandbox), util-linux (setpriv, prlimit), Chromium and its driver (the browser
# tests) from Debian, when we may install.
system:
	@if ! command -v bwrap >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap util-linux chromium chromium-driver; \
	  else echo "warning: install bubblewrap (the sandbox), chromium and chromium-driver (browser tests) with apt-get"; fi; \
	fi

# A student's JupyterLab for the browser tests (tests/test_jupyterlab.py): its own venv, without
# the harness. Its kernel borrows numpy, torch and jinja2 from $(VENV) through a .pth line (pip
# would download torch again); the harness's own editable install is not seen there (a .pth in
# a folder added by a .pth is not read), and the test checks that `import graders` fails.
LAB_VENV ?= .venv-lab
LAB_STAMP := $(LAB_VENV)/.installed
$(LAB_STAMP): $(STAMP)
	test -x $(LAB_VENV)/bin/python || python3 -m venv $(LAB_VENV)
	$(LAB_VENV)/bin/python -m pip install -q 'jupyterlab>=4.2,<5'
	$(PY) -c "import sysconfig; print(sysconfig.get_paths()['purelib'])" > \
	  "$$($(LAB_VENV)/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")/zz_course_libs.pth"
	touch $(LAB_STAMP)

setup: system $(STAMP) $(LAB_STAMP)

demo: setup
	$(VENV)/bin/grader grade intro_ann examples/submissions --out reports --jobs 2 || test $$? -eq 3
	@echo "open reports/summary.html, or reports/<student>/feedback.html"

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

# The documentation site (mkdocs.yml): --strict, so a broken link, a missing page or a check
# API reference that no longer resolves fails the build (not --quiet: it hides the warnings
# that --strict counts). Offline: nothing is fetched.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

test: setup lint typecheck docs
	$(VENV)/bin/pytest

# No kernel: scoring, comparators, the executor against a fake kernel, the check API (~10 s).
unit: setup
	$(VENV)/bin/pytest -m "not kernel"

# The tests whose reports carry computed floats, with torch forced onto each of its CPU kernel
# paths and with more threads per kernel (numerics.py passes these to the kernels on purpose):
# every score must stay the same (tests/test_numerics.py compares two paths in one run).
NUMERICS_TESTS := tests/test_golden.py tests/test_grading.py tests/test_numerics.py
test-numerics: setup
	ATEN_CPU_CAPABILITY=default $(VENV)/bin/pytest $(NUMERICS_TESTS)
	ATEN_CPU_CAPABILITY=avx2 $(VENV)/bin/pytest $(NUMERICS_TESTS)
	GRADER_KERNEL_THREADS=2 OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 $(VENV)/bin/pytest $(NUMERICS_TESTS)

bench: setup
	$(PY) benchmarks/overhead.py

clean:
	rm -rf $(VENV) site reports/*/ reports/*.csv reports/*.html grader-feedback .pytest_cache .mypy_cache .ruff_cache
