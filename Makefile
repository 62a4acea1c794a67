# Two commands: `make run` serves the portal, `make test` runs every test.
# Both install whatever is missing on a Debian machine and are fast the second time.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test

# Debian packages: WeasyPrint (Pango, HarfBuzz subsetting for fast CJK PDFs), a CJK font,
# and for tests a real browser plus poppler for PDF checks.
RUN_DEBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk
TEST_DEBS := $(RUN_DEBS) chromium poppler-utils

.PHONY: run test lint serve debs-run debs-test db clean bench

run: debs-run $(VENV)/.run-installed db
	@echo "Serving on http://127.0.0.1:$(PORT) (demo accounts: see README)"
	$(BIN)/gunicorn --workers 2 --threads 4 --bind 127.0.0.1:$(PORT) --access-logfile - 'portal:create_app()'

test: debs-test $(VENV)/.dev-installed
	$(BIN)/ruff check portal tests
	$(BIN)/portal measures check
	@echo "== test suite on SQLite =="
	$(BIN)/pytest -q
	@echo "== test suite on PostgreSQL ($(PG_TEST_URL)) =="
	@$(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_TEST_URL)', connect_timeout=5).close()" \
	  || { echo "PostgreSQL at $(PG_TEST_URL) is not reachable; the suite must also pass there." >&2; exit 1; }
	TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -q

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check portal tests

db: $(VENV)/.run-installed
	$(BIN)/portal db upgrade
	$(BIN)/portal seed

bench: $(VENV)/.dev-installed
	$(BIN)/portal bench match
	$(BIN)/portal bench pdf

debs-run:
	@$(MAKE) --no-print-directory _debs DEBS="$(RUN_DEBS)"

debs-test:
	@$(MAKE) --no-print-directory _debs DEBS="$(TEST_DEBS)"

_debs:
	@missing=""; for p in $(DEBS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then echo "installing:$$missing"; sh -c "$$cmd"; \
	  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then echo "installing:$$missing"; sudo sh -c "$$cmd"; \
	  else echo "Missing Debian packages:$$missing" >&2; echo "Run as root:  $$cmd" >&2; exit 1; fi; \
	fi

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.run-installed

clean:
	rm -rf $(VENV) instance/portal.db* instance/pdf
