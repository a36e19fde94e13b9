# Two entry points for a fresh Debian/Ubuntu machine with Python >= 3.11:
#   make demo   installs everything (venv, package, Debian's Chromium) and runs the demo
#   make test   installs the development tools and runs lint, type checks and the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test install dev system lint typecheck pytest bench clean

# the Debian packages come first: python3-venv may be among them
$(BIN)/python: | system
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: system $(BIN)/python
	$(BIN)/pip install -q .

dev: export PROMOWATCH_SERVERS = 1
dev: system $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'

# Debian packages (Chromium; for the tests PostgreSQL and Redis); skipped when already there.
system:
	@bash scripts/system-packages.sh

demo: install
	$(BIN)/promowatch demo

lint:
	$(BIN)/ruff check promowatch spiders pipelines notify tests bench
	$(BIN)/ruff format --check promowatch spiders pipelines notify tests bench
	$(BIN)/lint-imports

typecheck:
	$(BIN)/mypy

pytest:
	bash scripts/with-services.sh $(BIN)/pytest -q

test: dev lint typecheck pytest

bench: dev
	$(BIN)/python bench/extraction.py
	$(BIN)/python bench/evaluate.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
