# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test test-slow migrate translations browser lock clean

# The locked dependencies, every file checked against its hash; then the project itself
# (no dependency resolution: the lock is the whole truth).
# (setuptools' boxed note on editable installs says nothing that applies here: silenced.)
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# After changing dependencies in pyproject.toml: pin them again, with hashes.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip-tools
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --extra test \
	  --all-build-deps --strip-extras --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

migrate: $(STAMP)
	$(BIN)/flask --app registry db upgrade
	$(BIN)/flask --app registry load-indicators --if-empty

# gunicorn.conf.py: one process with threads, or several processes when Redis is configured.
run: migrate
	REGISTRY_BIND=$(HOST):$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py 'registry:create_app()'

# One test process per core (pytest-xdist; TEST_PROCESSES=0 runs them in this one), a file's
# tests in one process: each keeps its own fixtures and Redis database.
TEST_PROCESSES ?= auto
test: $(STAMP) browser
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist loadfile $(PYTEST_ARGS)

# The slow tests: mixed load, faults (a private PostgreSQL cluster, killed workers), scale.
test-slow: $(STAMP) browser
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

# Browser tests drive Debian's Chromium; install it when missing and we may (root).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Chromium for the browser tests (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "Chromium is not installed and cannot be installed here: browser tests will be skipped"; \
	  fi; }

# Re-extract every user-facing string, merge into both catalogs, compile.
translations: $(STAMP)
	$(BIN)/pybabel extract --no-location --sort-output -F babel.cfg -k _l -k N_ -o registry/translations/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching -i registry/translations/messages.pot -d registry/translations
	$(BIN)/python scripts/fill_english_catalog.py
	$(BIN)/pybabel compile -d registry/translations

clean:
	rm -rf $(VENV) .pytest_cache
