#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster, then removes the cluster:
#   scripts/with-postgres.sh .venv/bin/pytest -q
# The command gets DATABASE_URL for a superuser role (pytest-django creates test_<name> itself).
# The cluster lives in a fresh temp dir, listens on a free port on 127.0.0.1 with its unix socket
# in that dir, and trades durability for speed (fsync, synchronous_commit, full_page_writes off).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -gt 0 ] || die "usage: scripts/with-postgres.sh COMMAND [ARGS...]"

pg_bin="$(compgen -G '/usr/lib/postgresql/*/bin' | sort -V | tail -n 1 || true)"
[ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] \
    || die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)"

# initdb refuses to run as root, so root runs the server as the postgres user.
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root but there is no postgres user to own the cluster"
    as_cluster_owner() { runuser -u postgres -- "$@"; }
else
    as_cluster_owner() { "$@"; }
fi

cluster_dir="$(mktemp -d "${TMPDIR:-/tmp}/siyu-pg.XXXXXX")"
if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$cluster_dir"
fi
chmod 700 "$cluster_dir"
data_dir="$cluster_dir/data"
log_file="$cluster_dir/server.log"
started=0

cleanup() {
    if [ "$started" = 1 ]; then
        as_cluster_owner "$pg_bin/pg_ctl" -D "$data_dir" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$cluster_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail_with_log() {
    printf 'error: %s\n' "$1" >&2
    if [ -f "$log_file" ]; then
        printf -- '--- PostgreSQL server log (%s) ---\n' "$log_file" >&2
        cat "$log_file" >&2 || true
        printf -- '--- end of server log ---\n' >&2
    fi
    exit 1
}

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

as_cluster_owner "$pg_bin/initdb" -D "$data_dir" -U postgres -A trust -E UTF8 --no-locale \
    --no-sync >"$cluster_dir/initdb.log" 2>&1 \
    || { cat "$cluster_dir/initdb.log" >&2; fail_with_log "initdb failed (output above)"; }

started=1
as_cluster_owner "$pg_bin/pg_ctl" -D "$data_dir" -l "$log_file" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$cluster_dir \
-c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null \
    || fail_with_log "PostgreSQL did not start on 127.0.0.1:$port"

ready=0
for _ in $(seq 1 100); do
    if "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
        ready=1
        break
    fi
    sleep 0.1
done
[ "$ready" = 1 ] || fail_with_log "PostgreSQL on 127.0.0.1:$port never became ready"

"$pg_bin/psql" -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres \
    -c "CREATE ROLE siyu LOGIN SUPERUSER PASSWORD 'siyu'" \
    -c "CREATE DATABASE siyu OWNER siyu" >/dev/null \
    || fail_with_log "could not create the test role and database"

export DATABASE_URL="postgres://siyu:siyu@127.0.0.1:$port/siyu"
say "throwaway PostgreSQL $(basename "$(dirname "$pg_bin")") on 127.0.0.1:$port"

set +e
"$@"
status=$?
set -e
exit "$status"
