# Central Logger. `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
INSTALLED := $(VENV)/.installed
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help install run test test-api lint format demo bench bench-full wrk faults dist test-deploy otel-js mutants

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml clients/python/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -e ".[dev]" -e clients/python
	touch $@

install: $(INSTALLED) ## Create .venv and install the service, the shipper and the dev tools

run: install web-build ## Start the service on http://localhost:8000 (`make run PORT=8001` for another port; embedded PostgreSQL unless DATABASE_URL is set)
	$(VENV)/bin/central-logger serve --port $(PORT)

demo: install ## Ship sample logs into the database `make run` uses
	$(VENV)/bin/central-logger demo

lint: install ## ruff and mypy
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

format: install ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix src tests
	$(VENV)/bin/ruff format src tests

otel-js: ## The OpenTelemetry JavaScript SDK for tests/api/test_otlp_javascript.py (npm, pinned by its lock file)
	npm ci --prefix tests/otel_js --no-audit --no-fund

test-api: install web-build chromium otel-js ## The service's tests on a real PostgreSQL (TEST_DATABASE_URL or embedded)
	$(PY) -m pytest tests/api -q

mutants: install ## Apply a fixed list of small bugs to a copy of the tree, one at a time; each must fail its tests (docs/testing.md)
	$(PY) -m bench.mutants

dist: install web-build ## Wheel and sdist in dist/, the built dashboard inside (no Node.js needed where they install)
	rm -rf dist build
	$(PY) -m build --outdir dist . > /dev/null
	@ls dist

test-deploy: dist ## The package, TLS, metrics across workers, the Dockerfile (hadolint) and PaaS files
	$(PY) -m pytest tests/deploy -q

include clients/python/client.mk
include web/web.mk

test: lint lint-client web-types-check test-api test-client web-test test-e2e test-deploy ## Everything CI runs

wrk: ## Install Debian's wrk (the benchmark's HTTP load generator) when it is missing
	@command -v wrk >/dev/null || (apt-get update && apt-get install -y wrk)

bench: install wrk ## About 1M logs: ingestion, queries and metrics against this machine's limits
	$(PY) -m bench.perf --logs 1000000

faults: install ## PostgreSQL restart and SIGTERM under load: every 2xx'd log stored (docs/reliability.md)
	$(PY) -m bench.faults --clients 8 --seconds 30

bench-full: install wrk ## 10M logs (queries and batch ingestion at 1M and 10M), retention under load, a 10-minute memory soak
	$(PY) -m bench.perf --checkpoints 1000000,10000000 --soak-seconds 600
