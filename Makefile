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

# The embedded default carries deliberate bugs, so the demo's own exit code is 1 (error findings);
# only exit 2 (unusable input) or worse fails `make run`.
run: $(BIN)/kvalidate
	@$(BIN)/kvalidate demo; code=$$?; \
	if [ $$code -eq 1 ]; then echo "(exit 1: error findings, as expected of the embedded default)"; fi; \
	[ $$code -le 1 ]

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
