#!/bin/bash
# Quick start: install what is missing (Debian 12), build and install
# storagebox, start a throwaway local server, and run the voucher example
# from end to end, printing what it hands out.  The server is stopped and
# removed at the end.  Run as root or as a user with sudo.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

tools/install_deps.sh
export PATH="/usr/lib/postgresql/15/bin:$PATH"
make -s >/dev/null
$SUDO make -s install >/dev/null

dir=$(mktemp -d /tmp/storagebox-quickstart.XXXXXX)
port=5496
tools/throwaway_pg.sh start "$dir" $port
trap 'tools/throwaway_pg.sh stop "$dir"; rm -rf "$dir"' EXIT
[ "$(id -u)" -eq 0 ] && chmod 755 "$dir"

# Every psql stops at the first error and exits non-zero, and so does the
# demo (set -e; the parallel fetches are checked one by one below).
run() { psql -X -q -v ON_ERROR_STOP=1 -h "$dir" -p $port -U postgres "$@"; }

run -d postgres -c "CREATE DATABASE shop"
run -d shop <<'SQL'
\pset footer off
CREATE EXTENSION storagebox;

-- 30 voucher codes for the first 30 customers
SELECT sb_create_bank('vouchers') \g /dev/null
SELECT sb_add_items('vouchers', ARRAY(SELECT 'VOUCHER-' || lpad(g::text, 3, '0')
                                        FROM generate_series(1, 30) g)) AS vouchers_loaded;

-- the application role may fetch and look up, and nothing else
CREATE ROLE shop_app LOGIN;
GRANT EXECUTE ON FUNCTION sb_fetch_item(text, text) TO shop_app;
GRANT EXECUTE ON FUNCTION sb_lookup(text, text) TO shop_app;
GRANT EXECUTE ON FUNCTION sb_next(text), sb_next(text, integer) TO shop_app;
SELECT sb_create_dispenser('orders', 'forward', 30000, 99999) \g /dev/null
SELECT sb_grant_dispenser('orders', 'shop_app') \g /dev/null
SQL

echo "== 40 customers press the button at once, from 8 connections"
pids=()
for c in 0 1 2 3 4 5 6 7; do
    run -d shop -U shop_app -At -c "SELECT 'customer-' || g || ' -> ' || coalesce(sb_fetch_item('vouchers', 'customer-' || g), 'sold out')
                                     FROM generate_series($c * 5 + 1, $c * 5 + 5) g" >"$dir/fetch$c.out" &
    pids+=($!)
done
for p in "${pids[@]}"; do
    wait "$p"           # set -e: a failed connection fails the demo
done
sort -t- -k2 -n "$dir"/fetch*.out
handed=$(cat "$dir"/fetch*.out | grep -c -- '-> VOUCHER-' || true)
distinct=$(cat "$dir"/fetch*.out | grep -o 'VOUCHER-[0-9]*' | sort -u | wc -l)
sold_out=$(cat "$dir"/fetch*.out | grep -c -- '-> sold out' || true)
if [ "$handed" -ne 30 ] || [ "$distinct" -ne 30 ] || [ "$sold_out" -ne 10 ]; then
    echo "quickstart: expected 30 distinct vouchers and 10 sold out, got $handed ($distinct distinct) and $sold_out" >&2
    exit 1
fi

run -d shop -U shop_app <<'SQL'
\pset footer off
\echo == customer-7 asks again, from another device: the same voucher
SELECT sb_fetch_item('vouchers', 'customer-7') AS customer_7_again;
\echo == the application role cannot list the codes
\set ON_ERROR_STOP 0
SELECT item FROM storagebox_data.item LIMIT 1;
\set ON_ERROR_STOP 1
\echo (the error above is the point: permission denied)
\echo == order numbers, one and a batch of five
SELECT sb_next('orders') AS order_number, sb_next('orders', 5) AS batch;
SQL

run -d shop <<'SQL'
\pset footer off
\echo == the bank afterwards
SELECT bank, items_total, items_handed_out, items_left FROM sb_banks;
SQL
