# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install run ui server reap test test-slow lint format bench docs docs-serve clean

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

test: $(STAMP) ## run the tests not marked slow (about 5 minutes on 2 cores)
	$(BIN)/python -m pytest -n 2 --dist worksteal -m "not slow" $(PYTEST_ARGS)

test-slow: $(STAMP) ## run the slow tests (resume after kill -9, sweeps, two workers, big ResNets, CLI switches); CI runs them too
	$(BIN)/python -m pytest -n 2 --dist worksteal -m slow $(PYTEST_ARGS)

lint: $(STAMP) ## check formatting and lint with ruff (pinned in the dev extra)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(STAMP) ## format and fix what ruff can fix by itself
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) ## run every benchmark and record its tables for the docs (docs/benchmarks/); each prints ratios against a reference measured in the same run
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	for script in bench_layers bench_kernel_vjp bench_data bench_pipeline bench_peers bench_lenet_step bench_attacks bench_autoattack bench_visualize bench_tracking bench_distributed bench_predict; do \
		$(BIN)/python scripts/record_bench.py $$script || exit 1; \
	done

docs: $(STAMP) ## build the documentation site into site/ in strict mode (a broken link, page, image or API reference fails)
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: $(STAMP) ## serve the documentation site at http://127.0.0.1:8000, rebuilt on every change
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache *.egg-info site
