# PMO Pathways — the two commands a fresh machine needs: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
STAMP := $(VENV)/.installed

.PHONY: run test lint setup clean-db bench

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) content load
	$(FLASK) demo build --if-empty

## Serve the demo site at http://127.0.0.1:5000 (SQLite under instance/).
run: setup
	$(FLASK) run --host 127.0.0.1 --port 5000

## Run the whole suite: SQLite and a throwaway PostgreSQL, browser tests in Debian's chromium.
test: $(STAMP)
	bash scripts/test.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check app tests bench

bench: $(STAMP)
	$(PY) bench/run.py

clean-db:
	rm -f instance/pmo_pathways.sqlite3*
