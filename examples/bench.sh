#!/bin/bash
# Throughput of 3 copies of examples/pez-http against sb_forward() called
# straight from pgbench, in one run on one server; prints a markdown table.
#   examples/bench.sh [SECONDS]           (each row runs SECONDS, default 10)
# Needs what examples/run_tests.sh needs: PGHOST/PGPORT/PGUSER (a superuser)
# pointing at a running PostgreSQL on this machine with storagebox installed,
# node >= 18, npm, psql, pgbench.  Uses the database sb_http_bench (dropped at
# the end).  SB_BENCH_CLIENTS (default 48) HTTP requests are in flight, over
# copies with 8 connections each (24 in all); pgbench runs 24 clients.  The
# HTTP load generator (examples/test/load.js) runs on the same machine.
#
# Besides the rates, each row gives the CPU time spent per call, read from
# /proc: by the whole PostgreSQL server (the postmaster and every process it
# started, so the server should serve nothing else meanwhile), by the 3
# copies, and by the client (pgbench, or load.js).  Rates depend on what
# else the machine runs; CPU per call much less so.  The last column is the
# rate that CPU alone would allow on this machine's cores, if they were free.
# Each HTTP row starts with 2 s unmeasured, while the copies' pools connect;
# a pgbench row's CPU includes its 24 connections' start.
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
postmaster=$(head -n 1 "$(psql -XAtq -c 'SHOW data_directory')/postmaster.pid")

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

# CPU time in ms from /proc (the fields after the command's closing
# parenthesis: $2 ppid, $12 utime, $13 stime, $14 cutime, $15 cstime).
tick_ms=$((1000 / $(getconf CLK_TCK)))
server_ms() { # the postmaster, its live children, and the children it reaped
    local live own
    live=$(cat /proc/[0-9]*/stat 2>/dev/null | sed 's/^[0-9]* (.*) //' \
           | awk -v pm="$postmaster" '$2 == pm { s += $12 + $13 } END { print s + 0 }')
    own=$(sed 's/^[0-9]* (.*) //' "/proc/$postmaster/stat" | awk '{ print $12 + $13 + $14 + $15 }')
    echo $(((live + own) * tick_ms))
}
copies_ms() {
    local pid ms=0
    for pid in "${pids[@]}"; do
        ms=$((ms + $(sed 's/^[0-9]* (.*) //' "/proc/$pid/stat" | awk -v t="$tick_ms" '{ print ($12 + $13) * t }')))
    done
    echo $ms
}
row() { # row LABEL CLIENTS CALLS SECONDS NUMBERS SERVER_MS COPIES_MS CLIENT_MS
    awk -v l="$1" -v c="$2" -v n="$3" -v s="$4" -v k="$5" -v pg="$6" -v cp="$7" -v cl="$8" -v cores="$(nproc)" 'BEGIN {
        us = 1000 / n
        printf "| %s | %d | %.0f | %.0f | %.0f | %s | %.0f | %.0f |\n", l, c, n / s, k / s, pg * us,
               (cp == "" ? "-" : sprintf("%.0f", cp * us)), cl * us, cores * 1e6 / ((pg + cp + cl) * us)
    }'
}
pgbench_row() { # pgbench_row SQL LABEL NUMBERS_PER_CALL
    echo "$1" >"$work/call.sql"
    local pg0 tps cpu calls
    pg0=$(server_ms)
    TIMEFORMAT='%U %S'
    { time pgbench -n -M prepared -f "$work/call.sql" -c 24 -j 2 -T "$seconds" >"$work/pgbench.out" 2>&1 ; } 2>"$work/time.out"
    tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$work/pgbench.out")
    calls=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/pgbench.out")
    cpu=$(awk '{ printf "%.0f", ($1 + $2) * 1000 }' "$work/time.out")
    [ -n "$calls" ] && [ -n "$tps" ] || { echo "pgbench failed:" >&2; cat "$work/pgbench.out" >&2; exit 1; }
    row "$2" 24 "$calls" "$(awk -v n="$calls" -v t="$tps" 'BEGIN { print n / t }')" "$((calls * $3))" \
        $(($(server_ms) - pg0)) "" "$cpu"
}
http_row() { # http_row PATH LABEL
    local pg0 cp0 out
    # 2 s first, unmeasured: the copies' pools open their connections
    node "$here/test/load.js" 2 "$clients" "$1" "${urls[@]}" >/dev/null
    pg0=$(server_ms)
    cp0=$(copies_ms)
    out=$(node "$here/test/load.js" "$seconds" "$clients" "$1" "${urls[@]}")
    field() { echo "$out" | sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }
    [ "$(field errors)" = 0 ] || echo "($2: $(field errors) errors)" >&2
    row "$2" "$clients" "$(field requests)" "$(field seconds)" "$(field numbers)" \
        $(($(server_ms) - pg0)) $(($(copies_ms) - cp0)) "$(field cpuMs)"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "| calls | clients | calls/s | numbers/s | PostgreSQL CPU µs/call | 3 copies CPU µs/call | client CPU µs/call | calls/s the CPU allows on $(nproc) cores |"
echo "|---|---|---|---|---|---|---|---|"
pgbench_row "SELECT sb_forward();" 'pgbench `SELECT sb_forward()`' 1
http_row /v1/forward 'HTTP `GET /v1/forward`'
http_row "/v2/forward?count=10" 'HTTP `GET /v2/forward?count=10`'
http_row "/v2/forward?count=100" 'HTTP `GET /v2/forward?count=100`'
pgbench_row "SELECT sb_forward(100);" 'pgbench `SELECT sb_forward(100)`' 100
pgbench_row "SELECT sb_forward();" 'pgbench `SELECT sb_forward()` again' 1
echo
echo "$seconds s a row; $(nproc) cores; node $(node --version); load average $load_before before," \
     "$(cut -d' ' -f1-3 /proc/loadavg) after."
