# The README's two commands. Both create .venv on a fresh machine and install what they need.
PYTHON ?= python3
PORT ?= 8501
VENV := .venv
BIN := $(VENV)/bin
# Small matrices: BLAS worker threads only wait for each other (see lab/__init__.py, which also sets this for the app).
export OPENBLAS_NUM_THREADS = 1

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when a requirements file changed (stamp files).
$(VENV)/.run-deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# deploy/serve.sh: the one serving command (also the container's, the systemd unit's and the replica test's).
run: $(VENV)/.run-deps
	BNLAB_PYTHON=$(BIN)/python BNLAB_PORT=$(PORT) deploy/serve.sh

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest

bench: $(VENV)/.dev-deps
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
