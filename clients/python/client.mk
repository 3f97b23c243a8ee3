# The Python shipper (clients/python). The main Makefile includes this file;
# paths are relative to the repository root.
PY ?= .venv/bin/python
PIP ?= .venv/bin/pip
CLIENT_DIR ?= clients/python

.PHONY: test-client lint-client

test-client: ## The shipper's tests against the real service (uvicorn + PostgreSQL)
	$(PIP) install --quiet --disable-pip-version-check -e $(CLIENT_DIR)
	$(PY) -m pytest tests/clients -q

lint-client: ## ruff and mypy --strict on the shipper
	$(PY) -m ruff check $(CLIENT_DIR)/src tests/clients
	$(PY) -m mypy --strict $(CLIENT_DIR)/src tests/clients
