#!/usr/bin/env bash
#
# bench/citus_layout.sh: storagebox's distributed layout on Citus against a
# plain server (issue 13).  Not run by CI: Citus is not packaged for
# Debian 12.
#
# Starts, from the same PostgreSQL binaries, a plain server and a Citus
# cluster (tools/citus_cluster.sh: a coordinator and two workers on one
# machine), loads the same bank into each, converts the cluster with
# sql/citus/sb_distribute.sql, and runs the same pgbench scripts against:
#   plain         the plain server
#   coordinator   the coordinator: every call is routed to the worker that
#                 holds the bank's scope
#   worker        that worker itself: the call runs where it arrives
#   top-level     the coordinator, calling storagebox_data.route_call with
#                 the bank's scope as the statement itself, which Citus
#                 delegates without a transaction block (what a
#                 scope-aware entry point would cost; new fetch only)
# For each it prints tps, and the CPU time the node that runs the fetch
# spent per call (its postmaster and every backend, exited ones included,
# from /proc), for:
#   new fetch     sb_fetch_item with a dedup_id never seen before
#   repeat fetch  sb_fetch_item with a dedup_id that holds an item
#   PK SELECT     the floor: a primary-key SELECT of a local table
#
# Usage: bench/citus_layout.sh [SECONDS [CLIENTS]]  (default 10 s, 8 clients)
# PG_BINDIR picks the PostgreSQL installation (it must have Citus).  Ports
# 5660 (plain) and 5661-5663 (Citus); both live in a temporary directory and
# are stopped and removed at the end.
#
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(dirname "$HERE")
T=${1:-10}
CLIENTS=${2:-8}
export PG_BINDIR=${PG_BINDIR:-$(pg_config --bindir)}
B=$PG_BINDIR
ITEMS=2000000
TICKS=$(getconf CLK_TCK)

# shellcheck source=bench/citus_clusters.sh
. "$HERE/citus_clusters.sh"

psql_at() { as_owner "'$B/psql' -X -q -At -h 127.0.0.1 -p $1 -U postgres -d postgres -v ON_ERROR_STOP=1"; }

setup="CREATE EXTENSION IF NOT EXISTS storagebox;
SELECT sb_create_bank('bench');
SELECT sb_add_items('bench', array(SELECT 'i' || g FROM generate_series(1, $ITEMS) g));
SELECT sb_fetch_item('bench', 'known' || g) FROM generate_series(1, 1000) g;
CREATE TABLE bench_pk (id integer PRIMARY KEY, v text);
INSERT INTO bench_pk SELECT g, 'v' FROM generate_series(1, 100000) g;"
for port in 5660 5661; do psql_at $port <<<"$setup" >/dev/null; done
cp "$TOP/sql/citus/sb_distribute.sql" "$work/"
chmod a+r "$work/sb_distribute.sql"
as_owner "'$B/psql' -X -q -h 127.0.0.1 -p 5661 -U postgres -d postgres -v ON_ERROR_STOP=1 -f '$work/sb_distribute.sql'" >/dev/null
owner=$(psql_at 5661 <<<"SELECT n.nodeport FROM storagebox_data.bank b,
	LATERAL get_shard_id_for_distribution_column('storagebox_data.claim', b.scope_id) s,
	pg_dist_placement p JOIN pg_dist_node n USING (groupid)
	WHERE b.bank_name = 'bench' AND p.shardid = s")
# node-local objects of the scripts: a dedup_id sequence, the PK table
for port in 5660 5661 "$owner"; do
	psql_at "$port" <<<"SET citus.enable_ddl_propagation TO off;
		CREATE SEQUENCE IF NOT EXISTS bench_dedup_seq;
		CREATE TABLE IF NOT EXISTS bench_pk (id integer PRIMARY KEY, v text);
		INSERT INTO bench_pk SELECT g, 'v' FROM generate_series(1, 100000) g ON CONFLICT DO NOTHING;
		VACUUM ANALYZE;" >/dev/null 2>&1 || psql_at "$port" <<<"VACUUM ANALYZE;" >/dev/null
done

cat >"$work/new.sql" <<'EOF'
SELECT sb_fetch_item('bench', :node || nextval('bench_dedup_seq')::text);
EOF
scope=$(psql_at 5661 <<<"SELECT scope_id FROM storagebox_data.bank WHERE bank_name = 'bench'")
cat >"$work/toplevel.sql" <<EOF
\\set r random(1, 1000000000)
SELECT r FROM storagebox_data.route_call($scope, 'public.sb_fetch_item(pg_catalog.text,pg_catalog.text)',
	ARRAY['bench', 't' || :r], 'postgres') r;
EOF
cat >"$work/known.sql" <<'EOF'
\set k random(1, 1000)
SELECT sb_fetch_item('bench', 'known' || :k);
EOF
cat >"$work/pk.sql" <<'EOF'
\set id random(1, 100000)
SELECT v FROM bench_pk WHERE id = :id;
EOF
chmod a+r "$work"/*.sql

# CPU ticks of the node on port $1: its postmaster and live children
# (utime + stime), and the children it has reaped (its cutime + cstime).
node_ticks() {
	local pm files
	pm=$(head -1 "$(psql_at "$1" <<<"SHOW data_directory")/postmaster.pid")
	files="/proc/$pm/stat"
	for c in $(pgrep -P "$pm"); do files="$files /proc/$c/stat"; done
	# shellcheck disable=SC2086
	cat $files 2>/dev/null | awk -v pm="$pm" '{ s += $14 + $15; if ($1 == pm) s += $16 + $17 } END { print s }'
}

# tps and CPU microseconds per call on node $cpu_port, running $script on $port
measure() {
	local port=$1 cpu_port=$2 script=$3 node=$4
	local before after out tx tps
	before=$(node_ticks "$cpu_port")
	out=$(as_owner "'$B/pgbench' -h 127.0.0.1 -p $port -U postgres -n -M prepared -c $CLIENTS -j 2 -T $T -D node=$node -f '$script' postgres" 2>&1)
	sleep 1
	after=$(node_ticks "$cpu_port")
	tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out")
	echo "$tps $(echo "($after - $before) * 1000000 / $TICKS / $tx" | bc -l)"
}

printf '%-13s %-12s %10s %14s %8s %10s\n' "figure" "where" "tps" "CPU us/call" "tps/plain" "CPU/plain"
for fig in "new fetch:new.sql" "repeat fetch:known.sql" "PK SELECT:pk.sql"; do
	label=${fig%%:*} script="$work/${fig#*:}"
	read -r p_tps p_cpu < <(measure 5660 5660 "$script" p)
	printf '%-13s %-12s %10.0f %14.1f %8s %10s\n' "$label" plain "$p_tps" "$p_cpu" 1.00 1.00
	if [ "$label" != "PK SELECT" ]; then
		read -r c_tps c_cpu < <(measure 5661 "$owner" "$script" c)
		printf '%-13s %-12s %10.0f %14.1f %8.2f %10.2f\n' "" coordinator "$c_tps" "$c_cpu" \
			"$(echo "$c_tps / $p_tps" | bc -l)" "$(echo "$c_cpu / $p_cpu" | bc -l)"
	fi
	if [ "$label" = "new fetch" ]; then
		read -r t_tps t_cpu < <(measure 5661 "$owner" "$work/toplevel.sql" t)
		printf '%-13s %-12s %10.0f %14.1f %8.2f %10.2f\n' "" top-level "$t_tps" "$t_cpu" \
			"$(echo "$t_tps / $p_tps" | bc -l)" "$(echo "$t_cpu / $p_cpu" | bc -l)"
	fi
	read -r w_tps w_cpu < <(measure "$owner" "$owner" "$script" w)
	printf '%-13s %-12s %10.0f %14.1f %8.2f %10.2f\n' "" worker "$w_tps" "$w_cpu" \
		"$(echo "$w_tps / $p_tps" | bc -l)" "$(echo "$w_cpu / $p_cpu" | bc -l)"
done
echo "pgbench -n -M prepared -c $CLIENTS -j 2 -T $T; bank of $ITEMS items; $(nproc) CPUs;"
echo "CPU us/call: CPU time of the node that runs the fetch (for 'coordinator': the worker"
echo "it is routed to), its postmaster and all its processes, divided by the calls"
