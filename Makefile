# The two commands: `make run` (broker if none, worker, how to call it) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint unit setup clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: setup
	ops/run

lint: setup
	$(BIN)/ruff check packetflow streams tests benchmarks ops
	$(BIN)/ruff format --check packetflow streams tests benchmarks ops
	$(BIN)/mypy packetflow streams

unit: setup
	$(BIN)/pytest -m "not integration"

test: lint
	$(BIN)/pytest

clean:
	-ops/kafka down
	rm -rf $(VENV) .run packetflow-data *.egg-info
