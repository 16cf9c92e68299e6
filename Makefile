# The two commands: `make run` and `make test`. Both install what is missing, then act.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
THREADS ?= 32
export FLASK_APP := app

VENDOR := static/vendor/htmx.min.js static/vendor/ws.js static/vendor/swagger-ui-bundle.js \
	static/vendor/swagger-ui.css static/vendor/uPlot.iife.min.js static/vendor/uPlot.min.css

.PHONY: run dev test test-fast test-postgres lint bench setup setup-dev migrate clean-venv

run: setup migrate
	$(BIN)/gunicorn --config gunicorn.conf.py --workers 1 --threads $(THREADS) \
	  --bind $(HOST):$(PORT) --access-logfile - --graceful-timeout 5 app:app

dev: setup-dev migrate
	$(BIN)/flask run --debug --host $(HOST) --port $(PORT)

test: setup-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The quick pass while working: no real servers (gunicorn, Mosquitto), no browser, no
# PostgreSQL-only tests, spread over one process a core (pytest-xdist; WORKERS=0 runs them in
# this process), a fifth of the property tests' examples (the "fast" Hypothesis profile of
# tests/conftest.py), and the compiled test modules kept between runs (__pycache__, even where
# the environment says PYTHONDONTWRITEBYTECODE): rewriting their asserts took 8 s a run.
WORKERS ?= auto
test-fast: setup-dev
	ALERTING_HYPOTHESIS_PROFILE=fast PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -m "not slow and not browser and not postgres" -n $(WORKERS) \
	  $(PYTEST_ARGS)

# The database-facing tests again, each in its own schema of a real PostgreSQL database.
POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
test-postgres: setup-dev
	ALERTING_TEST_DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m pytest tests \
	  --ignore=tests/engine --ignore=tests/notify $(PYTEST_ARGS)

lint: setup-dev
	$(BIN)/ruff check .

bench: setup-dev
	$(BIN)/python bench/match.py
	$(BIN)/python bench/floor.py

migrate: setup
	$(BIN)/flask db upgrade

setup: $(VENV)/.installed $(VENDOR)
setup-dev: $(VENV)/.installed-dev $(VENDOR)
	@# The browser tests drive Debian's Chromium (Playwright never downloads a browser); the
	@# proxy test runs docs/proxy/nginx.conf in Debian's nginx.
	@missing=""; [ -x /usr/bin/chromium ] || missing="chromium"; \
	[ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y $$missing; \
	  else echo "Browser and proxy tests need Debian's packages: sudo apt-get install $$missing"; fi; \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

static/vendor/htmx.min.js: node_modules/.package-lock.json
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js $@

static/vendor/ws.js: node_modules/.package-lock.json
	mkdir -p static/vendor
	cp node_modules/htmx-ext-ws/dist/ws.js $@

static/vendor/swagger-ui-bundle.js static/vendor/swagger-ui.css: node_modules/.package-lock.json
	mkdir -p static/vendor
	cp node_modules/swagger-ui-dist/$(notdir $@) $@

static/vendor/uPlot.iife.min.js static/vendor/uPlot.min.css: node_modules/.package-lock.json
	mkdir -p static/vendor
	cp node_modules/uplot/dist/$(notdir $@) $@

clean-venv:
	rm -rf $(VENV) node_modules static/vendor
