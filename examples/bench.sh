#!/bin/bash
# Throughput of 3 copies of examples/pez-http against sb_forward() called
# straight from pgbench, in one run on one server; prints a markdown table.
#   examples/bench.sh [SECONDS]           (each row runs SECONDS, default 10)
# Needs what examples/run_tests.sh needs: PGHOST/PGPORT/PGUSER (a superuser)
# pointing at a running PostgreSQL with storagebox installed, node >= 18, npm,
# psql, pgbench.  Uses the database sb_http_bench (dropped at the end).
# SB_BENCH_CLIENTS (default 48) HTTP requests are in flight, over copies with
# 8 connections each (24 in all); pgbench runs 24 clients.  The HTTP load
# generator (examples/test/load.js) runs on the same machine.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-10}
clients=${SB_BENCH_CLIENTS:-48}
db=sb_http_bench
work=$(mktemp -d "${TMPDIR:-/tmp}/sb-http-bench.XXXXXX")
pids=()
finish() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    dropdb --if-exists --force "$db" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap finish EXIT

(cd "$here/pez-http" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error) >"$work/npm.log" 2>&1 \
    || { cat "$work/npm.log"; exit 1; }
dropdb --if-exists --force "$db" >/dev/null 2>&1 || true
createdb "$db"
psql -XAtq -d "$db" -v ON_ERROR_STOP=1 -c "CREATE EXTENSION storagebox"
export PGDATABASE=$db

urls=()
for i in 1 2 3; do
    PORT=0 HOST=127.0.0.1 POOL_SIZE=8 node "$here/pez-http/server.js" >"$work/pez-$i.log" 2>&1 &
    pids+=($!)
done
for i in 1 2 3; do
    for _ in $(seq 100); do grep -q ' listening on ' "$work/pez-$i.log" && break; sleep 0.1; done
    urls+=("$(sed -n 's/.* listening on \(.*\)$/http:\/\/\1/p' "$work/pez-$i.log")")
done
[ "${#urls[@]}" -eq 3 ] && [ -n "${urls[2]}" ] || { cat "$work"/pez-*.log; exit 1; }

pgbench_row() { # pgbench_row SQL LABEL NUMBERS_PER_CALL
    echo "$1" >"$work/call.sql"
    local tps
    tps=$(pgbench -n -M prepared -f "$work/call.sql" -c 24 -j 2 -T "$seconds" 2>&1 \
          | sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p')
    printf '| %s | 24 | %.0f | %.0f |\n' "$2" "$tps" "$(echo "$tps $3" | awk '{print $1 * $2}')"
}
http_row() { # http_row PATH LABEL
    local out
    out=$(node "$here/test/load.js" "$seconds" "$clients" "$1" "${urls[@]}")
    echo "$out" | awk -v label="$2" -v c="$clients" '{
        match($0, /"requests":[0-9]+/); r = substr($0, RSTART + 11, RLENGTH - 11)
        match($0, /"seconds":[0-9.]+/); s = substr($0, RSTART + 10, RLENGTH - 10)
        match($0, /"numbers":[0-9]+/); n = substr($0, RSTART + 10, RLENGTH - 10)
        match($0, /"errors":[0-9]+/); e = substr($0, RSTART + 9, RLENGTH - 9)
        printf "| %s | %d | %.0f | %.0f |%s\n", label, c, r / s, n / s, (e > 0 ? " " e " errors" : "")
    }'
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "| calls | clients | calls/s | numbers/s |"
echo "|---|---|---|---|"
pgbench_row "SELECT sb_forward();" 'pgbench `SELECT sb_forward()`' 1
http_row /v1/forward 'HTTP `GET /v1/forward`, 3 copies'
http_row "/v2/forward?count=10" 'HTTP `GET /v2/forward?count=10`, 3 copies'
http_row "/v2/forward?count=100" 'HTTP `GET /v2/forward?count=100`, 3 copies'
pgbench_row "SELECT sb_forward(100);" 'pgbench `SELECT sb_forward(100)`' 100
pgbench_row "SELECT sb_forward();" 'pgbench `SELECT sb_forward()` again' 1
echo
echo "$seconds s a row; $(nproc) cores; node $(node --version); load average $load_before before," \
     "$(cut -d' ' -f1-3 /proc/loadavg) after."
