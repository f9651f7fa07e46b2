# Forward Factor — every target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The chain snapshot's C reader (scanner/polygon/_fastscan.c), built for the venv's Python. Optional:
# without a C compiler the build says so and pages are read with msgspec (same chains, slower).
FASTSCAN := $(VENV)/.fastscan-built
READY := $(STAMP) $(FASTSCAN)

.PHONY: install demo test browser lint format web bench worker beat stream flower marketsim clean

install: $(READY)

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

$(FASTSCAN): scanner/polygon/_fastscan.c tools/build_fastscan.py $(STAMP)
	$(PY) tools/build_fastscan.py
	@touch $(FASTSCAN)

## The whole product on embedded defaults: SQLite, eager Celery, the simulated market.
demo: $(READY)
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py demo

## The whole test suite (uses DATABASE_URL / REDIS_URL when set). The site's browser test drives Debian's
## chromium: installed with apt when missing and we are root; otherwise that test skips and says why.
test: $(READY) browser
	$(PY) -m pytest

browser:
	@command -v chromium >/dev/null || if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && apt-get install -y -qq chromium || echo "make test: apt could not install chromium"; \
	else echo "make test: chromium is missing and we are not root: the browser test will skip"; fi

## ruff (lint and format check) and import-linter (the layers of DESIGN.md §2). CI runs it first.
lint: $(READY)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

## Apply ruff's fixes and formatting.
format: $(READY)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## The site and the admin on http://127.0.0.1:8000/ (after make demo: sign in as the demo's users).
web: $(READY)
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py runserver 127.0.0.1:8000

## Benchmarks: prints a table and writes bench/results.json. The pipeline benchmarks need PostgreSQL
## and Redis: DATABASE_URL / REDIS_URL when set, else the local servers.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/forwardfactor_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/5
bench: $(READY)
	DATABASE_URL="$${DATABASE_URL:-$(BENCH_DATABASE_URL)}" REDIS_URL="$${REDIS_URL:-$(BENCH_REDIS_URL)}" $(PY) bench/run.py

## Production-shape processes: they talk to each other through Redis and refuse to start without REDIS_URL.
worker: need-redis-worker $(READY)
	$(VENV)/bin/celery -A forwardfactor worker -Q scan,notify --loglevel INFO

beat: need-redis-beat $(READY)
	$(VENV)/bin/celery -A forwardfactor beat --loglevel INFO

stream: need-redis-stream $(READY)
	$(PY) manage.py stream

flower: need-redis-flower $(READY)
	$(VENV)/bin/celery -A forwardfactor flower --address=127.0.0.1 --port=5555

# Listed before $(STAMP) so the refusal comes before any install. Without Redis, Celery runs each task
# inside the process that sends it: a separate worker, beat, flower or stream would start and do nothing.
# $(error) rather than a failing shell line: one line on stderr, without make's "Error 2" after it.
need-redis-%:
	$(if $(strip $(REDIS_URL)),,$(error make $* needs REDIS_URL, e.g. REDIS_URL=redis://127.0.0.1:6379/0 make $* (without Redis each task runs inside the process that sends it, so a $* started alone does nothing; make demo runs it all in one process)))

marketsim: $(READY)
	$(PY) manage.py marketsim --port 8765

clean:
	rm -rf var/demo
