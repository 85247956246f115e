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
#   coordinator   the coordinator: Citus delegates every call to the
#                 worker that holds the bank's scope (src/citus/delegate.c)
#   nested        the coordinator with storagebox.delegate_fetch off: the
#                 call runs there and routes itself to that worker, as a
#                 nested distributed statement (the path before delegation)
#   worker        that worker itself: the call runs where it arrives
# For each it prints tps, and the CPU time the node that runs the fetch
# spent per call (its postmaster and every backend, exited ones included,
# from /proc), for:
#   new fetch     sb_fetch_item with a dedup_id never seen before
#   repeat fetch  sb_fetch_item with a dedup_id that holds an item
#   lookup        sb_lookup of a dedup_id that holds an item (delegated
#                 like the fetch, through its _in_scope form)
#   PK SELECT     the floor: a primary-key SELECT of a local table
#   no-op call    Citus's own floor for a delegated call: a PL/pgSQL
#                 function (a SQL one would be inlined, and not delegated)
#                 that returns its argument, distributed and colocated with
#                 storagebox_data.claim, called through the coordinator with
#                 the bench bank's scope (a parameter, as the fetches have)
#
# Every client connects without TLS (PGSSLMODE=disable), to every server:
# CREATE EXTENSION citus turns ssl on, and a client's default (sslmode
# prefer) would then encrypt only the Citus nodes' traffic.  Between the
# nodes, Citus's citus.node_conninfo applies (sslmode=require unless
# NODE_SSLMODE sets another sslmode on every node), to its connections.
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
if [ -n "${NODE_SSLMODE:-}" ]; then
	for port in 5661 5662 5663; do
		psql_at $port <<<"ALTER SYSTEM SET citus.node_conninfo TO 'sslmode=$NODE_SSLMODE'; SELECT pg_reload_conf();" >/dev/null
	done
fi
cp "$TOP/sql/citus/sb_distribute.sql" "$work/"
chmod a+r "$work/sb_distribute.sql"
as_owner "'$B/psql' -X -q -h 127.0.0.1 -p 5661 -U postgres -d postgres -v ON_ERROR_STOP=1 -f '$work/sb_distribute.sql'" >/dev/null
owner=$(psql_at 5661 <<<"SELECT n.nodeport FROM storagebox_data.bank b,
	LATERAL get_shard_id_for_distribution_column('storagebox_data.claim', b.scope_id) s,
	pg_dist_placement p JOIN pg_dist_node n USING (groupid)
	WHERE b.bank_name = 'bench' AND p.shardid = s")
# node-local objects of the scripts: the PK table
for port in 5660 5661 "$owner"; do
	psql_at "$port" <<<"SET citus.enable_ddl_propagation TO off;
		CREATE TABLE IF NOT EXISTS bench_pk (id integer PRIMARY KEY, v text);
		INSERT INTO bench_pk SELECT g, 'v' FROM generate_series(1, 100000) g ON CONFLICT DO NOTHING;
		VACUUM ANALYZE;" >/dev/null 2>&1 || psql_at "$port" <<<"VACUUM ANALYZE;" >/dev/null
done

# dedup_ids made by the client, as an application's are: 10^12 values,
# so a repeat among a few hundred thousand calls is rare
cat >"$work/new.sql" <<'EOF'
\set r random(1, 1000000000000)
SELECT sb_fetch_item('bench', :node || :r::text);
EOF
cat >"$work/known.sql" <<'EOF'
\set k random(1, 1000)
SELECT sb_fetch_item('bench', 'known' || :k);
EOF
cat >"$work/lookup.sql" <<'EOF'
\set k random(1, 1000)
SELECT sb_lookup('bench', 'known' || :k);
EOF
cat >"$work/pk.sql" <<'EOF'
\set id random(1, 100000)
SELECT v FROM bench_pk WHERE id = :id;
EOF
psql_at 5661 <<<"CREATE FUNCTION bench_noop(scope integer) RETURNS integer LANGUAGE plpgsql AS 'BEGIN RETURN scope; END';
	SELECT create_distributed_function('bench_noop(integer)', 'scope', colocate_with := 'storagebox_data.claim');" >/dev/null
scope=$(psql_at 5661 <<<"SELECT scope_id FROM storagebox_data.bank WHERE bank_name = 'bench'")
cat >"$work/noop.sql" <<EOF
\\set s $scope
SELECT bench_noop(:s);
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

# tps, and CPU microseconds per call on node $cpu_port and on node $port
# (the one the client connects to), running $script on $port with the
# settings $5 (PGOPTIONS), at the rate $6 (pgbench -R) if given
measure() {
	local port=$1 cpu_port=$2 script=$3 node=$4 options=${5:-} rate=${6:+-R $6}
	local before after entry_before entry_after out tx tps
	before=$(node_ticks "$cpu_port")
	entry_before=$(node_ticks "$port")
	out=$(as_owner "PGSSLMODE=disable PGOPTIONS='$options' '$B/pgbench' -h 127.0.0.1 -p $port -U postgres -n -M prepared -c $CLIENTS -j 2 -T $T $rate -D node=$node -f '$script' postgres" 2>&1)
	sleep 1
	after=$(node_ticks "$cpu_port")
	entry_after=$(node_ticks "$port")
	tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out")
	if [ -z "$tx" ] || [ "$tx" -eq 0 ]; then
		echo "pgbench on port $port ran no transactions: $out" >&2
		exit 1
	fi
	echo "$tps $(echo "($after - $before) * 1000000 / $TICKS / $tx" | bc -l)" \
		"$(echo "($entry_after - $entry_before) * 1000000 / $TICKS / $tx" | bc -l)"
}

# one row: label, where, tps, CPU, entry CPU (or -), plain tps, plain CPU,
# and the plain server's CPU at this row's rate (or nothing)
row() {
	local entry=$5 at_rate=-
	[ "$entry" = - ] || entry=$(printf '%.1f' "$entry")
	[ -z "${8:-}" ] || at_rate=$(printf '%.2f' "$(echo "$4 / $8" | bc -l)")
	printf '%-13s %-14s %10.0f %14.1f %12s %8.2f %10.2f %13s\n' "$1" "$2" "$3" "$4" "$entry" \
		"$(echo "$3 / $6" | bc -l)" "$(echo "$4 / $7" | bc -l)" "$at_rate"
}

# The plain server's CPU per call when it runs $script at the rate $2: a
# node's CPU per call depends on how many calls arrive (how many commits
# share a WAL flush, whether a backend sleeps between calls), and the
# worker of a call sent through the coordinator sees fewer of them than a
# plain server at full speed.
plain_cpu_at() {
	local tps cpu
	read -r tps cpu _ < <(measure 5660 5660 "$1" p "" "$(printf '%.0f' "$2")")
	echo "$cpu"
}

printf '%-13s %-14s %10s %14s %12s %8s %10s %13s\n' "figure" "where" "tps" "CPU us/call" "coord us/call" \
	"tps/plain" "CPU/plain" "CPU/plain@tps"
for fig in "new fetch:new.sql" "repeat fetch:known.sql" "lookup:lookup.sql" "PK SELECT:pk.sql"; do
	label=${fig%%:*} script="$work/${fig#*:}"
	read -r p_tps p_cpu _ < <(measure 5660 5660 "$script" p)
	row "$label" plain "$p_tps" "$p_cpu" - "$p_tps" "$p_cpu"
	if [ "$label" != "PK SELECT" ]; then
		read -r c_tps c_cpu c_entry < <(measure 5661 "$owner" "$script" c)
		row "" coordinator "$c_tps" "$c_cpu" "$c_entry" "$p_tps" "$p_cpu" "$(plain_cpu_at "$script" "$c_tps")"
		read -r n_tps n_cpu n_entry < <(measure 5661 "$owner" "$script" n "-c storagebox.delegate_fetch=off")
		row "" nested "$n_tps" "$n_cpu" "$n_entry" "$p_tps" "$p_cpu"
	fi
	read -r w_tps w_cpu _ < <(measure "$owner" "$owner" "$script" w)
	row "" worker "$w_tps" "$w_cpu" - "$p_tps" "$p_cpu"
done
read -r d_tps d_cpu d_entry < <(measure 5661 "$owner" "$work/noop.sql" d)
row "no-op call" coordinator "$d_tps" "$d_cpu" "$d_entry" "$p_tps" "$p_cpu"
echo "pgbench -n -M prepared -c $CLIENTS -j 2 -T $T; bank of $ITEMS items; $(nproc) CPUs;"
echo "CPU us/call: CPU time of the node that runs the fetch (for 'coordinator' and 'nested':"
echo "the worker the call is sent to), its postmaster and all its processes, divided by the calls;"
echo "coord us/call: the same for the coordinator, where those calls arrive;"
echo "CPU/plain@tps: CPU us/call over the plain server's when pgbench -R holds it to this row's tps"
