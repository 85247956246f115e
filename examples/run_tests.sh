#!/bin/bash
# Tests of the HTTP examples (examples/pez-http, examples/voucher-http):
# starts 3 copies of each service, plus one PEZ copy over small dispensers,
# on free ports of 127.0.0.1, drives them over HTTP (examples/test/check.js)
# and prints TAP ("ok N - ...", the plan "1..N" last); exits non-zero on any
# failure.
#   examples/run_tests.sh [c|sql]     (the flavour: c, storagebox, the default;
#                                      sql, storagebox_sql)
# Needs: PGHOST/PGPORT/PGUSER pointing at a running PostgreSQL where the
# extension is installed, PGUSER a superuser; node >= 18 and npm; psql,
# createdb, dropdb and pgbench on PATH.  Creates the database sb_http_test
# (SB_HTTP_DB) and the roles sb_http_app and sb_http_small, and drops them
# at the end.  SB_HTTP_REQUESTS (default 21000) is the size of the
# concurrent PEZ run; SB_HTTP_CLIENTS (default 48) the requests in flight;
# SEED repeats a run's random choices.
set -u
here=$(cd "$(dirname "$0")" && pwd)
case "${1:-c}" in # test/run_tests.sh's names (FLAVOR=c, sql) or the extensions'
    c|storagebox) flavour=storagebox ;;
    sql|storagebox_sql) flavour=storagebox_sql ;;
    *) echo "usage: $0 [c|sql|storagebox|storagebox_sql]" >&2; exit 2 ;;
esac
db=${SB_HTTP_DB:-sb_http_test}
work=$(mktemp -d "${TMPDIR:-/tmp}/sb-http-test.XXXXXX")
now_ms() { date +%s%3N; }
since() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }
started=$(now_ms)
n=0
failed=0
pids=()

tap() { # tap STATUS NAME: one assertion
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
show() { sed 's/^/#   /' "$1" | tail -n 30; }
stop_all() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    pids=()
}
drop_all() {
    dropdb --if-exists --force "$db" >/dev/null 2>&1
    psql -XAtq -d postgres -c "DROP ROLE IF EXISTS sb_http_app" -c "DROP ROLE IF EXISTS sb_http_small" >/dev/null 2>&1
}
finish() { # on any exit: nothing left running, nothing left in the server
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
    drop_all
    if [ "$failed" -eq 0 ]; then rm -rf "$work"; else echo "# logs kept in $work"; fi
}
trap finish EXIT
trap 'exit 1' INT TERM
bail() { # a step that the rest needs failed
    echo "1..$n"
    exit 1
}

# 1. node and the packages
if command -v node >/dev/null && node -e 'process.exit(process.versions.node.split(".")[0] >= 18 ? 0 : 1)'; then
    tap 0 "node $(node --version) (18 or later)"
else
    tap 1 "node 18 or later is installed (Debian 12: apt-get install nodejs npm)"; bail
fi
# npm's cache: the user's (~/.npm) when writable, so a second run needs no
# network; each package is fetched from the registry at most once.
[ -w "${HOME:-/nonexistent}" ] || export npm_config_cache="$work/npm-cache"
for app in pez-http voucher-http; do
    t0=$(now_ms)
    (cd "$here/$app" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error) >"$work/npm-$app.log" 2>&1
    rc=$?
    tap $rc "npm ci in examples/$app ($(since "$t0") s)"
    [ $rc -eq 0 ] || { show "$work/npm-$app.log"; bail; }
done

# 2. the database: the extension, two small dispensers, and two application
#    roles with the rights the README's section lists
drop_all
psql -XAtq -d postgres -v ON_ERROR_STOP=1 >"$work/setup.log" 2>&1 <<SQL
CREATE DATABASE $db;
\c $db
CREATE EXTENSION $flavour;
SELECT sb_create_dispenser('t_small_fwd', 'forward', 1, 10);
SELECT sb_create_dispenser('t_small_rev', 'reverse', 1, 10);
CREATE ROLE sb_http_app LOGIN;
GRANT EXECUTE ON FUNCTION sb_forward(), sb_forward(integer), sb_reverse(), sb_reverse(integer),
    sb_fetch_item(text, text), sb_hold_item(text, text, interval),
    sb_confirm(text, text), sb_release(text, text) TO sb_http_app;
SELECT sb_grant_dispenser('forward', 'sb_http_app');
SELECT sb_grant_dispenser('reverse', 'sb_http_app');
CREATE ROLE sb_http_small LOGIN;
GRANT EXECUTE ON FUNCTION sb_next(text), sb_next(text, integer) TO sb_http_small;
SELECT sb_grant_dispenser('t_small_fwd', 'sb_http_small');
SELECT sb_grant_dispenser('t_small_rev', 'sb_http_small');
SQL
rc=$?
# the C flavour's cap is a setting, here the small role's own in this
# database; the SQL flavour's is a table (examples/test/check.js sets it)
if [ $rc -eq 0 ] && [ "$flavour" = storagebox ]; then
    psql -XAtq -d "$db" -v ON_ERROR_STOP=1 -c "ALTER ROLE sb_http_small IN DATABASE $db SET storagebox.max_count = 7" \
        >>"$work/setup.log" 2>&1
    rc=$?
fi
tap $rc "database $db with CREATE EXTENSION $flavour, the roles sb_http_app and sb_http_small"
[ $rc -eq 0 ] || { show "$work/setup.log"; bail; }
export PGDATABASE=$db

# 3. the services: PORT=0 lets each take a free port, which it prints
start() { # start LOG APP [VAR=VALUE ...]: one copy, in the background
    local log=$1 app=$2
    shift 2
    env "$@" PORT=0 HOST=127.0.0.1 PGDATABASE="$db" node "$here/$app/server.js" >"$log" 2>&1 &
    pids+=($!)
}
for i in 1 2 3; do
    start "$work/pez-$i.log" pez-http PGUSER=sb_http_app POOL_SIZE=8
    start "$work/voucher-$i.log" voucher-http PGUSER=sb_http_app POOL_SIZE=8
done
start "$work/pez-small.log" pez-http PGUSER=sb_http_small POOL_SIZE=2 \
    PEZ_FORWARD_DISPENSER=t_small_fwd PEZ_REVERSE_DISPENSER=t_small_rev
url_of() { # the base URL a copy printed, waiting up to 10 s
    local i
    for i in $(seq 100); do
        grep -q ' listening on ' "$1" 2>/dev/null && { sed -n 's/.* listening on \(.*\)$/http:\/\/\1/p' "$1"; return 0; }
        sleep 0.1
    done
    return 1
}
pez="" voucher="" rc=0
for i in 1 2 3; do
    u=$(url_of "$work/pez-$i.log") || rc=1; pez="$pez${pez:+,}$u"
    u=$(url_of "$work/voucher-$i.log") || rc=1; voucher="$voucher${voucher:+,}$u"
done
small=$(url_of "$work/pez-small.log") || rc=1
tap $rc "3 copies of pez-http, 3 of voucher-http and 1 of pez-http over small dispensers are listening"
if [ $rc -ne 0 ]; then for f in "$work"/*.log; do echo "# $f"; show "$f"; done; bail; fi
echo "# pez-http: $pez; voucher-http: $voucher; small: $small"

# 4. the checks over HTTP
PEZ_URLS=$pez VOUCHER_URLS=$voucher PEZ_SMALL_URL=$small FLAVOUR=$flavour TAP_START=$n \
    TAP_LAST_FILE="$work/tap_last" timeout 600 node "$here/test/check.js"
[ $? -eq 0 ] || failed=$((failed + 1))
n=$(cat "$work/tap_last" 2>/dev/null || echo "$n")

# 5. every copy alive until now, and each stops on SIGTERM
alive=0
for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || alive=1; done
tap $alive "every copy was still running at the end"
errors=$(cat "$work"/pez-*.log "$work"/voucher-*.log | grep -vc ' listening on ')
tap $([ "$errors" -eq 0 ] && echo 0 || echo 1) "the services logged no error ($errors lines)"
[ "$errors" -eq 0 ] || { cat "$work"/pez-*.log "$work"/voucher-*.log | grep -v ' listening on ' | head -n 20 | sed 's/^/#   /'; }
for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
gone=0
for pid in "${pids[@]}"; do
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && gone=1
done
tap $gone "every copy stopped within 5 s of SIGTERM"
stop_all

echo "# examples/run_tests.sh ($flavour) took $(since "$started") s"
echo "1..$n"
[ "$failed" -eq 0 ]
