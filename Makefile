# custapp — the two commands: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BUN := $(CURDIR)/.tools/node_modules/.bin/bun
PORT ?= 3000
# pytest-xdist workers: each has its own databases and, for the browser tests, its own server
TEST_WORKERS ?= 3

export REFLEX_BUN_PATH := $(BUN)
export REFLEX_TELEMETRY_ENABLED := false
export REFLEX_CHECK_LATEST_VERSION := false
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test setup browser pgclient lint fmt migrate clean

setup: $(VENV)/.installed $(BUN) pgclient

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

$(BUN):
	npm install --no-save --no-audit --no-fund --prefix .tools bun@1.4.4
	test -x $(BUN)

browser:
	@if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "noto sans cjk"; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	else \
		echo "Browser tests need Debian's chromium and fonts-noto-cjk:" >&2; \
		echo "  sudo apt-get install -y chromium fonts-noto-cjk   then run make test again." >&2; exit 1; \
	fi

# pg_dump / pg_restore for PostgreSQL backups (issue 16): at least the server's major version.
# Installed when missing (as root, Debian); otherwise a hint: SQLite instances do not need them.
PG_CLIENT_MIN ?= 15
PG_DUMP_MAJOR = pg_dump --version 2>/dev/null | sed -n 's/^pg_dump (PostgreSQL) \([0-9]*\).*/\1/p'

pgclient:
	@have=$$($(PG_DUMP_MAJOR)); \
	if [ -z "$$have" ] || [ "$$have" -lt $(PG_CLIENT_MIN) ]; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client >/dev/null; \
			have=$$($(PG_DUMP_MAJOR)); \
		fi; \
		if [ -z "$$have" ] || [ "$$have" -lt $(PG_CLIENT_MIN) ]; then \
			echo "PostgreSQL backups need pg_dump and pg_restore >= $(PG_CLIENT_MIN) (the server's major version):" >&2; \
			echo "  sudo apt-get install -y postgresql-client   (or postgresql-client-<server version> from apt.postgresql.org)" >&2; \
		fi; \
	fi

migrate: setup
	$(BIN)/custapp migrate

run: setup migrate
	$(BIN)/custapp seed-demo --if-empty
	CUSTAPP_ALLOWED_ORIGINS="$${CUSTAPP_ALLOWED_ORIGINS:-http://localhost:$(PORT),http://127.0.0.1:$(PORT)}" \
		$(BIN)/reflex run --env prod --single-port --frontend-port $(PORT) --backend-port $(PORT)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: setup browser lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=40

clean:
	rm -rf .web .states .tools $(VENV)
