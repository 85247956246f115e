#!/bin/bash
# A throwaway PostgreSQL server with storagebox, to try it on:
#   tools/playground.sh [--sql]   start the server (if it is not running),
#                                 make the database "playground" with the
#                                 extension (--sql: "playground_sql" with
#                                 the SQL flavour), and open psql in it; the
#                                 server keeps running after psql ends
#   tools/playground.sh stop      stop the server and remove its files
# The server is the PostgreSQL that pg_config names (PG_CONFIG=... for
# another); it listens only on a Unix socket in its directory,
# PLAYGROUND_DIR (default /tmp/storagebox-playground), on port
# PLAYGROUND_PORT (default 5498), and trusts local connections: it is for
# trying things, not for data.  When that PostgreSQL has no storagebox yet,
# the script installs what is missing (tools/install_deps.sh, Debian),
# builds storagebox and installs it (sudo make install).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${PLAYGROUND_DIR:-/tmp/storagebox-playground}
port=${PLAYGROUND_PORT:-5498}
PG_CONFIG=${PG_CONFIG:-pg_config}
extension=storagebox db=playground

case "${1:-}" in
    stop)
        if [ -f "$dir/data/PG_VERSION" ]; then
            "$top/tools/throwaway_pg.sh" stop "$dir"
            rm -rf "$dir"
            echo "playground stopped and removed ($dir)"
        else
            echo "no playground in $dir"
        fi
        exit 0 ;;
    --sql) extension=storagebox_sql db=playground_sql ;;
    "") ;;
    *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac

if ! command -v "$PG_CONFIG" >/dev/null; then
    "$top/tools/install_deps.sh"
    PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
fi
sharedir=$("$PG_CONFIG" --sharedir)
if [ ! -f "$sharedir/extension/$extension.control" ]; then
    echo "installing storagebox for $("$PG_CONFIG" --version) ..."
    "$top/tools/install_deps.sh" "$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    make -s -C "$top" PG_CONFIG="$PG_CONFIG" >/dev/null
    $SUDO make -s -C "$top" install PG_CONFIG="$PG_CONFIG" >/dev/null
fi
# throwaway_pg.sh runs the pg_config on the PATH
PATH="$("$PG_CONFIG" --bindir):$PATH"
export PATH

if ! pg_isready -q -h "$dir" -p "$port" 2>/dev/null; then
    "$top/tools/throwaway_pg.sh" start "$dir" "$port"
    [ "$(id -u)" -eq 0 ] && chmod 755 "$dir"
fi
run() { psql -X -q -h "$dir" -p "$port" -U postgres "$@"; }
if [ -z "$(run -d postgres -At -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
    run -d postgres -c "CREATE DATABASE $db"
fi
run -d "$db" -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS $extension"
echo "playground: $("$PG_CONFIG" --version), extension $extension, database $db, in $dir (port $port)"
echo "psql again: psql -h $dir -p $port -U postgres $db; stop: tools/playground.sh stop"
exec psql -h "$dir" -p "$port" -U postgres -d "$db"
