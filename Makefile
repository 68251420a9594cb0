# tfrec developer commands. `make demo` and `make test` are the README's quick start.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install test test-fast demo lint format bench clean

$(STAMP): setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -e ".[dev,notebooks]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

install: $(STAMP)  ## create .venv (python3.11) and install tfrec with dev + notebook extras

test: $(STAMP)  ## run the whole test suite (slow end-to-end tests included)
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)  ## skip the slow end-to-end tests
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

demo: $(STAMP)  ## the main job on the built-in simulator (no download)
	$(VENV)/bin/tfrec demo

lint: $(STAMP)  ## ruff
	$(VENV)/bin/ruff check tfrec tests benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff format tfrec tests benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
