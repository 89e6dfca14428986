# Two commands on a fresh machine:
#   make compile   compile this repository's endpoints/ and environments/ into rendered/
#   make test      run every test (installs Prometheus for the scaler's integration tests)
# Both create .venv and install pinned dependencies first (idempotent).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: compile check test lint bench schema clean prometheus

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

compile: $(STAMP)
	$(BIN)/knobless compile

check: $(STAMP)
	$(BIN)/knobless compile --check

schema: $(STAMP)
	$(BIN)/knobless schema

prometheus:
	@command -v prometheus >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null; \
	  else echo "install Prometheus (Debian: apt-get install prometheus) for the scaler tests" >&2; exit 1; fi; }
	@# Debian starts the packaged service; the tests run their own servers.
	@-systemctl stop prometheus >/dev/null 2>&1 || service prometheus stop >/dev/null 2>&1 || true

test: $(STAMP) prometheus
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check compiler plugins tests bench
	$(BIN)/ruff format --check compiler plugins tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/compile.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
