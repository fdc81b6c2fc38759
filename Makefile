# The two commands that matter: `make run` and `make test`. Both set up .venv themselves.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint setup clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/rampart run

test: $(STAMP)
	@# promtool/amtool for the export tests: required in CI, optional (tests skip) elsewhere.
	@scripts/install-ops-tools.sh || case "$${CI:-}" in 1|true|yes) exit 1;; esac
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/replay.py
	$(BIN)/python bench/decisions.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/exchange.py
	$(BIN)/python bench/soak.py
	$(BIN)/python bench/ml.py
	$(BIN)/python bench/backup.py
	$(BIN)/python bench/llm.py
	$(BIN)/python bench/audit.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

clean:
	rm -rf $(VENV) var build *.egg-info
