# Entry points that work on a fresh machine with only Python and PyPI:
#   make run   -> .venv with kvalidate as `pip install kvalidate` gets it (the ranges of pyproject.toml),
#                 then the main job on the embedded default
#   make test  -> .venv with the locked test environment (requirements/test.txt: every version pinned,
#                 every file checked against its hash), then lint, types and tests; CI runs this
#   make lock  -> refresh requirements/test.txt from pyproject.toml (pip-tools, Python 3.11)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
LOCK := requirements/test.txt

.PHONY: run test lint types unit bench lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(BIN)/kvalidate: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(BIN)/kvalidate

# The lock holds the build backend too (setuptools), so nothing unpinned is fetched, even to build.
$(VENV)/.locked: $(LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@$(BIN)/pip check >/dev/null || { $(BIN)/pip check; echo "$(LOCK) does not satisfy pyproject.toml: make lock"; exit 1; }
	touch $@

# The embedded default carries deliberate bugs, so the demo's own exit code is 1 (error findings);
# only exit 2 (unusable input) or worse fails `make run`.
run: $(BIN)/kvalidate
	@$(BIN)/kvalidate demo; code=$$?; \
	if [ $$code -eq 1 ]; then echo "(exit 1: error findings, as expected of the embedded default)"; fi; \
	[ $$code -le 1 ]

test: $(VENV)/.locked lint types unit

lint:
	$(BIN)/ruff check kvalidate tests benchmarks scripts

types:
	$(BIN)/mypy

unit:
	$(BIN)/pytest

bench: $(BIN)/kvalidate
	$(BIN)/python benchmarks/validate.py

# Newest versions within pyproject.toml's ranges, hashes of every file PyPI has for them. Resolved
# for the Python that runs pip-compile: CI's and the machines' Python 3.11.
lock:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "make lock: run it with Python 3.11 (PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/pip install --quiet 'pip-tools>=7.4'
	CUSTOM_COMPILE_COMMAND="make lock" $(VENV)-lock/bin/pip-compile --quiet --upgrade --generate-hashes \
		--extra test --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file $(LOCK) pyproject.toml

clean:
	rm -rf $(VENV) $(VENV)-lock build *.egg-info
