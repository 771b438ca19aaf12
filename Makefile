# Two commands: `make run` serves the seeded API on http://127.0.0.1:8000, `make test` runs the suite.
# Both start a project-local PostgreSQL unless DATABASE_URL names another one.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1

.PHONY: install run test schema db-start db-stop db-status clean

# Dependencies come from the lock file (exact versions and hashes); pyproject.toml keeps the ranges.
LOCK := requirements.lock
$(VENV)/.installed: pyproject.toml $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r $(LOCK)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# GraphiQL's browser files, from the npm registry at the versions and hashes in package-lock.json (README: prerequisites).
EXPLORERS := service/core/explorers
$(EXPLORERS)/node_modules/.installed: $(EXPLORERS)/package-lock.json
	@command -v npm >/dev/null || { echo "make install needs npm (Node.js) to fetch GraphiQL's files: apt-get install npm"; exit 1; }
	npm ci --prefix $(EXPLORERS) --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# Spectral and the OWASP API ruleset, which the suite runs on openapi/openapi.json (tests/test_contracts.py).
CONTRACT_LINT := tests/contracts
$(CONTRACT_LINT)/node_modules/.installed: $(CONTRACT_LINT)/package-lock.json
	@command -v npm >/dev/null || { echo "make install needs npm (Node.js) to fetch Spectral: apt-get install npm"; exit 1; }
	npm ci --prefix $(CONTRACT_LINT) --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed $(EXPLORERS)/node_modules/.installed $(CONTRACT_LINT)/node_modules/.installed

# Re-resolve the lock file from pyproject.toml after a dependency changed, keeping the versions that
# still fit; LOCK_ARGS=--upgrade takes the newest of every range, --upgrade-package NAME of one.
UV_VERSION ?= 0.13.9
.PHONY: lock
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check 'uv==$(UV_VERSION)'
	$(VENV)/bin/uv pip compile pyproject.toml --extra test --universal --python-version 3.11 --generate-hashes \
		--custom-compile-command 'make lock' --quiet -o $(LOCK) $(LOCK_ARGS)

# The API and, beside it, the webhook dispatcher (`python -m service deliver`), stopped with it.
# A second `make run` (this checkout's, holding .data/run.lock, or anything on the port) refuses before
# it installs, migrates or seeds anything.
run:
	@$(PYTHON) scripts/refuse_if_serving.py $(HOST) $(PORT)
	@$(MAKE) --no-print-directory install
	@mkdir -p .data && echo 'http://$(HOST):$(PORT)' >.data/run.url
	flock --nonblock .data/run.lock scripts/with_postgres.sh bash -c '$(PY) -m service migrate && $(PY) -m service seed && \
		{ $(PY) -m service deliver & dispatcher=$$!; trap "kill $$dispatcher 2>/dev/null; wait $$dispatcher" EXIT; \
		$(PY) -m service serve --host $(HOST) --port $(PORT) --workers $(WORKERS); }'

test: install
	PG_ON_EXIT=release scripts/with_postgres.sh $(PY) -m pytest $(PYTEST_ARGS)

# Only the schemathesis fuzzing (tests/test_fuzz.py), with FUZZ_EXAMPLES per operation instead of `make test`'s 15.
.PHONY: fuzz
FUZZ_EXAMPLES ?= 300
fuzz: install
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) PG_ON_EXIT=release scripts/with_postgres.sh $(PY) -m pytest tests/test_fuzz.py $(PYTEST_ARGS)

# The benchmark suite (bench/README.md): every scenario at three data scales beside the Python limit and
# PostGraphile 4 and 5, in about 10 minutes; options in BENCH_ARGS, e.g. make bench BENCH_ARGS="--scales 1000:1".
.PHONY: bench
bench: install
	scripts/with_postgres.sh $(PY) bench/run.py $(BENCH_ARGS)

# Regenerate openapi/openapi.json and openapi/schema.graphql from the code.
schema: install
	$(PY) -m service export-schema

# A token for the running service: make token ROLE=agency INSTITUTION=VP (or ROLE=admin), printed once.
.PHONY: token
token: install
	@test -n "$(ROLE)" || { echo 'make token: say ROLE=agency INSTITUTION=<code> or ROLE=admin' >&2; exit 2; }
	@$(PY) -m service tokens create --role '$(ROLE)' $(if $(INSTITUTION),--institution '$(INSTITUTION)') \
		$(if $(LABEL),--label '$(LABEL)')

db-start:
	scripts/pg.sh start
db-stop:
	scripts/pg.sh stop
db-status:
	scripts/pg.sh status

clean:
	scripts/pg.sh destroy
	rm -rf .data $(VENV)
	rm -rf $(EXPLORERS)/node_modules $(CONTRACT_LINT)/node_modules
