# Two entry points that work on a fresh machine with only Python and PyPI:
#   make run   -> .venv with kvalidate, then the main job on the embedded default
#   make test  -> .venv with the test extras, then lint, types and tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint types unit bench clean

$(BIN)/kvalidate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/kvalidate

run: $(BIN)/kvalidate
	$(BIN)/kvalidate demo

test: $(BIN)/kvalidate lint types unit

lint:
	$(BIN)/ruff check kvalidate tests benchmarks scripts

types:
	$(BIN)/mypy

unit:
	$(BIN)/pytest

bench: $(BIN)/kvalidate
	$(BIN)/python benchmarks/validate.py

clean:
	rm -rf $(VENV) build *.egg-info
