# Two commands on a fresh machine:
#   make compile   compile this repository's endpoints/ and environments/ into rendered/
#   make test      run every test (installs the real parts the tests start: Prometheus, HAProxy, a
#                  process exporter from Debian; MLflow in a virtualenv of its own)
# Both create .venv and install pinned dependencies first (idempotent; the docs extra too).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: compile check test lint docs bench schema clean prometheus system-deps mlflow-venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,docs,scaler,simulate]'
	touch $(STAMP)

compile: $(STAMP)
	$(BIN)/knobless compile

check: $(STAMP)
	$(BIN)/knobless compile --check

schema: $(STAMP)
	$(BIN)/knobless schema

# Debian packages the tests run for real. Debian may start the packaged services; the tests run
# their own servers on free loopback ports, so the packaged ones are stopped.
SYSTEM_PACKAGES := prometheus haproxy prometheus-process-exporter
SYSTEM_COMMANDS := prometheus haproxy prometheus-process-exporter

system-deps:
	@missing=""; for c in $(SYSTEM_COMMANDS); do command -v $$c >/dev/null 2>&1 || missing=yes; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	  else echo "install $(SYSTEM_PACKAGES) (Debian: apt-get install $(SYSTEM_PACKAGES)) for the tests" >&2; exit 1; fi; \
	fi
	@for s in $(SYSTEM_PACKAGES); do systemctl stop $$s >/dev/null 2>&1 || service $$s stop >/dev/null 2>&1 || true; done

prometheus: system-deps

# MLflow (tracking server, model server, the libraries that train test models) in a venv of its own:
# it pins protobuf < 7, knobless' grpc stack uses 7 (as a cluster keeps the model image apart).
MLFLOW_VENV  := .venv-mlflow
MLFLOW_STAMP := $(MLFLOW_VENV)/.installed

$(MLFLOW_STAMP): tests/mlflow_support/requirements.txt tests/mlflow_support/constraints.txt
	$(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/pip install --quiet --upgrade pip
	$(MLFLOW_VENV)/bin/pip install --quiet -r tests/mlflow_support/requirements.txt
	touch $(MLFLOW_STAMP)

mlflow-venv: $(MLFLOW_STAMP)

test: $(STAMP) system-deps $(MLFLOW_STAMP)
	$(BIN)/python -m pytest

# Every Python file of the repository and the Python code blocks of the Markdown pages (ruff
# formats both); mypy's files are listed in pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The documentation site: regenerate the reference pages from the code, then build site/ strictly
# (a broken link or anchor, or a page missing from the nav, fails).
docs: $(STAMP)
	$(BIN)/python docs/generate.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

bench: $(STAMP)
	$(BIN)/python bench/compile.py

clean:
	rm -rf $(VENV) $(MLFLOW_VENV) .pytest_cache .mypy_cache .ruff_cache site
