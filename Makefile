# The two commands: `make demo` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.txt | cut -c1-12)
WEB_PORT ?= 8000
SANDBOX_PORT ?= 8001

.PHONY: install demo test browser-deps clean

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser-deps:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "Install Debian's chromium package for the browser tests (sudo apt-get install chromium)"; fi; }

demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py sandbox_seed --demo --contacts 500
	$(BIN)/python manage.py sandbox_demo_app --redirect-uri http://127.0.0.1:$(WEB_PORT)/integrations/oauth/callback/ \
	  --webhook-url http://127.0.0.1:$(WEB_PORT)/integrations/webhooks/highlevel/
	$(BIN)/python manage.py highlevel_demo_app --redirect-url http://127.0.0.1:$(WEB_PORT)/integrations/oauth/callback/
	$(BIN)/python manage.py demo_seed --url http://127.0.0.1:$(WEB_PORT)/admin/
	@echo "Starting web (:$(WEB_PORT)), worker, dispatcher and sandbox (:$(SANDBOX_PORT)). Ctrl-C stops them all."
	PATH="$(CURDIR)/$(BIN):$$PATH" WEB_PORT=$(WEB_PORT) SANDBOX_PORT=$(SANDBOX_PORT) \
	  SANDBOX_BASE_URL=http://127.0.0.1:$(SANDBOX_PORT)/sandbox \
	  $(BIN)/honcho start web worker sandbox dispatcher

test: install browser-deps
	PORTAL_ENV=test $(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var staticfiles
