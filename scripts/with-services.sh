#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL and Redis on 127.0.0.1 (from Debian's packages), and exports
# PROMOWATCH_TEST_PG / PROMOWATCH_TEST_REDIS for the tests that use them. Both are stopped afterwards.
set -uo pipefail
work=$(mktemp -d /tmp/promowatch-services.XXXXXX)
chmod 755 "$work"
# as root, PostgreSQL runs as the postgres user, which must write its log and socket here
[ "$(id -u)" -ne 0 ] || chown postgres "$work"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
as_pg() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
cleanup() {
  [ -n "${pg_bin:-}" ] && [ -d "$work/pg" ] && as_pg "$pg_bin/pg_ctl -D $work/pg -m immediate stop" >/dev/null 2>&1
  [ -n "${redis_pid:-}" ] && kill "$redis_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
if [ -n "$pg_bin" ]; then
  pg_port=$(free_port)
  mkdir -p "$work/pg" && { [ "$(id -u)" -ne 0 ] || chown postgres "$work/pg"; }
  if as_pg "$pg_bin/initdb -D $work/pg -A trust -U promowatch" >"$work/initdb.log" 2>&1 &&
     as_pg "$pg_bin/pg_ctl -D $work/pg -l $work/pg.log -o '-p $pg_port -k $work -c listen_addresses=127.0.0.1' -w start" >/dev/null; then
    export PROMOWATCH_TEST_PG="postgresql+psycopg://promowatch@127.0.0.1:$pg_port/postgres"
  else
    echo "with-services: PostgreSQL did not start (see $work/initdb.log)" >&2; cat "$work/initdb.log" >&2
  fi
fi
if command -v redis-server >/dev/null 2>&1; then
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
  redis_pid=$!
  export PROMOWATCH_TEST_REDIS="redis://127.0.0.1:$redis_port/0"
fi
"$@"
