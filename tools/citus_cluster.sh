#!/bin/bash
# Start or stop a throwaway Citus cluster on loopback: a coordinator and two
# workers, for the tests in test/citus.
#   tools/citus_cluster.sh available          exit 0 when Citus is installed
#                                             in PG_BINDIR's PostgreSQL
#   tools/citus_cluster.sh start DIR PORT     coordinator on PORT, workers on
#                                             PORT+1 and PORT+2, database
#                                             "postgres" with citus created
#                                             and the workers added (only the
#                                             first SB_CITUS_ADD_WORKERS of
#                                             them when that is 0 or 1: the
#                                             others start as lone nodes)
#   tools/citus_cluster.sh stop DIR           stop all three
# PG_BINDIR (default: pg_config's bindir, else /usr/lib/postgresql/15/bin)
# picks the PostgreSQL installation.  The servers run as the invoking user, or
# as "postgres" when invoked as root, and listen on 127.0.0.1 only.  Citus is
# not packaged for Debian; README, "Running the Citus tests", says which
# version was tested.
set -eu

BIN=${PG_BINDIR:-$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/bash -c "$1"; else bash -c "$1"; fi
}

citus_available() {
    local libdir
    libdir=$("$BIN/pg_config" --pkglibdir 2>/dev/null) || return 1
    [ -f "$libdir/citus.so" ]
}

cmd=${1:-}
case "$cmd" in
available)
    citus_available
    ;;
start)
    dir=$2 port=$3
    add_workers=${SB_CITUS_ADD_WORKERS:-2}
    citus_available || { echo "citus is not installed in $BIN/.." >&2; exit 1; }
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    for i in 0 1 2; do
        node="$dir/node$i" p=$((port + i))
        if [ ! -f "$node/PG_VERSION" ]; then
            as_owner "'$BIN/initdb' -D '$node' -A trust -U postgres >'$dir/initdb$i.log' 2>&1"
            cat >>"$node/postgresql.conf" <<EOF
shared_preload_libraries = 'citus'
listen_addresses = '127.0.0.1'
port = $p
unix_socket_directories = '$dir'
max_connections = 200
max_prepared_transactions = 200
wal_level = logical
citus.shard_count = 8
EOF
        fi
        as_owner "'$BIN/pg_ctl' -D '$node' -l '$dir/node$i.log' -w start >/dev/null"
    done
    for i in 0 1 2; do
        as_owner "'$BIN/psql' -X -q -h 127.0.0.1 -p $((port + i)) -U postgres -d postgres \
            -c 'CREATE EXTENSION IF NOT EXISTS citus'" >/dev/null
    done
    adds="-c \"SELECT citus_set_coordinator_host('127.0.0.1', $port)\""
    for i in $(seq 1 "$add_workers"); do
        adds="$adds -c \"SELECT citus_add_node('127.0.0.1', $((port + i)))\""
    done
    as_owner "'$BIN/psql' -X -q -h 127.0.0.1 -p $port -U postgres -d postgres $adds" >/dev/null
    ;;
stop)
    dir=$2
    for i in 0 1 2; do
        [ -f "$dir/node$i/postmaster.pid" ] &&
            as_owner "'$BIN/pg_ctl' -D '$dir/node$i' -m fast -w stop >/dev/null" || true
    done
    ;;
*)
    echo "usage: $0 available | start DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac
