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

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	scripts/with_postgres.sh bash -c '$(PY) -m service migrate && $(PY) -m service seed && \
		exec $(PY) -m service serve --host $(HOST) --port $(PORT) --workers $(WORKERS)'

test: install
	PG_ON_EXIT=release scripts/with_postgres.sh $(PY) -m pytest $(PYTEST_ARGS)

# The benchmark suite (bench/README.md): every scenario at three data scales beside the Python limit and
# PostGraphile 4 and 5, in about 10 minutes; options in BENCH_ARGS, e.g. make bench BENCH_ARGS="--scales 1000:1".
.PHONY: bench
bench: install
	scripts/with_postgres.sh $(PY) bench/run.py $(BENCH_ARGS)

# Regenerate openapi/openapi.json and openapi/schema.graphql from the code.
schema: install
	$(PY) -m service export-schema

db-start:
	scripts/pg.sh start
db-stop:
	scripts/pg.sh stop
db-status:
	scripts/pg.sh status

clean:
	scripts/pg.sh destroy
	rm -rf .data $(VENV)
