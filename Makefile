# The two set-up commands of the README: `make demo` (offline) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-quick lint bench-quick clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,ray]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m vsearch_lab.demo demo-library

lint: $(STAMP)
	$(BIN)/ruff check vsearch vsearch_lab tests bench
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider

test-quick: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow"

bench-quick: $(STAMP)
	$(BIN)/python -m bench all --quick

clean:
	rm -rf demo-library .pytest_cache
