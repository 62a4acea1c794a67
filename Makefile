# Two commands: `make run` serves the portal, `make test` runs every test.
# Both install whatever is missing on a Debian machine and are fast the second time.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test

# Python packages come from lock files with hashes (`make lock` refreshes them from pyproject.toml):
# requirements.lock for `make run`, requirements-dev.lock (runtime + dev extras) for `make test`.
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
UV_VERSION ?= 0.13.9

# Debian packages: WeasyPrint (Pango, HarfBuzz subsetting for fast CJK PDFs), a CJK font,
# and for tests a real browser plus poppler for PDF checks and wrk for `portal bench load`.
RUN_DEBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk
TEST_DEBS := $(RUN_DEBS) chromium poppler-utils wrk

.PHONY: run test lint serve debs-run debs-test db clean bench lock i18n

# Korean and English message catalogs, compiled at install (portal/i18n.py; the .mo files are not kept in git).
CATALOGS := $(wildcard portal/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

# The web server and, beside it, the task queue's worker (PDFs, e-mail); Ctrl-C stops both.
run: debs-run $(VENV)/.run-installed $(COMPILED) db
	@echo "Serving on http://127.0.0.1:$(PORT) (demo accounts: see README)"
	$(BIN)/portal worker & worker=$$!; trap 'kill -INT $$worker 2>/dev/null; wait $$worker' EXIT; \
	  $(BIN)/gunicorn --workers 2 --threads 4 --bind 127.0.0.1:$(PORT) --access-logfile - 'portal:create_app()'

# Bytecode on for the suite even where the environment turns it off (PYTHONDONTWRITEBYTECODE=1): otherwise
# every pytest start and every subprocess (served portal, PDF workers) recompiles the portal.
test: export PYTHONDONTWRITEBYTECODE =
test: debs-test $(VENV)/.dev-installed $(COMPILED)
	$(BIN)/ruff check portal tests
	$(BIN)/portal measures check
	$(BIN)/portal i18n check
	@echo "== test suite on SQLite =="
	$(BIN)/pytest -q
	@echo "== test suite on PostgreSQL ($(PG_TEST_URL)) =="
	@$(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_TEST_URL)', connect_timeout=5).close()" \
	  || { echo "PostgreSQL at $(PG_TEST_URL) is not reachable; the suite must also pass there." >&2; exit 1; }
	TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -q

%.mo: %.po | $(VENV)/.run-installed
	$(BIN)/pybabel -q compile -i $< -o $@

# After changing user-facing text: extract it and add the new strings to both catalogs, then translate them.
i18n: $(VENV)/.dev-installed
	$(BIN)/portal i18n update

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

# Exactly the locked versions (every file checked against its hash), then the portal itself without
# resolving anything; `pip check` catches a pyproject.toml dependency the lock file does not have yet.
$(VENV)/.run-installed: $(LOCK) pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	@$(BIN)/pip check >/dev/null || { $(BIN)/pip check >&2; echo "$(LOCK) is out of date with pyproject.toml: run make lock" >&2; exit 1; }
	touch $@

$(VENV)/.dev-installed: $(DEV_LOCK) pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	@$(BIN)/pip check >/dev/null || { $(BIN)/pip check >&2; echo "$(DEV_LOCK) is out of date with pyproject.toml: run make lock" >&2; exit 1; }
	touch $@ $(VENV)/.run-installed

# Re-resolve both lock files from pyproject.toml, with hashes: `make lock` keeps the pinned versions that
# still satisfy pyproject.toml and adds what it newly asks for; `make lock UPGRADE=1` takes the newest.
# uv is a generator only: installed into the venv here, never a dependency of the portal.
# The runtime lock is constrained by the dev lock so both pin the same version of every shared package.
UPGRADE ?=
UV_COMPILE = $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
  --custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade)
lock: | $(VENV)/bin/python
	@test -x $(BIN)/uv || $(BIN)/pip install --quiet 'uv==$(UV_VERSION)'
	$(UV_COMPILE) --extra dev -o $(DEV_LOCK) pyproject.toml
	$(UV_COMPILE) --constraint $(DEV_LOCK) -o $(LOCK) pyproject.toml
	@! grep -qiE '^(torch|nvidia-)' $(LOCK) $(DEV_LOCK) || { echo "torch must never be locked" >&2; exit 1; }

clean:
	rm -rf $(VENV) instance/portal.db* instance/pdf $(COMPILED)
