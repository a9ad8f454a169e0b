#!/usr/bin/env bash
# The whole test suite: SQLite and a throwaway PostgreSQL cluster, plus browser tests in
# Debian's chromium. Installs chromium and PostgreSQL from Debian when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=""
apt_install() {
  [ -n "$apt_updated" ] || { as_root apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

[ -x /usr/bin/chromium ] || { echo "Installing Debian's chromium…"; apt_install chromium; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
PGBIN=$(pg_bin)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
  echo "Installing PostgreSQL…"; apt_install postgresql; PGBIN=$(pg_bin)
fi

PGDIR=$(mktemp -d /tmp/pmo-pg.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [ "$(id -u)" = 0 ]; then
  chown postgres:postgres "$PGDIR"
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi
stop_pg() {
  as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PGDIR"
}
trap stop_pg EXIT
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $PGDIR -c fsync=off -c full_page_writes=off" start >/dev/null
echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (throwaway)"

export TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
export PMO_CHROMIUM=/usr/bin/chromium
# Two workers (the machines have two cores), each taking whole files so that a module's
# live server, demo site or gunicorn is built once; the longest files first, in the order
# tests/conftest.py gives them. PMO_TEST_WORKERS=0 runs in one process.
.venv/bin/python -m pytest -n "${PMO_TEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder "$@"
