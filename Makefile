# coopdiag: two commands for a fresh machine.
#   make run   - create .venv, install, migrate the embedded SQLite database, load the
#                demo data (once), serve on http://127.0.0.1:8000
#   make test  - create .venv if needed, install with the dev extras, run the whole suite
#
# Re-runs are fast: installs happen again only when a lock file or pyproject.toml changes
# (stamp files in .venv/). Dependencies come from the lock files, hash-checked:
# requirements.lock (run) and requirements-dev.lock (test); `make lock` regenerates them.

PYTHON ?= python3
VENV   ?= .venv
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=

BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
LOCK      := requirements.lock
DEV_LOCK  := requirements-dev.lock
# Exactly the locked packages (--no-deps: nothing the lock does not name), then the project
# itself, built with the locked setuptools (--no-build-isolation: nothing fetched unchecked).
INSTALL_LOCKED = $(PIP) install --quiet --require-hashes --no-deps -r
INSTALL_SELF   = $(PIP) install --quiet --no-deps --no-build-isolation -e .

.DEFAULT_GOAL := help
.PHONY: help run test lint install install-dev migrate demo lock clean

help:
	@echo "make run   - install and serve coopdiag on http://$(HOST):$(PORT)"
	@echo "make test  - install the dev extras, lint, and run the whole test suite"
	@echo "make lint  - ruff check and mypy (configured in pyproject.toml)"
	@echo "make lock  - regenerate requirements.lock and requirements-dev.lock from pyproject.toml"
	@echo "make clean - remove .venv and caches (the database in var/ is kept)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP_RUN): $(LOCK) pyproject.toml | $(BIN)/python
	@echo "==> Instalando las dependencias fijadas en $(LOCK) (la primera vez, 1 a 2 minutos)"
	$(INSTALL_LOCKED) $(LOCK)
	$(INSTALL_SELF)
	@touch $@

$(STAMP_DEV): $(DEV_LOCK) pyproject.toml | $(BIN)/python
	@echo "==> Instalando las dependencias de desarrollo fijadas en $(DEV_LOCK)"
	$(INSTALL_LOCKED) $(DEV_LOCK)
	$(INSTALL_SELF)
	@touch $@ $(STAMP_RUN)

install: $(STAMP_RUN)

install-dev: $(STAMP_DEV)

migrate: $(STAMP_RUN)
	@echo "==> Migrando la base de datos"
	$(BIN)/coopdiag db upgrade

demo: migrate
	@echo "==> Cargando los datos de demostración (solo la primera vez)"
	$(BIN)/coopdiag demo

# The web server and one queue worker beside it (PDF reports, e-mails), on the embedded
# SQLite queue: no other server to start.
run: demo
	@echo "==> Sirviendo en http://$(HOST):$(PORT) con un worker de la cola (Ctrl+C para salir)"
	$(BIN)/coopdiag serve --host $(HOST) --port $(PORT) --with-worker

# `make lint` runs every check named in LINT_CHECKS, each a lint-NAME target below.
LINT_CHECKS := lint-ruff lint-ruff-format lint-mypy
.PHONY: $(LINT_CHECKS)

lint: $(LINT_CHECKS)

lint-ruff: $(STAMP_DEV)
	$(BIN)/ruff check .

lint-ruff-format: $(STAMP_DEV)
	$(BIN)/ruff format --check .

lint-mypy: $(STAMP_DEV)
	$(BIN)/mypy

# pytest exits 5 when it collected no test: that fails here like any other
# non-zero status.
test: lint $(STAMP_DEV)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The lock files are for CPython 3.11 on Linux x86_64 (CI, the Docker image), resolved
# against PyPI alone whatever pip's local configuration says. Pins already in a lock are
# kept; `make lock LOCK_ARGS=--upgrade` moves every package to its newest allowed version.
LOCK_TOOLS := $(VENV)/lock-tools
LOCK_ARGS  ?=
COMPILE = CUSTOM_COMPILE_COMMAND="make lock" PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS= PIP_EXTRA_INDEX_URL= \
	$(LOCK_TOOLS)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--index-url https://pypi.org/simple --no-emit-index-url $(LOCK_ARGS) pyproject.toml

$(LOCK_TOOLS)/bin/pip-compile:
	$(PYTHON) -m venv $(LOCK_TOOLS)
	PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS= $(LOCK_TOOLS)/bin/python -m pip install --quiet --index-url https://pypi.org/simple 'pip-tools==7.7.0'

lock: $(LOCK_TOOLS)/bin/pip-compile
	@$(LOCK_TOOLS)/bin/python -c 'import platform, sys; sys.exit(None if sys.version_info[:2] == (3, 11) and platform.system() == "Linux" and platform.machine() == "x86_64" else "make lock: run it with CPython 3.11 on Linux x86_64 (PYTHON=python3.11)")'
	$(COMPILE) --extra build -o $(LOCK)
	$(COMPILE) --extra dev --extra build --constraint $(LOCK) -o $(DEV_LOCK)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache build *.egg-info
