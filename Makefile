# Central Logger. `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
INSTALLED := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run test test-api lint format demo

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

install: $(INSTALLED) ## Create .venv and install the package with its dev tools

run: install ## Start the service on http://localhost:8000 (embedded PostgreSQL unless DATABASE_URL is set)
	$(VENV)/bin/central-logger serve

demo: install ## Ship sample logs into the database `make run` uses
	$(VENV)/bin/central-logger demo

lint: install ## ruff and mypy
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/mypy

format: install ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix src tests
	$(VENV)/bin/ruff format src tests

test-api: install ## The service's tests on a real PostgreSQL (TEST_DATABASE_URL or embedded)
	$(PY) -m pytest tests/api -q

test: lint test-api ## Everything CI runs
