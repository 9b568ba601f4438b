# Baken: `make run` starts everything locally, `make test` runs every test. Both install what is
# missing first (the gateway's .venv, the Rasa environment, the trained model) and reuse it after.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RASA_ENV := .venv-rasa
STAMP := $(VENV)/.installed

.PHONY: run test install rasa-env model lint format i18n i18n-check test-gateway test-actions \
	gateway-lock clean help browser compose i18n-inbox test-pg screenshots

help:
	@echo "make run    - install what is missing, train if needed, start the whole stack"
	@echo "make test   - install what is missing, run lint, catalog checks and every test"
	@echo "make lint   - ruff and mypy;  make i18n - extract and update the reply catalogs"
	@echo "make screenshots - retake the inbox screenshots in docs/screenshots/"

$(STAMP): pyproject.toml requirements/gateway.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c requirements/gateway.lock -e '.[dev]' \
		2> >(grep -v "^WARNING: Location" >&2)
	@touch $@

install: $(STAMP) rasa-env

rasa-env:
	@scripts/rasa-env

model: install
	$(BIN)/baken train

run: model
	$(BIN)/baken up

lint: $(STAMP)
	$(BIN)/ruff check bot tests actions
	$(BIN)/ruff format --check bot tests actions
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format bot tests actions
	$(BIN)/ruff check --fix bot tests actions

i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-wrap --sort-by-file -c TRANSLATORS: \
		--project Baken -o locales/replies.pot .
	$(BIN)/pybabel update -D replies -i locales/replies.pot -d locales --no-wrap --ignore-obsolete
	$(BIN)/pybabel compile -D replies -d locales --statistics

i18n-inbox: $(STAMP)
	$(BIN)/pybabel extract -F bot/inbox/babel.cfg --no-wrap --sort-by-file --project Baken \
		-o locales/inbox.pot bot/inbox
	$(BIN)/pybabel update -D inbox -i locales/inbox.pot -d locales --no-wrap --ignore-obsolete \
		-l nl
	$(BIN)/pybabel update -D inbox -i locales/inbox.pot -d locales --no-wrap --ignore-obsolete \
		-l en

i18n-check: $(STAMP)
	$(BIN)/python -m bot.i18n.check

# Browser tests drive Debian's Chromium (never `playwright install`); installed only when missing.
browser:
	@test -x /usr/bin/chromium || { apt-get update -q && apt-get install -y -q chromium; }

# tests/unit/test_deploy.py has Docker Compose validate deploy/compose.yml (no daemon needed);
# Debian's docker-compose (1.29) is installed when no Compose is there.
compose:
	@docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null || \
		{ apt-get update -q && apt-get install -y -q docker-compose; }

test-gateway: model browser compose
	$(BIN)/pytest

# The inbox screenshots README and docs show (docs/screenshots/), taken by the browser tests;
# an ordinary test run puts its screenshots in var/screenshots/ instead.
screenshots: model browser
	BAKEN_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest -q \
		tests/integration/test_inbox_browser.py tests/integration/test_inbox_xss_browser.py

# The gateway suite again on PostgreSQL (production's database): every test, and the integration
# stack, gets a throwaway database on the server at PG_URL. The `processes` tests (several
# processes, faults) run once, in test-gateway, on a PostgreSQL cluster of their own.
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

test-pg: model browser compose
	@if $(BIN)/python -c 'import sys, psycopg; psycopg.connect(sys.argv[1].replace("+psycopg", ""), connect_timeout=3).close()' \
		'$(PG_URL)' 2>/dev/null; then \
		echo "Running the gateway suite on PostgreSQL ($(PG_URL))"; \
		BAKEN_DATABASE_URL='$(PG_URL)' $(BIN)/pytest -m 'not processes'; \
	else \
		echo "SKIPPED make test-pg: no PostgreSQL answers at $(PG_URL) (set PG_URL to use another)"; \
	fi

test-actions: rasa-env
	$(RASA_ENV)/bin/python -m pytest tests/actions -o addopts="" -p no:cacheprovider -q

# Rasa's own checks (issue 4): the training data and domain validate, and the dialogue test
# stories in tests/rasa pass against the model `baken train` produced for the current inputs.
test-rasa: model
	RASA_TELEMETRY_ENABLED=false $(RASA_ENV)/bin/rasa data validate --config config.yml \
		--domain dialogues/domain.yml --data dialogues/nlu dialogues/rules.yml dialogues/stories.yml
	RASA_TELEMETRY_ENABLED=false $(RASA_ENV)/bin/rasa test core --stories tests/rasa \
		--model "$$($(BIN)/python -c 'from bot.config import Settings; \
			print(max((Settings().var_dir / "models").glob("baken-*.tar.gz"), key=lambda p: p.stat().st_mtime))')" \
		--out var/rasa/test-results --fail-on-prediction-errors

test: lint i18n-check test-actions test-rasa test-gateway test-pg

gateway-lock: $(STAMP)
	{ echo "# Pinned gateway environment (Python 3.11+). Regenerate: make gateway-lock"; \
	  $(BIN)/pip freeze --exclude-editable; } > requirements/gateway.lock

clean:
	rm -rf $(VENV) $(RASA_ENV) var .rasa .pytest_cache .mypy_cache .ruff_cache
