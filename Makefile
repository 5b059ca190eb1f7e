# Two commands for a fresh machine: `make demo` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.skinaug-installed
DEMO_OUT ?= demo-output

.PHONY: env demo test lint clean

env: $(STAMP)

# Every install is held to the tested versions of constraints.txt (pyproject.toml itself only gives ranges).
# pyradiomics 3.1.0's sdist is broken on Python 3.11 and 3.0.1 needs numpy at build time,
# so it is built without isolation after numpy/setuptools/versioneer are in place.
PIP := $(BIN)/python -m pip install -q -c constraints.txt

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(PIP) torch torchvision
	$(PIP) numpy setuptools wheel versioneer
	$(PIP) --no-build-isolation pyradiomics
	$(PIP) -e ".[dev]"
	touch $(STAMP)

demo: env
	$(BIN)/skinaug demo --out $(DEMO_OUT)

test: env lint
	$(BIN)/python -m pytest -n 2 -q

# ruff (lint and format check) and mypy: the habits that keep the code in one style with checked types
lint: env
	$(BIN)/ruff check skinaug benchmarks
	$(BIN)/ruff format --check skinaug tests benchmarks
	$(BIN)/mypy skinaug

clean:
	rm -rf $(VENV) $(DEMO_OUT)
