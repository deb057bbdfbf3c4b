# The two commands of the README: `make demo` and `make test`.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install engine example test demo lint bench clean

$(BIN)/release: pyproject.toml
	@command -v $(PY) >/dev/null || { echo "Python 3.11 is needed ($(PY) not found)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,bench]'
	@touch $@

install: $(BIN)/release

engine:
	scripts/engine.sh install

# The example service's static binary, which its FROM-scratch image copies in.
example:
	$(MAKE) -s -C examples/akka-firehose

# Tests need a Docker engine; start one on a private socket when none answers.
test: install engine
	@eval "$$(scripts/engine.sh start)"; \
	$(BIN)/ruff check . && $(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

demo: install engine example
	@eval "$$(scripts/engine.sh start)"; $(BIN)/python scripts/demo.py

lint: install
	$(BIN)/ruff check .

bench: install engine example
	@eval "$$(scripts/engine.sh start)"; for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	scripts/engine.sh stop
	rm -rf .state
