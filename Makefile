# The commands a newcomer needs:  make run,  make check (a few minutes)  and  make test
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

PYTEST := $(BIN)/pytest -q -p no:cacheprovider
# Test processes per database pass (pytest-xdist); the two passes run side by side.
WORKERS ?= 2
LINT := $(BIN)/ruff check --no-cache bot handlers tests $(wildcard bench) \
	&& $(BIN)/ruff format --check --no-cache bot handlers tests scripts $(wildcard bench)

.PHONY: run check test test-sqlite test-postgres lint format bench clean pass-sqlite pass-postgres messages catalogs

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,postgres]'
	$(MAKE) catalogs
	touch $(STAMP)

LOCALE := templates/locale

## Compile the word catalogs (.po -> .mo); a stale or missing .mo is compiled in memory anyway.
catalogs:
	for d in staff access web; do $(BIN)/pybabel -q compile -d $(LOCALE) -D $$d; done

## Extract the message keys the Slack code, the sweeps and the presenters name into var/staff.pot
## (a template for a new language).
messages: $(STAMP)
	mkdir -p var
	$(BIN)/pybabel -q extract -F babel.cfg --sort-output -o var/staff.pot handlers/slack handlers/sweeps bot/presenters

## Run the bot on its embedded default: SQLite, examples/ maildir inbox, console chat, folder outbox.
run: $(STAMP)
	$(BIN)/complaint-bot run

## Lint, type checks and the fast tests on SQLite (not the `slow` ones: tests/proof/).
check: $(STAMP)
	$(LINT)
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(PYTEST) -n $(WORKERS) -m "not slow"

## Lint, type checks and the whole test suite on SQLite and on PostgreSQL (side by side),
## with branch coverage of bot/ and handlers/ over both, printed as one total.
test: $(STAMP)
	scripts/install-test-servers
	$(LINT)
	$(BIN)/mypy
	$(BIN)/lint-imports
	rm -f .coverage .coverage.*
	$(MAKE) --no-print-directory -j2 --output-sync=target pass-sqlite pass-postgres
	$(BIN)/coverage combine -q .coverage.sqlite .coverage.postgres
	@echo "coverage (branch; bot and handlers; SQLite + PostgreSQL): $$($(BIN)/coverage report --format=total)%"

# One database pass of `make test`, with coverage data for the total. The browser test
# must run there (scripts/install-test-servers installed it): CB_REQUIRE_BROWSER=1.
pass-sqlite:
	CB_REQUIRE_BROWSER=1 COVERAGE_FILE=.coverage.sqlite $(PYTEST) -n $(WORKERS) --cov --cov-report=
pass-postgres:
	CB_REQUIRE_BROWSER=1 COVERAGE_FILE=.coverage.postgres CB_TEST_DATABASE_URL=$(PG_URL) \
	    $(PYTEST) -n $(WORKERS) --cov --cov-report=

test-sqlite: $(STAMP)
	$(PYTEST) -n $(WORKERS)

test-postgres: $(STAMP)
	CB_TEST_DATABASE_URL=$(PG_URL) $(PYTEST) -n $(WORKERS)

lint: $(STAMP)
	$(LINT)
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	scripts/install-test-servers
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .coverage .coverage.*

## Format the code the way `make lint` checks it (ruff format).
format: $(STAMP)
	$(BIN)/ruff format bot handlers tests scripts $(wildcard bench)
