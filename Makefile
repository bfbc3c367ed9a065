# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install run ui server reap test test-slow lint format bench clean

help: ## show this help
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml layers/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ./layers
	$(BIN)/python -m pip install --quiet -e ".[dev,pretrained,postgres,auth,sweeps]"
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the layers and the pipeline (two distributions) with the dev extras

run: $(STAMP) ## run the default experiment (LeNet-5, our layers, digits) and record it in MLflow
	$(BIN)/python -m pipeline $(ARGS)

ui: $(STAMP) ## open the MLflow UI on this directory's store at http://127.0.0.1:5000
	$(BIN)/mlflow ui --backend-store-uri $${MLFLOW_TRACKING_URI:-sqlite:///mlflow.db} --host 127.0.0.1 --port 5000

server: $(STAMP) ## an MLflow server on 127.0.0.1:5000 for a team: runs in $$MLFLOW_BACKEND_STORE_URI (PostgreSQL; default a SQLite file), artifacts uploaded through it
	$(BIN)/python -m pipeline.tracking.server $(ARGS)

reap: $(STAMP) ## mark KILLED the runs left RUNNING by a dead process (kill -9, a lost node) in $$MLFLOW_TRACKING_URI or ./mlflow.db
	$(BIN)/python -m pipeline.tracking.reap $(ARGS)

test: $(STAMP) ## run the tests not marked slow (under 10 minutes on 2 cores)
	$(BIN)/python -m pytest -n 2 --dist worksteal -m "not slow" $(PYTEST_ARGS)

test-slow: $(STAMP) ## run the slow tests (resume after kill -9, sweeps, two workers, big ResNets, CLI switches); CI runs them too
	$(BIN)/python -m pytest -n 2 --dist worksteal -m slow $(PYTEST_ARGS)

lint: $(STAMP) ## check formatting and lint with ruff (pinned in the dev extra)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(STAMP) ## format and fix what ruff can fix by itself
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) ## time layers vs keras.layers, input pipeline vs training, pipeline vs plain keras fit and PyTorch, attacks vs ART
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python scripts/bench_layers.py
	$(BIN)/python scripts/bench_data.py
	$(BIN)/python scripts/bench_pipeline.py
	$(BIN)/python scripts/bench_peers.py
	$(BIN)/python scripts/bench_lenet_step.py
	$(BIN)/python scripts/bench_attacks.py
	$(BIN)/python scripts/bench_autoattack.py
	$(BIN)/python scripts/bench_visualize.py

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache *.egg-info
