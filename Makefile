# Everyday jobs. Each bootstraps .venv from pyproject.toml on a clean machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: all venv test lint demo bench bench-quick clean audit-deps screenshots

all: test

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check gateway adapters schemas tests bench
	$(BIN)/ruff format --check gateway adapters schemas
	$(BIN)/mypy

test: $(STAMP) lint
	$(BIN)/pytest -q $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/gateway demo

bench: $(STAMP)
	$(BIN)/python -m bench.run

bench-quick: $(STAMP)
	$(BIN)/python -m bench.run --quick

# Known vulnerabilities in the installed dependencies (pip-audit; needs the advisory
# service: fails loudly, never "clean", when it cannot audit anything; docs/security.md).
audit-deps: $(STAMP)
	BIN=$(BIN) bash .ci/audit-deps

# PNGs of the console's main pages into docs/console/ (real gateway, headless chromium).
screenshots: $(STAMP)
	bash tests/console/setup.sh
	$(BIN)/python -m tests.console.screenshots docs/console

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info
