#!/usr/bin/env bash
#
# bench/flavours.sh: the SQL flavour (storagebox_sql) against the C flavour
# (storagebox) in one run on one server (issue 10); bench/run.sh --flavours
# calls it.  Each figure is measured for both flavours, one after the other,
# in two databases of the server that PGHOST/PGPORT/PGUSER point at (a
# superuser; both flavours installed on the server), and printed with the
# ratio SQL / C (for the bulk load: C time / SQL time, so that higher is
# better everywhere) and the issue's target.
#
# Usage: bench/flavours.sh [T [BANK [LOAD]]]
#   T     seconds per pgbench run (default 10)
#   BANK  items per fetch bank (default 200000)
#   LOAD  items of the bulk load (default 200000)
# Figures: new fetch (8 clients, fresh dedup_ids), repeat (ids that hold an
# item), sold out (fresh ids on an empty bank), bulk load (one sb_add_items
# call), single numbers (sb_next(d)), batches of 100 (sb_next(d, 100)), all
# pgbench -n -M prepared -c 8 -j 2 on the scripts of bench/sql/.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=${1:-10}; BANK=${2:-200000}; LOAD=${3:-200000}
PGBIN=$(pg_config --bindir)
PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1)
declare -A R

pgb() {	# db script -D...: tps
	local db=$1 script=$2; shift 2
	"$PGBIN/pgbench" -n -M prepared -c 8 -j 2 -T "$T" "$@" -f "$HERE/sql/$script" "$db" 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}

for fl in c sql; do
	ext=storagebox; [ $fl = sql ] && ext=storagebox_sql
	db=sb_flavour_bench_$fl
	"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
	"${PSQL[@]}" -d $db -c "CREATE EXTENSION $ext" -c "CREATE SEQUENCE bench_dedup_seq" \
		-c "SELECT sb_create_bank('fetch')" -c "SELECT sb_create_bank('load')" \
		-c "SELECT sb_create_bank('empty')" -c "SELECT sb_create_dispenser('d')" \
		-c "SELECT sb_add_items('fetch', array(SELECT 'f' || g FROM generate_series(1, $BANK) g))" \
		-c "SELECT sb_add_items('empty', ARRAY['only'])" -c "SELECT sb_fetch_item('empty', 'holder')" \
		-c "SELECT count(sb_fetch_item('fetch', 'r' || g)) FROM generate_series(1, 1000) g" -c "CHECKPOINT"
	R[$fl.fetch]=$(pgb $db fetch_new_sb.sql -D bank=fetch)
	R[$fl.repeat]=$(pgb $db fetch_known_sb.sql -D bank=fetch -D lo=1 -D hi=1000 | head -1)
	"${PSQL[@]}" -d $db -c "ALTER SEQUENCE bench_dedup_seq RESTART 10000000"
	R[$fl.soldout]=$(pgb $db fetch_known_sb.sql -D bank=empty -D lo=1 -D hi=1000000000)
	R[$fl.single]=$(pgb $db sb_next.sql -D disp=d)
	R[$fl.batch]=$(pgb $db sb_next_batch.sql -D disp=d)
	start=$(date +%s.%N)
	"${PSQL[@]}" -d $db -c "SELECT sb_add_items('load', array(SELECT 'l' || g FROM generate_series(1, $LOAD) g))" > /dev/null
	R[$fl.load]=$(echo "$(date +%s.%N) - $start" | bc)
	"${PSQL[@]}" -d postgres -c "DROP DATABASE $db"
done

row() {	# label key target higher-is-better ratio
	printf '| %s | %s | %s | %.2f | %s |\n' "$1" "${R[c.$2]}" "${R[sql.$2]}" "$4" "$3"
}
echo "SQL flavour vs C flavour: pgbench -c 8 -j 2 -T $T, banks of $BANK items, bulk load of $LOAD items"
echo
echo "| figure | C | SQL | SQL / C | target |"
echo "|---|---:|---:|---:|---|"
for k in fetch:new\ fetch\ \(tps\):0.6 repeat:repeat\ fetch\ \(tps\):0.6 soldout:sold-out\ answer\ \(tps\):0.5 \
		single:single\ number\ \(calls/s\):0.5 batch:batch\ of\ 100\ \(calls/s\):0.3; do
	key=${k%%:*}; rest=${k#*:}; label=${rest%:*}; target=${rest##*:}
	row "$label" "$key" ">= $target" "$(echo "${R[sql.$key]} / ${R[c.$key]}" | bc -l)"
done
printf '| bulk load (s; ratio C / SQL time) | %.2f | %.2f | %.2f | |\n' "${R[c.load]}" "${R[sql.load]}" \
	"$(echo "${R[c.load]} / ${R[sql.load]}" | bc -l)"
