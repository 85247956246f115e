#!/bin/sh
# Start or stop a throwaway PostgreSQL 15 cluster for tests and examples.
#   tools/throwaway_pg.sh start DIR PORT   initdb DIR (if new) and start it
#   tools/throwaway_pg.sh stop DIR         stop it
# The server runs as the invoking user, or as "postgres" when invoked as root
# (initdb and the server refuse to run as root).  It listens only on a Unix
# socket in DIR, so it never clashes with another server.
set -eu

BIN=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
[ -x "$BIN/initdb" ] || BIN=/usr/lib/postgresql/15/bin

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi
}

cmd=$1 dir=$2
case "$cmd" in
start)
    port=$3
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_owner "'$BIN/initdb' -D '$dir/data' -A trust -U postgres >'$dir/initdb.log' 2>&1"
    fi
    as_owner "'$BIN/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w \
        -o \"-p $port -k '$dir' -c listen_addresses=''\" start >/dev/null"
    ;;
stop)
    as_owner "'$BIN/pg_ctl' -D '$dir/data' -m fast -w stop >/dev/null" || true
    ;;
*)
    echo "usage: $0 start DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac
