# tfrec developer commands. `make demo` and `make test` are the README's quick start.
# The venv is made with the newest supported Python found (3.13, 3.12, 3.11: .ci/find-python);
# choose one with `PYTHON=python3.12 make install` (or 3.12, or a path to an interpreter).
PYTHON ?=
# Expanded only where it is used (wheel-smoke); venv-python calls find-python only when needed.
PYTHON_EXE = $(shell .ci/find-python $(PYTHON))
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# tf-agents' own pins do not install on 3.12+: tfrec declares its real dependencies (setup.cfg)
# and this goes in without them (a no-op on 3.11, where pip has already installed it).
TF_AGENTS := tf-agents==0.19.0

.PHONY: venv-python install test test-fast smoke wheel wheel-smoke demo lint format bench clean

# Always run (order-only): makes $(VENV) if absent; if PYTHON is given, $(VENV) must have that
# version (otherwise say how to get one, rather than reusing the old venv silently).
venv-python:
	@if test -x $(PY); then \
	    if test -n "$(PYTHON)"; then \
	        have=$$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	        want=$$($$(.ci/find-python $(PYTHON)) -c 'import sys; print("%d.%d" % sys.version_info[:2])') || exit 1; \
	        test "$$have" = "$$want" || { echo "$(VENV) has Python $$have, not $$want: rm -rf $(VENV) (or set VENV=.venv-$$want)" >&2; exit 1; }; \
	    fi; \
	else \
	    py=$$(.ci/find-python $(PYTHON)) && test -n "$$py" || exit 1; \
	    echo "creating $(VENV) with $$py"; \
	    "$$py" -m venv $(VENV) || exit 1; \
	fi

$(STAMP): setup.cfg pyproject.toml | venv-python
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -e ".[dev,notebooks]"
	$(PY) -m pip install --quiet --no-deps "$(TF_AGENTS)"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

install: $(STAMP)  ## create .venv (newest supported Python, or PYTHON=...) with tfrec + dev + notebook extras

test: $(STAMP)  ## run the whole test suite (slow end-to-end tests included)
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)  ## skip the slow end-to-end tests
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

smoke: $(STAMP)  ## the fast smoke subset (what .ci/wheel-smoke runs against the installed wheel)
	$(PY) -m pytest -m smoke $(PYTEST_ARGS)

wheel: $(STAMP)  ## build dist/tfrec-*.whl
	$(PY) -m pip wheel --quiet --no-deps --wheel-dir dist .

wheel-smoke:  ## wheel -> fresh venv (PYTHON=..., default newest) -> tfrec demo + smoke tests, outside the checkout
	.ci/wheel-smoke $(PYTHON_EXE)

demo: $(STAMP)  ## the main job on the built-in simulator (no download)
	$(VENV)/bin/tfrec demo

lint: $(STAMP)  ## ruff
	$(VENV)/bin/ruff check tfrec tests benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff format tfrec tests benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
