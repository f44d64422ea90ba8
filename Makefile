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

.PHONY: run test setup browser lint fmt migrate clean

setup: $(VENV)/.installed $(BUN)

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
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

clean:
	rm -rf .web .states .tools $(VENV)
