# skywarden: two commands. `make run` sets up and starts the system on the embedded
# default (SQLite, in-process bus, the built-in simulated site); `make test` sets up and
# runs every check.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup lint typecheck contracts pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q src >/dev/null  # bytecode once, as a wheel install would
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/skywarden run

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

# Two workers (the CI machine's two cores); a test file runs whole on one worker, so its
# module fixtures (servers, scenarios) are built once. PYTEST_WORKERS=0 runs in one process.
# Files marked `one_process` (schemathesis: one node id per many items, which xdist's
# scheduler would collapse into one) run after, in one process.
PYTEST_WORKERS ?= 2

pytest: $(STAMP)
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile -m "not one_process"
	$(BIN)/python -m pytest -q -m one_process

test: lint typecheck contracts pytest

bench: $(STAMP)
	$(BIN)/skywarden bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
