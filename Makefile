# Two entry points for a fresh machine (Python 3.11, pip, make, git):
#   make app   - set up .venv and start the dashboard on http://localhost:8501
#   make test  - set up .venv and run the test suite
# TORCH_SPEC picks the torch wheel installed first. The default pin matches the
# CPU build cached on our machines; elsewhere override it, e.g.
#   make app TORCH_SPEC="torch"            (latest, CUDA where available)
#   make app TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu"
PYTHON ?= python3
TORCH_SPEC ?= torch==2.13.0
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: app test test-all e2e zoo bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH_SPEC) || $(BIN)/python -m pip install -q torch
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

app: $(STAMP)
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest

# Everything, the slow MNIST-scale checks and the browser tests included.
test-all: $(STAMP)
	$(BIN)/python -m pytest -m ""

zoo: $(STAMP)
	$(BIN)/ae-core zoo

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_train.py

lint: $(STAMP)
	$(BIN)/ruff check ae_core ui pages tests benchmarks app.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
