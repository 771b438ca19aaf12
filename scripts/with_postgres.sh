#!/usr/bin/env bash
# Runs a command with DATABASE_URL set. Without a DATABASE_URL of the caller's, the
# project-local cluster is started first and stopped afterwards if this script started it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
db=${DATABASE_NAME:-interior}

if [ -n "${DATABASE_URL:-}" ]; then exec "$@"; fi

started=$("$here/pg.sh" start)
cleanup() { if [ "$started" = started ]; then "$here/pg.sh" "${PG_ON_EXIT:-stop}" >/dev/null; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

DATABASE_URL=$("$here/pg.sh" url "$db")
export DATABASE_URL
"$(dirname "$here")/.venv/bin/python" -m service createdb
"$@"
