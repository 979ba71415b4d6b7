# The two commands a newcomer needs:  make run   and   make test
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test test-sqlite test-postgres lint bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,postgres]'
	touch $(STAMP)

## Run the bot on its embedded default: SQLite, examples/ maildir inbox, console chat, folder outbox.
run: $(STAMP)
	$(BIN)/complaint-bot run

## Run lint, type checks and the whole test suite on SQLite and on PostgreSQL.
test: $(STAMP)
	scripts/install-test-servers
	$(BIN)/ruff check --no-cache bot handlers tests $(wildcard bench)
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q -p no:cacheprovider
	CB_TEST_DATABASE_URL=$(PG_URL) $(BIN)/pytest -q -p no:cacheprovider

test-sqlite: $(STAMP)
	$(BIN)/pytest -q

test-postgres: $(STAMP)
	CB_TEST_DATABASE_URL=$(PG_URL) $(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check --no-cache bot handlers tests $(wildcard bench)
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	scripts/install-test-servers
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var
