# Set-up lives here so that `make demo`, `make test` and `make run` work on a fresh clone.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements.sha256

.PHONY: setup demo run test lint

# (Re)create the venv when it is missing or requirements.txt/pyproject.toml changed.
setup:
	@want="$$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)"; \
	if [ ! -x "$(PY)" ] || [ "$$(cat $(STAMP) 2>/dev/null)" != "$$want" ]; then \
	  echo "Setting up $(VENV) from requirements.txt (a few minutes, once)..."; \
	  python3 -m venv $(VENV) && \
	  $(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt && \
	  echo "$$want" > $(STAMP) || exit 1; \
	fi

demo: setup
	$(BIN)/snakemake --cores 8 --configfile config/demo.yaml

run: setup
	$(BIN)/snakemake --cores 8

lint: setup
	$(BIN)/snakefmt --check .
	$(BIN)/snakemake --lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest
