#!/usr/bin/env bash
# Run a command against a throw-away PostgreSQL 15 cluster.
#
#   scripts/with_postgres.sh .venv/bin/pytest tests/handoff -q
#
# Creates a cluster in a temporary directory (as the 'postgres' user when run
# as root), listening only on 127.0.0.1 (port 55432, or a free one), creates
# the database 'opastin_test', exports
# TEST_DATABASE_URL=postgresql://opastin@127.0.0.1:PORT/opastin_test, runs the
# command, and always stops and removes the cluster afterwards. The exit
# status is the command's.
set -euo pipefail

[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 64; }

pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
[ -x "$pg_bin/initdb" ] || { echo "with_postgres: no PostgreSQL 15 in $pg_bin (apt-get install postgresql-15)" >&2; exit 69; }

free_port() {
  python3 - <<'PY'
import socket, sys
for port in [55432] + [0]:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(s.getsockname()[1])
        break
PY
}

port=${WITH_POSTGRES_PORT:-$(free_port)}
workdir=$(mktemp -d "${TMPDIR:-/tmp}/opastin-pg.XXXXXX")
as_owner=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || { echo "with_postgres: running as root needs a 'postgres' user" >&2; exit 69; }
  chown postgres: "$workdir"
  as_owner=(runuser -u postgres --)
fi

cleanup() {
  "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$workdir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"${as_owner[@]}" "$pg_bin/initdb" -D "$workdir/data" -U opastin --auth=trust -E UTF8 --locale=C.UTF-8 \
  >"$workdir/initdb.log" 2>&1 || { cat "$workdir/initdb.log" >&2; exit 1; }
"${as_owner[@]}" "$pg_bin/pg_ctl" -D "$workdir/data" -l "$workdir/server.log" -w -t 30 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $workdir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null || { cat "$workdir/server.log" >&2; exit 1; }
"${as_owner[@]}" "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U opastin opastin_test

export TEST_DATABASE_URL="postgresql://opastin@127.0.0.1:$port/opastin_test"
echo "with_postgres: PostgreSQL 15 on 127.0.0.1:$port ($TEST_DATABASE_URL)" >&2

set +e
"$@"
status=$?
set -e
exit "$status"
