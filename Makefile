# Two entry points: `make demo` (set up, then sign/strip/re-encode/verify a clip) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/provenance: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

.PHONY: setup postgres chromium demo test lint
setup: $(BIN)/provenance

# The ledger tests start a throwaway PostgreSQL server on loopback (tests/postgres.py); this provides its
# binaries, installing the Debian package when pg_ctl is missing.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
postgres:
	@command -v pg_ctl >/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql; }

# The page's browser test drives Debian's Chromium through Playwright (which must never download a browser).
chromium:
	@command -v chromium >/dev/null || { \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }

demo: setup
	$(BIN)/python examples/demo.py

test: setup postgres chromium
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .
