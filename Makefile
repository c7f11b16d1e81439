# The two commands of the README: `make train` and `make test`. Each sets up .venv itself.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: train test test-fast test-all setup lock bench

$(VENV)/.installed: requirements.txt scripts/setup_system.sh
	bash scripts/setup_system.sh
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

setup: $(VENV)/.installed

train: setup
	$(PY) train.py --configs point lsp --logdir logdir/default

PYTEST := $(PY) -m pytest -q -n auto  # On every core (pytest-xdist).

test: setup  # Everything but the exhaustive tests.
	$(PYTEST) -m "not exhaustive" tests

test-fast: setup  # Leaves out the tests that train with compiled graphs (marked slow) too.
	$(PYTEST) -m "not slow and not exhaustive" tests

test-all: setup  # Everything: before resolving an issue that touches training, transfer or sweeps.
	$(PYTEST) tests

bench: setup
	$(PY) -m dreamer_lsp.bench

lock: setup
	$(VENV)/bin/pip freeze > requirements.txt
