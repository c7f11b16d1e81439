# The two commands of the README: `make train` and `make test`. Each sets up .venv itself.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: train test test-fast setup lock bench

$(VENV)/.installed: requirements.txt scripts/setup_system.sh
	bash scripts/setup_system.sh
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

setup: $(VENV)/.installed

train: setup
	$(PY) train.py --configs point lsp --logdir logdir/default

test: setup
	$(PY) -m pytest -q tests

test-fast: setup  # Leaves out the tests that launch train.py (marked slow).
	$(PY) -m pytest -q -m "not slow" tests

bench: setup
	$(PY) -m dreamer_lsp.bench

lock: setup
	$(VENV)/bin/pip freeze > requirements.txt
