# Two commands do all the set-up: `make run` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test venv chromium bench lint

venv: $(STAMP)

# Re-installs whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Starts the platform with the demo plant on http://127.0.0.1:8000
run: venv
	$(VENV)/bin/zhizao run --demo

# Debian's chromium drives the browser tests (never `playwright install`).
chromium:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium fonts-noto-cjk; }

test: venv chromium
	$(VENV)/bin/ruff check src tests benchmarks
	$(PY) -m pytest -q

lint: venv
	$(VENV)/bin/ruff check src tests benchmarks

bench: venv
	$(VENV)/bin/zhizao bench historian
