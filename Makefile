# Developer tasks for crmlib. `make test` is what CI runs (see .ci/run); it needs only
# python3 (with venv) and, for the PostgreSQL half of the suite, Debian's postgresql server
# package: the tests start their own server (tests/pgserver.py).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The versions the suite was run on; `make lock` resolves them again.
LOCK := requirements.lock
CUSTOMERS ?= 5000
PYTEST_ARGS ?=
# pytest-xdist workers for `make test` (auto: one per core); PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= auto
# benchmarks/ may not exist yet in a fresh checkout (git keeps no empty folders).
LINT_PATHS := $(wildcard crmlib tests benchmarks conftest.py)
# Python keeps compiled modules beside their sources; an environment that turns that off
# (PYTHONDONTWRITEBYTECODE) would have every crm process, kernel and test worker compile
# crmlib afresh: about half a second for each of the many processes a test run starts.
unexport PYTHONDONTWRITEBYTECODE

.DEFAULT_GOAL := help
.PHONY: help venv demo test test-fast lint lab lock screenshots docs clean distclean

help:
	@echo "make venv       create $(VENV) and install crmlib with its dev extras from $(LOCK) (again when either changes)"
	@echo "make demo       build the demo database (CUSTOMERS=$(CUSTOMERS)) and run the scheduled reports into reports/"
	@echo "make test       pytest in parallel (SQLite and PostgreSQL, nbval on every notebook), then ruff, mypy and lint-imports"
	@echo "make test-fast  the inner loop: pytest on SQLite only, without the browser, notebook and slow tests (marked)"
	@echo "make lint       ruff, mypy and the import layers (lint-imports) only"
	@echo "make lab        open the workspace (notebooks, data) in JupyterLab, as \$$CRM_USER (default admin)"
	@echo "make lock       resolve pyproject.toml afresh into $(LOCK) (then run make test)"
	@echo "make screenshots  renew docs/notebook-*.png (Voila + headless Chromium, tests/ui/test_voila.py)"
	@echo "make docs       regenerate docs/reference/ (CLI, KPIs, settings, environment) from the code"
	@echo "make clean      remove caches and build files; make distclean also removes $(VENV)"

venv: $(STAMP)

# Reinstalled only when pyproject.toml or the lock is newer than the stamp.
$(STAMP): pyproject.toml $(LOCK)
	@if ! $(BIN)/python -m pip --version >/dev/null 2>&1; then \
		echo "creating $(VENV) with $(PYTHON)"; \
		rm -rf $(VENV); \
		$(PYTHON) -m venv $(VENV) || { \
			echo "error: '$(PYTHON) -m venv' failed; on Debian/Ubuntu: apt-get install python3-venv" >&2; \
			exit 1; }; \
	fi
	$(BIN)/python -m pip install --disable-pip-version-check -c $(LOCK) -e ".[dev]"
	@touch $@

# A throw-away environment resolves the newest versions pyproject.toml admits. The lock must
# also install on the oldest Python admitted (Debian 12's python3 is 3.11.2): `make test`
# names any pin that refuses it, to be lowered by hand.
lock:
	rm -rf $(VENV)-lock
	$(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/python -m pip install --disable-pip-version-check -q -e ".[dev]"
	{ sed -n '1,2p' $(LOCK); $(VENV)-lock/bin/python -m pip freeze --exclude-editable \
		| grep -v -i '^crmlib'; } > $(LOCK).new
	mv $(LOCK).new $(LOCK)
	rm -rf $(VENV)-lock

# As $CRM_USER when set, else the demo's administrator.
lab: venv
	$(BIN)/crm --user $(or $(CRM_USER),admin) lab

# Rebuilding replaces data/crm.db without asking: its contents go to a safety backup first
# (the path is printed), as the demo's administrator whoever CRM_USER names.
demo: venv
	$(BIN)/crm --user admin demo --fresh --yes --customers $(CUSTOMERS)
	$(BIN)/crm --user admin report due

test: venv
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)
	$(BIN)/python -m ruff check $(LINT_PATHS)
	$(BIN)/python -m ruff format --check $(LINT_PATHS)
	$(BIN)/python -m mypy
	$(BIN)/lint-imports

# What `make test` leaves in and this leaves out is marked in the tests (pyproject.toml lists
# the marks); `make test` still runs everything.
FAST := not browser and not notebooks and not slow and not postgres

test-fast: venv
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "$(FAST)" $(PYTEST_ARGS)

screenshots: venv
	CRM_SCREENSHOT_DIR=docs $(BIN)/python -m pytest -q tests/ui/test_voila.py -k screenshot

# tests/test_docs.py fails when a page in docs/reference/ differs from what this writes.
docs: venv
	$(BIN)/python -m crmlib.docgen

lint: venv
	$(BIN)/python -m ruff check $(LINT_PATHS)
	$(BIN)/python -m ruff format --check $(LINT_PATHS)
	$(BIN)/python -m mypy
	$(BIN)/lint-imports

clean:
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
