# PMO Pathways — the two commands a fresh machine needs: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
STAMP := $(VENV)/.installed
LOCK := requirements.lock
LINTED := app tests bench migrations scripts wsgi.py gunicorn.conf.py

.PHONY: run test lint lock setup clean-db bench

# Exact versions from the lock file, then the project itself without resolving again.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## Refresh requirements.lock: the newest versions that fit pyproject.toml, in a clean venv.
lock:
	rm -rf .lock-venv && python3 -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[test]'
	.lock-venv/bin/python -m pip freeze --exclude-editable > $(LOCK)
	rm -rf .lock-venv

setup: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) content load
	$(FLASK) demo build --if-empty

## Serve the demo site at http://127.0.0.1:5000 (SQLite under instance/). The demo logins
## use their password alone: two-step log-in is required of nobody here (admins elsewhere).
run: setup
	PMO_TWO_STEP_REQUIRED_FOR= $(FLASK) run --host 127.0.0.1 --port 5000

## Run the whole suite: SQLite and a throwaway PostgreSQL, browser tests in Debian's chromium.
test: $(STAMP)
	$(MAKE) --no-print-directory lint
	bash scripts/test.sh

## ruff (lint and format), mypy over app/, and the import rule (docs/architecture.md).
lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/mypy
	$(PY) scripts/check_imports.py

## Benchmarks, each against a floor measured in the same run (see bench/*.py docstrings).
bench: $(STAMP)
	$(PY) bench/run.py
	PMO_TWO_STEP_REQUIRED_FOR= $(PY) bench/pages_bench.py

clean-db:
	rm -f instance/pmo_pathways.sqlite3*
