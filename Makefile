# Each target bootstraps .venv from a fresh clone by itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

export TVDB_HOME ?= $(CURDIR)/.tvdb
export DAGSTER_HOME ?= $(TVDB_HOME)/dagster

.PHONY: run test dev bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: ingest the bundled samples/ end to end (mock mode, SQLite under .tvdb/) and print the summary
run: $(STAMP)
	$(BIN)/tvdb ingest samples

## test: the whole test suite (SQLite, and the machine's PostgreSQL on 127.0.0.1:5432)
test: $(STAMP)
	$(BIN)/python -m pytest -n auto -q

## dev: the Dagster UI on http://127.0.0.1:3000, on the same local instance `make run` writes to
dev: $(STAMP)
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/dagster dev -m tvdb_assets.definitions -h 127.0.0.1 -p 3000

## bench: pipeline vs bare-loop throughput and peak memory (see bench/README.md)
bench: $(STAMP)
	$(BIN)/python bench/ingest_throughput.py

clean:
	rm -rf .tvdb
