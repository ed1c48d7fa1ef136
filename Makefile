# coopdiag: two commands for a fresh machine.
#   make run   - create .venv, install, migrate the embedded SQLite database, load the
#                demo data (once), serve on http://127.0.0.1:8000
#   make test  - create .venv if needed, install with the dev extras, run the whole suite
#
# Re-runs are fast: installs happen again only when pyproject.toml changes
# (stamp files in .venv/).

PYTHON ?= python3
VENV   ?= .venv
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=

BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
# Compiles WeasyPrint's hottest modules with Cython (reports/speedups.py): reports about
# 20 % faster. Without a C compiler the reports still work, slower; tests in CI insist.
SPEEDUPS := $(BIN)/python -m reports.speedups || echo "aviso: WeasyPrint sin compilar; los informes PDF serán más lentos"

.DEFAULT_GOAL := help
.PHONY: help run test install install-dev migrate demo clean

help:
	@echo "make run   - install and serve coopdiag on http://$(HOST):$(PORT)"
	@echo "make test  - install the dev extras and run the whole test suite"
	@echo "make clean - remove .venv and caches (the database in var/ is kept)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e '.[speedups]'
	@$(SPEEDUPS)
	@touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e '.[dev,speedups]'
	@$(SPEEDUPS)
	@touch $@ $(STAMP_RUN)

install: $(STAMP_RUN)

install-dev: $(STAMP_DEV)

migrate: $(STAMP_RUN)
	$(BIN)/coopdiag db upgrade

demo: migrate
	$(BIN)/coopdiag demo

run: demo
	$(BIN)/uvicorn app.main:app --host $(HOST) --port $(PORT)

# pytest exits 5 when it collected no test: that fails here like any other
# non-zero status.
test: $(STAMP_DEV)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
