# The dashboard (web/): included by the main Makefile.
# Node packages come from web/package-lock.json; the build lands in the Python
# package at src/central_logger/static (generated, git-ignored).

PY ?= .venv/bin/python
NPM ?= npm
WEB_DIR := web
WEB_OUT := src/central_logger/static
WEB_STAMP := $(WEB_DIR)/node_modules/.package-lock.json
WEB_SOURCES := $(shell find $(WEB_DIR)/src $(WEB_DIR)/public -type f 2>/dev/null) \
	$(WEB_DIR)/index.html $(WEB_DIR)/package.json $(WEB_DIR)/package-lock.json \
	$(WEB_DIR)/vite.config.ts $(WEB_DIR)/tsconfig.json
CHROMIUM ?= /usr/bin/chromium

.PHONY: web-deps web-build web-test web-types web-types-check chromium test-e2e

# npm ci again only when the lock file changed since the last install.
$(WEB_STAMP): $(WEB_DIR)/package-lock.json
	cd $(WEB_DIR) && $(NPM) ci --no-audit --no-fund
	@touch $@

web-deps: $(WEB_STAMP) ## Install the dashboard's Node packages (npm ci in web/)

# Rebuilt only when a source is newer than the built index.html.
$(WEB_OUT)/index.html: $(WEB_SOURCES) $(WEB_STAMP)
	cd $(WEB_DIR) && $(NPM) run build

web-build: $(WEB_OUT)/index.html ## Build the dashboard into src/central_logger/static

web-test: $(WEB_STAMP) ## Unit tests of the dashboard (Vitest)
	cd $(WEB_DIR) && npx vitest run

chromium: ## Install Debian's Chromium for the browser tests when it is missing
	@test -x $(CHROMIUM) || (apt-get update && apt-get install -y chromium)

test-e2e: web-build chromium ## Browser tests: the real service, real PostgreSQL, Chromium
	$(PY) -m pytest tests/e2e

# The dashboard's API types, generated from the service's OpenAPI document (built from
# create_app with default settings, no database) by openapi-typescript (pinned in
# package.json); web/src/api/types.ts names them for the dashboard.
# $(1): a directory for the document, $(2): where the types go.
WEB_TYPES := $(WEB_DIR)/src/api/schema.d.ts
generate_web_types = $(PY) $(WEB_DIR)/scripts/dump_openapi.py > $(1)/openapi.json && \
	$(WEB_DIR)/node_modules/.bin/openapi-typescript $(1)/openapi.json -o $(2) > /dev/null

web-types: install $(WEB_STAMP) ## Regenerate web/src/api/schema.d.ts from the API (after any API change; commit it)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(call generate_web_types,"$$tmp",$(WEB_TYPES))
	@echo "wrote $(WEB_TYPES); now check the dashboard: cd $(WEB_DIR) && npx tsc -p ."

web-types-check: install $(WEB_STAMP) ## Fail when web/src/api/schema.d.ts is not what the API generates
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(call generate_web_types,"$$tmp","$$tmp/schema.d.ts") && \
	if ! diff -u $(WEB_TYPES) "$$tmp/schema.d.ts"; then \
		echo "$(WEB_TYPES) has drifted from the service's OpenAPI document (diff above)."; \
		echo "Run 'make web-types', fix what 'cd $(WEB_DIR) && npx tsc -p .' reports, commit both."; \
		exit 1; \
	fi
