# Two commands on a fresh clone: `make run` and `make test`. Everything else is set up on the way.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app app
HOST   ?= 127.0.0.1
PORT   ?= 5000
# Local commands run the development profile (a generated secret key in instance/); production sets APP_ENV itself.
export APP_ENV ?= development

.PHONY: run test test-js test-full setup setup-test db demo translations translations-extract translations-update test-pg test-at bench bench-scale bench-faults clean help

help:
	@echo "make run    set up and serve the app with demo data on http://$(HOST):$(PORT)"
	@echo "make test   set up and run the whole test suite"
	@echo "make bench  run the load benchmark (needs wrk or falls back to a Python load generator)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# What the app needs to run; `make test` adds the test tools (pytest, Hypothesis, aiosmtpd, Playwright, zxing, Pillow).
$(VENV)/.installed: requirements/app.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/app.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements/test.txt
	$(BIN)/python -m pip install --quiet -r requirements/test.txt
	touch $@

setup: $(VENV)/.installed translations

setup-test: $(VENV)/.installed-test translations

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

# The app and its mail worker side by side, as production runs them (gunicorn and `flask mail send --loop`);
# Ctrl+C stops both.
run: db
	$(FLASK) seed-demo --if-empty
	@echo ""
	@echo "Serving on http://$(HOST):$(PORT) with the mail worker beside it (demo sign-ins are listed in README.md; Ctrl+C stops)"
	@export PUBLIC_BASE_URL="$${PUBLIC_BASE_URL:-http://$(HOST):$(PORT)}"; \
	$(FLASK) mail send --loop & worker=$$!; \
	$(FLASK) run --host $(HOST) --port $(PORT) & server=$$!; \
	trap 'kill $$worker $$server 2>/dev/null; wait' EXIT INT TERM; \
	wait $$server

# The suite runs in TEST_WORKERS processes (pytest-xdist; each has its own database, live servers and Chromium);
# TEST_WORKERS=0 runs it in this one process. `worksteal` hands each worker a run of neighbouring tests, so a
# module's shared demo site is built once or twice, and lets an idle worker take over from a busy one. Three on the
# 2-core machine: a browser test spends much of its time waiting for Chromium and its live server, so a third
# worker fills that time (December 2026, fresh machine: SQLite 1052 s with two, 814 s with three; PostgreSQL 672 s
# and 436 s, the random fuzzing moved to make test-full between the two measurements).
TEST_WORKERS ?= 3
XDIST := -n $(TEST_WORKERS) --dist worksteal

# Which tests each target runs is written in tests/suites.py (README "Which tests run where"): `make test` all but the
# slow ones of `make test-full`, browser and axe tests included; `make test-pg` those whose result can depend on the
# database, on PostgreSQL; `make test-full` the slow ones, on SQLite and (where they reach the database) PostgreSQL.
test: setup-test
	$(BIN)/python -m pytest $(XDIST) --suite=submission $(PYTEST_ARGS)

# Only the browser scripts' unit tests (tests/js/, Node's own test runner; `make test` runs them too, through
# tests/test_js_units.py).
test-js: setup-test
	node --test tests/js/

# The suite against PostgreSQL: a throwaway database is created and dropped around the run.
PG_URL ?= postgresql://postgres@127.0.0.1:5432
test-pg: setup-test
	$(BIN)/python tests/pg_run.py "$(PG_URL)" -- $(XDIST) --suite=database $(PYTEST_ARGS)

test-full: setup-test
	$(BIN)/python -m pytest $(XDIST) --suite=full $(PYTEST_ARGS)
	$(BIN)/python tests/pg_run.py "$(PG_URL)" -- $(XDIST) --suite=full $(PYTEST_ARGS)

# The tests without a browser at another time of day (libfaketime, Debian's faketime package; UTC), e.g. just after
# midnight in Lübeck: `make test-at AT="2026-12-08 23:10:00"`. Two race tests are left out: they time SQLite's own
# lock waits, which libfaketime's clock upsets.
AT ?= 2026-12-08 01:40:00
FAKETIME_LIB ?= /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1
test-at: setup-test
	@test -e "$(FAKETIME_LIB)" || { echo "libfaketime is missing: apt-get install faketime"; exit 1; }
	LD_PRELOAD="$(FAKETIME_LIB)" FAKETIME="@$(AT)" $(BIN)/python -m pytest $(XDIST) --suite=submission -m "not browser" \
	  -k "not racing_a_cancellation and not every_seat_lock" $(PYTEST_ARGS)

bench: setup-test
	$(BIN)/python bench/run.py
	$(BIN)/python bench/checkin_sync.py

# Only the tour-size part of the benchmark: pages and feeds at the demo size and at 100,000 stops.
bench-scale: setup
	$(BIN)/python bench/scale.py

# Bookings on PostgreSQL through gunicorn while workers are killed and connections terminated (bench/README.md).
bench-faults: setup-test
	$(BIN)/python bench/faults.py

clean:
	rm -rf $(VENV) instance .pytest_cache
