# Entry points for a fresh machine (Python 3.11, pip, make, git):
#   make app   - set up .venv (the app's own dependencies, no test tools) and start the
#                dashboard on http://localhost:8501, reachable from this machine only
#   make test  - set up .venv-dev (the app plus pytest, hypothesis, ruff, playwright) and
#                run the test suite; make test-all and make lint use .venv-dev too
#   make host  - serve the dashboard to other machines: hosted mode (LSE_HOSTED=1) on every
#                interface (HOST=0.0.0.0, PORT=8501), no error details in the browser
#   make lock  - resolve pyproject.toml afresh and rewrite constraints.txt (then commit it)
# Both environments install under constraints.txt (`pip install -c`): the exact versions
# the tests last passed with, whatever the registry holds today.
# TORCH_SPEC picks the torch wheel installed first (constraints.txt leaves torch out). The
# default pin matches the CPU build cached on our machines; elsewhere override it, e.g.
#   make app TORCH_SPEC="torch"            (latest, CUDA where available)
#   make app TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu"
PYTHON ?= python3
TORCH_SPEC ?= torch==2.13.0
CONSTRAINTS := constraints.txt
PORT ?= 8501
HOST ?= 0.0.0.0

# The app's environment: runtime dependencies only (make app, host, zoo, bench).
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The test environment: the app plus the [dev] extra (make test, test-all, lint).
DEV_VENV := .venv-dev
DEV_BIN := $(DEV_VENV)/bin
DEV_STAMP := $(DEV_VENV)/.installed
# Older Makefiles installed these into .venv; the app's stamp rule takes them out again.
DEV_TOOLS := pytest hypothesis ruff playwright
# make lock's scratch environment, and what stays out of the lock: torch (TORCH_SPEC), its
# CUDA wheels and the packages that only torch needs, so any torch build fits the lock.
LOCK_VENV := .venv-lock
LOCK_OMIT := torch|triton|nvidia-[a-z0-9-]+|sympy|mpmath|filelock|fsspec

.PHONY: app host test test-all e2e zoo zoo-mnist photo-models bench bench-denoise lint lock clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH_SPEC) || $(BIN)/python -m pip install -q torch
	$(BIN)/python -m pip install -q -c $(CONSTRAINTS) -e .
	if $(BIN)/python -c "import pytest" 2>/dev/null; then $(BIN)/python -m pip uninstall -q -y $(DEV_TOOLS); fi
	touch $(STAMP)

$(DEV_STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(DEV_BIN)/python || $(PYTHON) -m venv $(DEV_VENV)
	$(DEV_BIN)/python -m pip install -q --upgrade pip
	$(DEV_BIN)/python -m pip install -q $(TORCH_SPEC) || $(DEV_BIN)/python -m pip install -q torch
	$(DEV_BIN)/python -m pip install -q -c $(CONSTRAINTS) -e ".[dev]"
	touch $(DEV_STAMP)

# Local use: localhost only (as in .streamlit/config.toml), full error details.
app: $(STAMP)
	$(BIN)/streamlit run app.py --server.address localhost --server.port $(PORT)

# Hosted use: hosted mode (services/hosting.py), every interface by default, and no tracebacks
# shown to visitors (they stay in the server's log). serve.py: app.py with the visitor cookie set
# by the server, HttpOnly (services/visitor_cookie.py).
host: $(STAMP)
	LSE_HOSTED=1 $(BIN)/streamlit run serve.py --server.address $(HOST) --server.port $(PORT) \
		--client.showErrorDetails none

test: $(DEV_STAMP)
	$(DEV_BIN)/python -m pytest

# Everything, the slow MNIST-scale checks and the browser tests included.
test-all: $(DEV_STAMP)
	$(DEV_BIN)/python -m pytest -m ""

zoo: $(STAMP)
	$(BIN)/ae-core zoo

zoo-mnist: $(STAMP)
	$(BIN)/ae-core zoo --dataset mnist

# The photo denoisers, gray and colour (train400 beside the project when present): ~55 min on 2 cores.
photo-models: $(STAMP)
	$(BIN)/ae-core photo train

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_train.py

# The photo denoisers against the classical filters and BM3D (the [bench] extra), ~8 min.
bench-denoise: $(DEV_STAMP)
	$(DEV_BIN)/python -m pip install -q -c $(CONSTRAINTS) -e ".[dev,bench]"
	$(DEV_BIN)/python benchmarks/bench_denoise.py

lint: $(DEV_STAMP)
	$(DEV_BIN)/ruff check ae_core dashboard services app_pages tests benchmarks app.py

define LOCK_HEADER
# constraints.txt - exact versions of every runtime and dev dependency of
# latent-space-explorer (pyproject.toml), as resolved by `make lock` on Python 3.11.
# The Makefile installs both environments under it: pip install -c constraints.txt ...
# (.venv: the app alone; .venv-dev: the app and the [dev] extra).
#
# torch is left out on purpose, with its CUDA wheels (nvidia-*, triton) and the packages
# only torch needs (sympy, mpmath, filelock, fsspec): TORCH_SPEC installs torch first
# (default torch==2.13.0, the CPU build), so elsewhere you can pick a CUDA build, e.g.
#   make app TORCH_SPEC="torch"
#
# Regenerate with `make lock` (a fresh scratch venv, pyproject.toml resolved without this
# file, then pip freeze); run `make test` on the result before committing it.
# Do not edit the pins by hand, except to raise one past a security advisory.
endef
export LOCK_HEADER

lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install -q --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install -q $(TORCH_SPEC) || $(LOCK_VENV)/bin/python -m pip install -q torch
	$(LOCK_VENV)/bin/python -m pip install -q -e ".[dev]"
	printf '%s\n' "$$LOCK_HEADER" > $(CONSTRAINTS).new
	$(LOCK_VENV)/bin/python -m pip freeze --exclude-editable | grep -viE '^($(LOCK_OMIT))==' >> $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	rm -rf $(LOCK_VENV)

clean:
	rm -rf $(VENV) $(DEV_VENV) $(LOCK_VENV) .pytest_cache .ruff_cache

# Training on other machines (README "Hosting"): one scheduler, workers on every machine that
# trains (each sees the checkpoints folder at the same path), and the app pointed at the
# scheduler: make host LSE_SCHEDULER=tcp://<scheduler host>:8786. A worker with a GPU:
#   make worker LSE_SCHEDULER=tcp://h:8786 RESOURCES="--resources GPU=1"
# (then the app with LSE_JOB_RESOURCES=GPU=1 LSE_TRAIN_DEVICE=cuda). A job whose worker died
# is not retried elsewhere: the app says so (allowed-failures 0).
.PHONY: scheduler worker
SCHEDULER_PORT ?= 8786
WORKERS ?= 1
RESOURCES ?=
scheduler: $(STAMP)
	DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0 $(BIN)/dask scheduler --host $(HOST) \
		--port $(SCHEDULER_PORT) --no-dashboard

worker: $(STAMP)
	test -n "$(LSE_SCHEDULER)" || { echo "set LSE_SCHEDULER=tcp://<scheduler host>:$(SCHEDULER_PORT)"; exit 2; }
	OMP_NUM_THREADS=1 $(BIN)/dask worker $(LSE_SCHEDULER) --nworkers $(WORKERS) --nthreads 1 \
		--no-dashboard $(RESOURCES)
