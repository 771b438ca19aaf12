#!/usr/bin/env bash
# The project-local PostgreSQL cluster: start | stop | release | status | destroy | url.
# PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` OS user.
# That user must be able to reach the data directory: when the checkout sits under a private
# folder, the cluster lives under the system temp folder instead, keyed by the checkout's path.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
key=$(printf '%s' "$root" | sha1sum | cut -c1-10)
pg_bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$pg_bin/pg_ctl" ] || { echo "pg.sh: no PostgreSQL server binaries found; install them (Debian: postgresql) or set PG_BIN or DATABASE_URL" >&2; exit 1; }

if [ "$(id -u)" = 0 ]; then
  as_pg=(runuser -u postgres --)
else
  as_pg=()
fi
if [ -n "${PG_BASE:-}" ]; then
  # A separate cluster of its own (the fault tests stop and start one without touching the main one).
  base="$PG_BASE"
  key=$(printf '%s' "$base" | sha1sum | cut -c1-10)
elif [ "$(id -u)" = 0 ]; then
  mkdir -p "$root/.data"
  if "${as_pg[@]}" test -x "$root/.data" 2>/dev/null; then
    base="$root/.data"
  else
    base="${TMPDIR:-/tmp}/interior-pg-$key"
  fi
else
  base="$root/.data"
fi
pgdata="$base/pg"
sockdir="/tmp/ipg-$key"
# Where the CLI and the service look for this cluster when DATABASE_URL is unset (service/settings.py):
# the port is chosen at the first start, so nothing else could know it. The fault tests' own clusters
# (PG_BASE) leave it alone.
url_file="$root/.data/database-url"
# From / so that the postgres user is never left in a folder it cannot enter.
run() { (cd / && "${as_pg[@]}" "$@"); }

prepare_dirs() {
  mkdir -p "$base" "$sockdir"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$base" "$sockdir"; chmod 700 "$sockdir"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_is_free() {
  # SO_REUSEADDR as PostgreSQL binds: a port in TIME_WAIT after a stop is free for it.
  python3 -c 'import socket, sys; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

is_running() { [ -f "$pgdata/PG_VERSION" ] && run "$pg_bin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; }

port() { cat "$base/port"; }

url() { echo "postgresql+asyncpg://postgres@127.0.0.1:$(port)/${1:-interior}"; }

remember_url() { if [ -z "${PG_BASE:-}" ]; then mkdir -p "$root/.data"; url >"$url_file"; fi; }
forget_url() { if [ -z "${PG_BASE:-}" ]; then rm -f "$url_file"; fi; }

case "${1:-}" in
  start)
    prepare_dirs
    if [ ! -f "$pgdata/PG_VERSION" ]; then
      run "$pg_bin/initdb" -D "$pgdata" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$base/initdb.log" 2>&1 \
        || { cat "$base/initdb.log" >&2; exit 1; }
    fi
    if is_running; then remember_url; echo "already running"; exit 0; fi
    # The same port as last time while it is free, so that clients reconnect after a restart.
    if ! { [ -f "$base/port" ] && port_is_free "$(cat "$base/port")"; }; then free_port >"$base/port"; fi
    run "$pg_bin/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w -t 30 start \
      -o "-p $(port) -k $sockdir -c listen_addresses=127.0.0.1 -c fsync=${PG_FSYNC:-on}" >/dev/null \
      || { tail -n 20 "$pgdata/server.log" >&2; exit 1; }
    remember_url
    echo "started"
    ;;
  stop)
    if is_running; then run "$pg_bin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null; echo "stopped"; fi
    ;;
  status)
    if is_running; then echo "running on 127.0.0.1:$(port) (data: $pgdata)"; else echo "not running"; exit 3; fi
    ;;
  destroy)
    "$0" stop
    forget_url
    rm -rf "$base"
    ;;
  release)
    # Stop; and where the cluster lives in the temp folder (a checkout the postgres user cannot reach,
    # as CI's fresh clone is), remove it too, so that nothing of the run is left behind.
    "$0" stop
    case "$base" in "${TMPDIR:-/tmp}"/interior-pg-*) forget_url; rm -rf "$base" "$sockdir" ;; esac
    ;;
  url)
    url "${2:-}"
    ;;
  *)
    echo "usage: $0 start|stop|release|status|destroy|url [dbname]" >&2; exit 2
    ;;
esac
