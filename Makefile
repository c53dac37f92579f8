# make run  : set up .venv and run the main job on the default scenario
# make test : set up .venv, lint, and run the fast test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-slow bench lint clean setup

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/alliance study configs/quick.yaml

lint: $(STAMP)
	$(BIN)/ruff check .

# -n auto: one pytest-xdist worker per core (2 here); --dist loadgroup keeps the tests sharing a
# module-scoped fixture on one worker (tests/conftest.py). --timeout: a test still running after
# 15 minutes (the longest takes about 1) is stopped with every thread's stack printed, never a hang
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n auto --dist loadgroup --timeout 900 --timeout-method thread

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

bench: $(STAMP)
	$(BIN)/python benchmarks/env_speed.py
	$(BIN)/python benchmarks/solver_speed.py

clean:
	rm -rf $(VENV)
