# Two commands on a fresh clone: `make run` and `make test`. Everything else is set up on the way.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app app
HOST   ?= 127.0.0.1
PORT   ?= 5000
# Local commands run the development profile (a generated secret key in instance/); production sets APP_ENV itself.
export APP_ENV ?= development

.PHONY: run test setup db demo translations translations-extract translations-update test-pg bench clean help

help:
	@echo "make run    set up and serve the app with demo data on http://$(HOST):$(PORT)"
	@echo "make test   set up and run the whole test suite"
	@echo "make bench  run the load benchmark (needs wrk or falls back to a Python load generator)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements/app.txt requirements/test.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/test.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

setup: $(VENV)/.installed translations

translations: $(VENV)/.installed
	$(FLASK) translate compile

translations-extract: $(VENV)/.installed
	$(FLASK) translate extract

translations-update: $(VENV)/.installed
	$(FLASK) translate update

db: setup
	$(FLASK) db upgrade

demo: db
	$(FLASK) seed-demo

run: db
	$(FLASK) seed-demo --if-empty
	@echo ""
	@echo "Serving on http://$(HOST):$(PORT)  (demo sign-ins are listed in README.md; Ctrl+C stops)"
	PUBLIC_BASE_URL="$${PUBLIC_BASE_URL:-http://$(HOST):$(PORT)}" $(FLASK) run --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The suite against PostgreSQL: a throwaway database is created and dropped around the run.
PG_URL ?= postgresql://postgres@127.0.0.1:5432
test-pg: setup
	$(BIN)/python tests/pg_run.py "$(PG_URL)" -- $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) instance .pytest_cache
