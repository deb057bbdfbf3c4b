# The two commands of the README: `make demo` and `make test`.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install engine example test demo lint bench clean

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
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS); \
	rc=$$?; [ -z "$${RELEASE_ENGINE_STARTED:-}" ] || scripts/engine.sh stop; exit $$rc

demo: install engine example
	@eval "$$(scripts/engine.sh start)"; $(BIN)/python scripts/demo.py; \
	rc=$$?; [ -z "$${RELEASE_ENGINE_STARTED:-}" ] || scripts/engine.sh stop; exit $$rc

lint: install
	$(BIN)/ruff check .
	scripts/lint-jenkinsfile.sh

bench: install engine example
	@eval "$$(scripts/engine.sh start)"; rc=0; \
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || rc=1; done; \
	[ -z "$${RELEASE_ENGINE_STARTED:-}" ] || scripts/engine.sh stop; exit $$rc

clean:
	scripts/engine.sh stop
	rm -rf .state
