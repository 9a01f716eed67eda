#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster on a private socket and port.
#   scripts/cluster.sh start   initdb + start; writes $PGUL_DIR/env to source
#   scripts/cluster.sh stop    stop and remove; fails if a backend crashed
#   scripts/cluster.sh log     print the server log
# initdb refuses to run as root, so as root the cluster belongs to 'postgres'.
# PGUL_PG (default /usr/lib/postgresql/15) picks another PostgreSQL installation,
# e.g. a private copy, so that two checkouts can install and test side by side.
set -euo pipefail

bin=${PGUL_PG:-/usr/lib/postgresql/15}/bin
dir=${PGUL_DIR:-/tmp/pg_unlearn_cluster}
port=${PGUL_PORT:-55432}
if [ "$(id -u)" -eq 0 ]; then owner=postgres; else owner=$(id -un); fi

as_owner() {
    if [ "$(id -un)" = "$owner" ]; then "$@"; else runuser -u "$owner" -- "$@"; fi
}

stop_server() {
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 ||
            as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
}

case "${1:-}" in
start)
    stop_server
    rm -rf "$dir"
    mkdir -p "$dir"
    chown "$owner" "$dir"
    chmod 700 "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-locale >/dev/null
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
port = $port
unix_socket_directories = '$dir'
fsync = off
shared_buffers = 256MB
max_wal_size = 4GB
log_min_messages = warning
logging_collector = off
CONF
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
    printf 'export PGHOST=%s PGPORT=%s PGUSER=postgres PGDATABASE=postgres\n' "$dir" "$port" >"$dir/env"
    echo "cluster up: PGHOST=$dir PGPORT=$port"
    ;;
stop)
    stop_server
    status=0
    if [ -f "$dir/server.log" ] && grep -E "terminated by signal|was terminated by exception" "$dir/server.log"; then
        echo "a backend crashed (see above)" >&2
        status=1
    fi
    rm -rf "$dir"
    exit $status
    ;;
log)
    cat "$dir/server.log"
    ;;
*)
    echo "usage: $0 start|stop|log" >&2
    exit 2
    ;;
esac
