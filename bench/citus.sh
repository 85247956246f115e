#!/usr/bin/env bash
#
# bench/citus.sh: storagebox on a Citus coordinator against a plain server
# (issue 13).  Not run by CI: Citus is not packaged for Debian 12.
#
# Starts, from the same PostgreSQL binaries, a plain server and a Citus
# cluster (tools/citus_cluster.sh: a coordinator and two workers on one
# machine), loads the same bank into each and runs the same pgbench scripts
# (bench/sql) against the plain server and the coordinator, one after the
# other.  Prints tps and the ratio coordinator / plain for:
#   new fetch     sb_fetch_item with a dedup_id never seen before
#   repeat fetch  sb_fetch_item with a dedup_id that holds an item
#   sb_next       one number from a dispenser
#   PK SELECT     the floor: a primary-key SELECT (Citus's planner hook runs
#                 for every statement, storagebox's or not)
#
# Clients connect without TLS to both (CREATE EXTENSION citus turns ssl on,
# and libpq's default sslmode=prefer would encrypt only the Citus side).
#
# Usage: bench/citus.sh [SECONDS [CLIENTS]]   (default 10 s, 8 clients)
# PG_BINDIR picks the PostgreSQL installation (it must have Citus).  Ports
# 5660 (plain) and 5661-5663 (Citus); both clusters live in a temporary
# directory and are stopped and removed at the end.
#
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(dirname "$HERE")
T=${1:-10}
CLIENTS=${2:-8}
export PG_BINDIR=${PG_BINDIR:-$(pg_config --bindir)}
B=$PG_BINDIR
ITEMS=2000000

# shellcheck source=bench/citus_clusters.sh
. "$HERE/citus_clusters.sh"

setup="CREATE EXTENSION IF NOT EXISTS storagebox;
SELECT sb_create_bank('bench');
SELECT sb_add_items('bench', array(SELECT 'i' || g FROM generate_series(1, $ITEMS) g));
SELECT sb_fetch_item('bench', 'known' || g) FROM generate_series(1, 1000) g;
SELECT sb_create_dispenser('bench_numbers');
CREATE SEQUENCE bench_dedup_seq;
CREATE TABLE bench_pk (id integer PRIMARY KEY, v text);
INSERT INTO bench_pk SELECT g, 'v' FROM generate_series(1, 100000) g;
VACUUM ANALYZE;"

tps() {
	local port=$1 script=$2
	shift 2
	as_owner "PGSSLMODE=disable '$B/pgbench' -h 127.0.0.1 -p $port -U postgres -n -M prepared -c $CLIENTS -j 2 -T $T $* -f '$script' postgres" 2>&1 |
		sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

for port in 5660 5661; do
	as_owner "'$B/psql' -X -q -h 127.0.0.1 -p $port -U postgres -d postgres -v ON_ERROR_STOP=1" <<<"$setup" >/dev/null
done

cat >"$work/pk.sql" <<'EOF'
\set id random(1, 100000)
SELECT v FROM bench_pk WHERE id = :id;
EOF
cat >"$work/known.sql" <<'EOF'
\set k random(1, 1000)
SELECT sb_fetch_item('bench', 'known' || :k);
EOF
chmod a+r "$work"/*.sql

printf '%-14s %12s %12s %8s\n' "figure" "plain tps" "coord. tps" "ratio"
row() {
	local label=$1 script=$2
	shift 2
	local a b
	a=$(tps 5660 "$script" "$@")
	b=$(tps 5661 "$script" "$@")
	printf '%-14s %12.0f %12.0f %8.2f\n' "$label" "$a" "$b" "$(echo "$b / $a" | bc -l)"
}
row "new fetch" "$HERE/sql/fetch_new_sb.sql" -D bank=bench
row "repeat fetch" "$work/known.sql"
row "sb_next" "$HERE/sql/sb_next.sql" -D disp=bench_numbers
row "PK SELECT" "$work/pk.sql"
echo "pgbench -n -M prepared -c $CLIENTS -j 2 -T $T; bank of $ITEMS items; $(nproc) CPUs; plain server first, then the coordinator"
