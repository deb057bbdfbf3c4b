# The two commands of the README: `make demo` and `make test` (and `make check`, the inner loop).
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

# Tests run in parallel worker processes (pytest-xdist), one per core unless PYTEST_WORKERS
# says otherwise (PYTEST_WORKERS=0: one process). `worksteal` hands an idle worker half of
# a busy one's queue, so tests of very different lengths still end together; the longest,
# mostly waiting ones are collected first (tests/conftest.py).
PYTEST_WORKERS ?= auto
PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist worksteal

.PHONY: install engine example test check demo lint bench clean

$(BIN)/release: pyproject.toml sandbox/pyproject.toml
	@command -v $(PY) >/dev/null || { echo "Python 3.11 is needed ($(PY) not found)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,bench]' -e ./sandbox
	@touch $@

install: $(BIN)/release

engine:
	scripts/engine.sh install

# The examples' static binaries, which their FROM-scratch images copy in: the example
# service, its heartbeat sidecar and the sandbox's second application.
example:
	for e in akka-firehose heartbeat audit-worker; do $(MAKE) -s -C examples/$$e || exit 1; done

# Tests need a Docker engine; start one on a private socket when none answers.
# An engine that `make` started is stopped again afterwards; one that was running is left alone.
# The Jenkinsfile is linted by npm-groovy-lint (CodeNarc) first: an error fails the run.
test: install engine
	@eval "$$(scripts/engine.sh start)"; \
	$(BIN)/ruff check . && scripts/lint-jenkinsfile.sh && \
	$(PYTEST) $(PYTEST_ARGS); \
	rc=$$?; [ -z "$${RELEASE_ENGINE_STARTED:-}" ] || scripts/engine.sh stop; exit $$rc

# The inner loop, under a minute and without a Docker engine: ruff, the core's tests and
# the conformance tests (every AWS answer the tool reads, replayed in the real shape). The
# every-verb test is left to `make test`: it runs each verb over every broken document
# against a sandbox, some 70 s of CPU, more than the rest of `check` together.
check: install
	$(BIN)/ruff check .
	$(PYTEST) tests/core tests/conformance \
	  --deselect tests/core/test_every_verb_broken_corpus.py $(PYTEST_ARGS)

demo: install engine example
	@eval "$$(scripts/engine.sh start)"; $(BIN)/python scripts/demo.py; \
	rc=$$?; [ -z "$${RELEASE_ENGINE_STARTED:-}" ] || scripts/engine.sh stop; exit $$rc

lint: install
	$(BIN)/ruff check .
	scripts/lint-jenkinsfile.sh

bench: install engine example
	@eval "$$(scripts/engine.sh start)"; rc=0; \
	for b in bench/[!_]*.py; do echo "== $$b"; $(BIN)/python $$b || rc=1; done; \
	[ -z "$${RELEASE_ENGINE_STARTED:-}" ] || scripts/engine.sh stop; exit $$rc

clean:
	scripts/engine.sh stop
	rm -rf .state
