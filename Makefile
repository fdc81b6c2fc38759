# The two commands that matter: `make run` and `make test`. Both set up .venv themselves.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every package at the exact version and hashes of requirements/lock.txt (docs/authors/dependencies.md);
# pyproject.toml only says which ranges the lock may choose from.
LOCK := requirements/lock.txt

.PHONY: run test coverage bench bench-check lint setup compiled clean lock audit release

$(STAMP): pyproject.toml $(LOCK)
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	@# An editable install compiles no bytecode, and PYTHONDONTWRITEBYTECODE=1 shells never write
	@# it: without this every command compiles ~130 modules first (bench/_util.compile_bytecode).
	$(BIN)/python -m compileall -q src
	$(BIN)/python requirements/check_lock.py
	$(BIN)/pip check
	touch $(STAMP)
	@$(MAKE) --no-print-directory compiled-core

# The compiled core (scripts/build_compiled.py): the per-order path through mypyc, from the
# lock's mypy, into var/compiled, which the `rampart` script runs while it matches the source
# (RAMPART_PURE=1 runs the source). Built on a first setup and by `make setup` whenever the
# source changed since; any failure is one line ("compiled core not built (...); running the
# pure source") and exit 0. `make compiled` builds it again, loudly, whatever its stamp says.
.PHONY: compiled-core
compiled-core:
	@$(BIN)/python scripts/build_compiled.py --when-stale --or-pure

setup: $(STAMP) compiled-core

compiled: $(STAMP)
	$(BIN)/python scripts/build_compiled.py

# Regenerates requirements/lock.txt from pyproject.toml (runtime + the dev extra) with uv, in a
# throwaway tools venv, never in .venv. Versions already in the lock are kept unless pyproject.toml
# excludes them: `make lock` after adding a dependency pins just it (and what it pulls in);
# `make lock UPGRADE=1` moves everything to the newest versions the ranges allow.
LOCK_TOOLS := var/lock-tools
UV_VERSION := 0.13.9
lock:
	test -x $(LOCK_TOOLS)/bin/uv && $(LOCK_TOOLS)/bin/uv --version | grep -q " $(UV_VERSION)" \
	  || { $(PY) -m venv $(LOCK_TOOLS) && $(LOCK_TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"; }
	$(LOCK_TOOLS)/bin/uv pip compile pyproject.toml --extra dev --generate-hashes \
	  --python-version 3.11 --custom-compile-command "make lock" --quiet \
	  $(if $(UPGRADE),--upgrade) -o $(LOCK)
	@! grep -iqE '^(torch|nvidia|triton)' $(LOCK) || { echo "$(LOCK) pulls torch/CUDA; find what asks for it"; exit 1; }

run: $(STAMP)
	$(BIN)/rampart run

# The suite runs on every core (pytest-xdist; each test's databases and ports are its own).
PYTEST_ARGS ?= -n auto --dist worksteal
test: $(STAMP)
	@# promtool/amtool for the export tests: required in CI, optional (tests skip) elsewhere.
	@scripts/install-ops-tools.sh || case "$${CI:-}" in 1|true|yes) exit 1;; esac
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The same suite with the CPU oversubscribed (LOAD=4: three busy loops a core beside the suite's
# workers, bounded and killed at the end; scripts/test-loaded.sh). A target, not part of CI.
LOAD ?= 4
.PHONY: test-loaded
test-loaded: $(STAMP)
	@scripts/install-ops-tools.sh || case "$${CI:-}" in 1|true|yes) exit 1;; esac
	LOAD=$(LOAD) scripts/test-loaded.sh

# The same suite with line coverage of the package and the testkit: a report, and a failure below
# plan 001's 80 % (fail_under in pyproject.toml; the figure is in docs/authors/testing.md). Not
# in CI: it adds about a third to the run.
coverage: $(STAMP)
	$(MAKE) test PYTEST_ARGS="$(PYTEST_ARGS) --cov=rampart --cov=rampart_testkit --cov-report=term:skip-covered"

# compare_nautilus.py and compare_freqtrade.py time `rampart replay` as a whole process beside
# the peer's, which they install pinned (nautilus_trader==1.221.0, freqtrade==2026.9) into
# var/peers/<name> on first use ("peer not installed", with Rampart alone, where they cannot be).
bench: $(STAMP)
	$(BIN)/python bench/replay.py
	$(BIN)/python bench/churn.py
	@# Issue 55 goal 4(b)-(d): five interleaved pairs at 100k, the same on one core, 1M (the
	@# peer's 1M figure recorded once per machine kind), 10M Rampart alone, Freqtrade's five files.
	$(BIN)/python bench/compare_nautilus.py --sizes 100k --repeat 5
	$(BIN)/python bench/compare_nautilus.py --sizes 100k --repeat 5 --pin 0
	$(BIN)/python bench/compare_nautilus.py --sizes 1m
	$(BIN)/python bench/compare_nautilus.py --no-nautilus --sizes 10m
	$(BIN)/python bench/compare_freqtrade.py --runs 5
	$(BIN)/python bench/per_event.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/decisions.py
	@# Issue 55 goal 5: every account acting on one candle, the built-in agent, the store on.
	$(BIN)/python bench/decisions.py 1000 10000 --agent trend --store
	$(BIN)/python bench/api.py
	@# The service's database statements on PostgreSQL (issue 75 goal 3; RAMPART_BENCH_PG_URL).
	$(BIN)/python bench/db.py
	$(BIN)/python bench/panel.py
	$(BIN)/python bench/telegram.py
	$(BIN)/python bench/telegram_flood.py
	$(BIN)/python bench/exchange.py
	$(BIN)/python bench/solana.py
	$(BIN)/python bench/soak.py
	$(BIN)/python bench/ml.py
	$(BIN)/python bench/backup.py
	$(BIN)/python bench/llm.py
	$(BIN)/python bench/vibe.py
	$(BIN)/python bench/audit.py
	$(BIN)/python bench/optimize.py
	$(BIN)/python bench/scale.py
	@# A deployment under load (issue 58 goal 6): serve, two workers, the feed and the exchange
	@# simulator with seeded history and investors, 45 s of API and Telegram traffic; ~1.5 min.
	$(BIN)/python bench/load.py
	@# The fleet under chaos (issue 54): 5 minutes of faults here, 30 when run alone.
	$(BIN)/python bench/scale_chaos.py --minutes 5
	@# The fleet under overload (issue 69): CPU 4x, a kill -9, a SIGSTOP, a silent database; ~6 min.
	$(BIN)/python bench/scale_overload.py

# The deterministic call counts (a quiet candle, a trade's round trip, an optimize trial) against
# bench/baseline.json: exit 1 when one grows more than 5 % (bench/check.py; CI runs it, ~15 s).
# A growth that is meant updates the baseline in the same commit, with its reason:
# `make bench-check UPDATE=1 REASON="..."`.
bench-check: $(STAMP)
	$(BIN)/python bench/check.py $(if $(UPDATE),--update --reason "$(REASON)")

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	@# Layer contracts (issue 15): .importlinter, docs/authors/architecture.md
	$(BIN)/lint-imports
	@# No import cycle between rampart's packages (issue 33): prints every cycle, exit 1 on any
	$(BIN)/python scripts/cycles.py
	@# Types: strict on the core, a shrinking baseline elsewhere (docs/authors/architecture.md)
	$(BIN)/python scripts/typecheck.py

# The locked dependencies against a vulnerability database (pip-audit, in its own venv under
# var/audit-tools; the ignore list with reasons is requirements/audit-ignore.txt). Exit 1 on a
# vulnerability, 2 when the database cannot be reached or cannot answer: said in a sentence.
# Not in CI: it needs a network service CI does not reach.
audit:
	$(PY) scripts/audit.py

# `make release VERSION=0.2.0`: refuses (one sentence, nothing changed) unless CI passed on this
# commit (the record `bash .ci/run` leaves, or RELEASE_CI_CHECK for a hosted CI), the tree is
# clean and CHANGELOG.md has entries under Unreleased; then dates them, sets the version,
# commits and tags vX.Y.Z (scripts/release.py). Nothing is pushed.
release: $(STAMP)
	$(BIN)/python scripts/release.py $(VERSION)

clean:
	rm -rf $(VENV) var build *.egg-info

# Mutation testing (docs/mutation.md), not part of `make test` or CI: mutmut over one money-path
# area at a time (`make mutate AREA=trading`; AREA=all runs each in turn; `python
# scripts/mutate.py --list` names the areas, their files and their tests). Each runs on a
# snapshot of the committed tree (HEAD) in var/mutate/AREA, so edits in the checkout during the
# run change nothing: commit first. Each area is sized to finish within 120 min on the shared
# 2-core machine. The statistics, the score and the commit are printed and appended to
# var/mutate/results.jsonl; `cd var/mutate/AREA && ../../../.venv/bin/mutmut results` lists
# the survivors. PostgreSQL is left out (the audit tests run on SQLite) except for the area
# whose code only PostgreSQL runs (fencing: RAMPART_TEST_PG_URL must be set). The areas of
# round 4 (issue 72) are in scripts/mutate_areas.py.
MUTATE_JOBS ?= 2
AREA ?=
ONLY ?=
.PHONY: mutate
mutate: $(STAMP)
	@test -n "$(AREA)" || { $(BIN)/python scripts/mutate.py --list; \
	  echo "Choose one: make mutate AREA=<area> (or AREA=all)"; exit 2; }
	$(BIN)/python scripts/mutate.py $(AREA) --jobs $(MUTATE_JOBS) $(if $(ONLY),--only $(ONLY))
