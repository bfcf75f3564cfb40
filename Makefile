# The commands: `make demo`, `make check` (fast, before every commit) and `make test` (the
# whole suite). Everything installs into .venv from the locks, every package pinned with its
# hashes (pip --require-hashes): demo the runtime's requirements.txt, check and test
# requirements-dev.txt (the runtime plus tests and checkers). `make lock` remakes both locks
# from requirements.in / requirements-dev.in; `make audit` runs pip-audit over them (CI does).
# Each stamp names the hash of what it installed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-run-$(shell cat requirements.txt | sha1sum | cut -c1-12)
DEV_STAMP := $(VENV)/.installed-dev-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
# The fast tier: everything but the slow tests (subprocesses, real workers, live servers, the
# per-operation contract) and the browser ones, on both cores; the modules that hold only slow
# tests are not even collected (collecting the per-operation ones costs seconds of their own).
FAST_TESTS := -m "not slow and not browser" -n 2 -p no:cacheprovider \
  --ignore=tests/browser --ignore=tests/e2e --ignore=tests/conformance \
  --ignore=tests/sandbox/test_contract.py --ignore=tests/integrations/catalog/test_examples.py \
  --ignore=tests/integrations/catalog/test_named.py
WEB_PORT ?= 8000
SANDBOX_PORT ?= 8001

.PHONY: install install-dev lock audit demo check check-lint check-format check-types check-imports check-tests \
	test browser-deps clean

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --require-hashes -r requirements.txt
	rm -f $(VENV)/.installed-run-*
	touch $(STAMP)

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(BIN)/python -m pip install -q --require-hashes -r requirements-dev.txt
	rm -f $(VENV)/.installed-dev-*
	touch $(DEV_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

# The locks, remade from the .in files. uv keeps every version the lock already has unless a pin
# in a .in file changed (`make lock UV_ARGS=--upgrade` upgrades everything).
UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 --universal \
  --custom-compile-command "make lock" $(UV_ARGS)
lock: install-dev
	$(UV_COMPILE) requirements.in -o requirements.txt
	$(UV_COMPILE) requirements-dev.in -o requirements-dev.txt

# Known vulnerabilities (PyPI's advisory data) in any locked package: fails if there is one.
audit: install-dev
	$(BIN)/pip-audit --disable-pip --require-hashes --progress-spinner off $(AUDIT_ARGS) \
	  -r requirements.txt -r requirements-dev.txt

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser-deps:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "Install Debian's chromium package for the browser tests (sudo apt-get install chromium)"; fi; }

demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py sandbox_seed --demo --contacts 500
	$(BIN)/python manage.py sandbox_demo_app --redirect-uri http://127.0.0.1:$(WEB_PORT)/integrations/oauth/callback/ \
	  --webhook-url http://127.0.0.1:$(WEB_PORT)/integrations/webhooks/highlevel/
	$(BIN)/python manage.py highlevel_demo_app --redirect-url http://127.0.0.1:$(WEB_PORT)/integrations/oauth/callback/
	$(BIN)/python manage.py demo_seed --url http://127.0.0.1:$(WEB_PORT)/admin/
	@echo "Starting web (:$(WEB_PORT)), worker, dispatcher and sandbox (:$(SANDBOX_PORT)). Ctrl-C stops them all."
	PATH="$(CURDIR)/$(BIN):$$PATH" WEB_PORT=$(WEB_PORT) SANDBOX_PORT=$(SANDBOX_PORT) PORTAL_BASE_URL=http://127.0.0.1:$(WEB_PORT) \
	  SANDBOX_BASE_URL=http://127.0.0.1:$(SANDBOX_PORT)/sandbox \
	  $(BIN)/honcho start web worker sandbox dispatcher

# Lint, format, types, import contracts, then the fast tests. `make -k check` reports every
# step's failures, not only the first.
check: check-lint check-format check-types check-imports check-tests

check-lint: install-dev
	$(BIN)/ruff check .

check-format: install-dev
	$(BIN)/ruff format --check .

check-types: install-dev
	PORTAL_ENV=test $(BIN)/mypy

check-imports: install-dev
	$(BIN)/lint-imports

check-tests: install-dev
	PORTAL_ENV=test $(BIN)/python -m pytest -q $(FAST_TESTS) $(PYTEST_ARGS)

test: install-dev browser-deps
	PORTAL_ENV=test $(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var staticfiles
