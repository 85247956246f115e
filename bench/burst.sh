#!/usr/bin/env bash
#
# bench/burst.sh: the burst benchmark (issue 24).  N connections start at
# once on a fresh bank of a few items, users pressing from several of them
# at once, 20 calls a connection; reported next to the references measured
# in the same run, on the same server, in the same shape.
#
# Workloads (one call a pgbench transaction):
#   c        sb_fetch_item(bank, 'u' || random(1, 2 x ITEMS)), C flavour
#   sql      the same, SQL flavour (storagebox_sql, in its own database)
#   peer     peer_fetch_item(...), the hand-written SKIP LOCKED bank of
#            bench/peer.sql, the same bank size and ids
#   select1  SELECT 1
#   pk       a primary-key SELECT of one row of 1,000
# Shapes:
#   warm     connections opened and warmed before the burst, as a pool's
#            are: each connection first makes WARM_CALLS calls of each kind
#            its workload makes (a new fetch, a repeat and a sold-out answer
#            on warm-up banks; the SELECT itself for the references), so
#            that its functions are compiled and its statements past the
#            custom plans PostgreSQL makes for their first 5 executions,
#            then waits on an advisory lock the script holds; the burst
#            starts when the script lets go of it.  (Before 2026-12-07 one
#            call warmed a connection: the slow path's functions were then
#            compiled and planned during the burst.)
#   cold     connections opened by the burst itself: fresh backends, whose
#            first call is the burst's
# at 50, 200 and 500 connections (pgbench -c N -j 2 -M prepared).  Each
# cell is ROUNDS rounds, each on a fresh bank.
#
# Figures, from pgbench's per-transaction log (-l) of the burst's calls:
#   calls/s  calls / (last call's end - first call's start): the rate
#            without connection time (the median over the rounds)
#   p50, p99 latency of a call in ms, over all calls of the cell's rounds
#   hung     rounds that did not finish within BOUND seconds (they are
#            cancelled, and count in no figure)
# Nothing is asserted about the figures.  The issue's targets are printed
# under the table as ratios to the primary-key SELECT in the same shape.
#
# Usage: bench/burst.sh [--smoke | --quick] [--existing] [--port N]
#                       [--rounds R] [--items N] [--keep] [--log FILE]
#   (default)   full run: 50, 200, 500 connections, 3 rounds a cell, banks
#               of 50 items (some 15 to 30 minutes on 2 cores)
#   --quick     50 and 200 connections, 1 round a cell
#   --smoke     8 connections, 3 calls each, 1 round: proves that every
#               workload runs in both shapes (a few seconds); exits
#               non-zero if a run fails or hangs
#   --existing  use the server PGHOST, PGPORT, PGUSER point at (a superuser;
#               both flavours installed, max_connections above the largest
#               N); databases sb_burst_c_<pid>, sb_burst_sql_<pid> are made
#               and dropped
#   --port N    port of the throwaway cluster (default 5520)
#   --rounds R  rounds a cell
#   --items N   items of each burst bank (default 50; ids 1..2N)
#   --sizes "N ..."      connection counts (default: the mode's)
#   --workloads "W ..."  workloads (default: c sql peer select1 pk)
#   --shapes "S ..."     shapes (default: warm cold)
#   --keep      keep the cluster (or the databases)
#   --log FILE  raw pgbench output (default: a file in $TMPDIR)
#
# The throwaway cluster (initdb in $TMPDIR, run as "postgres" when invoked
# as root) has max_connections=600, shared_buffers=256MB.
#
# Exit status: 0 when every run finished; 1 when a round hung; 2 when a run
# failed or setup failed.
#
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODE=full
EXISTING=0
PORT=5520
KEEP=0
LOG=
ROUNDS=
ITEMS=50
OPT_SIZES=
OPT_WORKLOADS=
OPT_SHAPES=

usage() { sed -n '3,55p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
	case $1 in
		--quick) MODE=quick ;;
		--smoke) MODE=smoke ;;
		--existing) EXISTING=1 ;;
		--port) PORT=${2:?--port needs a value}; shift ;;
		--rounds) ROUNDS=${2:?--rounds needs a value}; shift ;;
		--items) ITEMS=${2:?--items needs a value}; shift ;;
		--sizes) OPT_SIZES=${2:?--sizes needs a value}; shift ;;
		--workloads) OPT_WORKLOADS=${2:?--workloads needs a value}; shift ;;
		--shapes) OPT_SHAPES=${2:?--shapes needs a value}; shift ;;
		--keep) KEEP=1 ;;
		--log) LOG=${2:?--log needs a file}; shift ;;
		-h|--help) usage; exit 0 ;;
		*) echo "burst.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

case $MODE in
	full)  SIZES="50 200 500"; CALLS=20; BOUND=120; : "${ROUNDS:=3}" ;;
	quick) SIZES="50 200"; CALLS=20; BOUND=120; : "${ROUNDS:=1}" ;;
	smoke) SIZES="8"; CALLS=3; BOUND=60; : "${ROUNDS:=1}" ;;
esac
SIZES=${OPT_SIZES:-$SIZES}
WORKLOADS=${OPT_WORKLOADS:-c sql peer select1 pk}
SHAPES=${OPT_SHAPES:-warm cold}
GATE=4224				# advisory lock key of the warm shape's start
WARM_CALLS=7			# warm-up calls of each kind a connection makes
WARM_ITEMS=$((WARM_CALLS * 600))	# enough for 600 connections
PK_ROWS=1000

PG_CONFIG=${PG_CONFIG:-pg_config}
PGBIN=$("$PG_CONFIG" --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1)

[ -n "$LOG" ] || LOG=$(mktemp "${TMPDIR:-/tmp}/sb_burst.XXXXXX.log")
: > "$LOG"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sb_burst_work.XXXXXX")
START_TS=$(date +%s)

say() { printf '%s [%4ds] %s\n' "burst.sh:" $(( $(date +%s) - START_TS )) "$*" >&2; }
die() { echo "burst.sh: $*" >&2; exit 2; }

as_server_user() {
	if [ "$(id -u)" = 0 ]; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

CLUSTER=
GATE_PID=
cleanup() {
	local rc=$?
	set +e
	[ -n "$GATE_PID" ] && kill "$GATE_PID" 2> /dev/null
	if [ -n "$CLUSTER" ]; then
		if [ "$KEEP" = 1 ]; then
			say "kept cluster $CLUSTER/data (socket $CLUSTER, port $PORT)"
		else
			as_server_user "$PGBIN/pg_ctl" -D "$CLUSTER/data" -m fast -w stop >> "$LOG" 2>&1
			rm -rf "$CLUSTER"
		fi
	elif [ "$EXISTING" = 1 ] && [ "$KEEP" = 0 ] && [ -n "${DB_C:-}" ]; then
		"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB_C" \
			-c "DROP DATABASE IF EXISTS $DB_SQL" >> "$LOG" 2>&1
	fi
	rm -rf "$WORK"
	say "raw output in $LOG"
	exit $rc
}
trap cleanup EXIT
trap 'exit 2' INT TERM

# ---------------------------------------------------------------- server
if [ "$EXISTING" = 0 ]; then
	CLUSTER=$(mktemp -d "${TMPDIR:-/tmp}/sb_burst.XXXXXX")
	chmod 700 "$CLUSTER"
	[ "$(id -u)" = 0 ] && chown postgres:postgres "$CLUSTER" "$WORK"
	say "initdb in $CLUSTER/data"
	as_server_user "$PGBIN/initdb" -D "$CLUSTER/data" -U postgres -A trust >> "$LOG" 2>&1 ||
		die "initdb failed (see $LOG)"
	as_server_user "$PGBIN/pg_ctl" -D "$CLUSTER/data" -l "$CLUSTER/server.log" -w \
		-o "-p $PORT -k $CLUSTER -c listen_addresses='' -c shared_buffers=256MB -c max_connections=600" \
		start >> "$LOG" 2>&1 || { cat "$CLUSTER/server.log" >&2; die "server did not start"; }
	export PGHOST=$CLUSTER PGPORT=$PORT PGUSER=postgres
	unset PGDATABASE PGSERVICE PGOPTIONS
	DB_C=sb_burst_c
	DB_SQL=sb_burst_sql
else
	DB_C=sb_burst_c_$$
	DB_SQL=sb_burst_sql_$$
fi
# pgbench opens up to 500 connections (and as many files)
ulimit -n 4096 2> /dev/null || true

sql() { local db=$1; shift; "${PSQL[@]}" -d "$db" -At "$@" 2>> "$LOG" || die "SQL failed in $db (see $LOG)"; }

SERVER_VERSION=$(sql postgres -c "SHOW server_version")
MAXCONN=$(sql postgres -c "SHOW max_connections")
for n in $SIZES; do
	[ "$n" -lt "$MAXCONN" ] || die "max_connections is $MAXCONN, the burst needs $n and one more"
done
say "PostgreSQL $SERVER_VERSION, mode $MODE ($SIZES connections, $CALLS calls each, $ROUNDS round(s) a cell, banks of $ITEMS items)"

"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB_C" -c "CREATE DATABASE $DB_C" \
	-c "DROP DATABASE IF EXISTS $DB_SQL" -c "CREATE DATABASE $DB_SQL" >> "$LOG" 2>&1 ||
	die "cannot create databases (see $LOG)"
sql "$DB_C" -c "CREATE EXTENSION storagebox" -f "$HERE/peer.sql" \
	-c "CREATE TABLE bench_pk (k int PRIMARY KEY, v text NOT NULL);
	    INSERT INTO bench_pk SELECT g, 'item-' || g FROM generate_series(1, $PK_ROWS) g" \
	-c "VACUUM ANALYZE bench_pk" > /dev/null
sql "$DB_SQL" -c "CREATE EXTENSION storagebox_sql" > /dev/null
# the warm-up banks: each connection claims WARM_CALLS items of 'warm' and
# is answered "sold out" by 'warm_out'
for db in "$DB_C" "$DB_SQL"; do
	sql "$db" -c "SELECT sb_create_bank('warm');
	              SELECT sb_add_items('warm', array(SELECT 'w' || g FROM generate_series(1, $WARM_ITEMS) g));
	              SELECT sb_create_bank('warm_out');
	              SELECT sb_add_items('warm_out', ARRAY['o']);
	              SELECT sb_fetch_item('warm_out', 'taken')" > /dev/null
done
sql "$DB_C" -c "SELECT peer_add_items('peer_warm', array(SELECT 'w' || g FROM generate_series(1, $WARM_ITEMS) g));
                SELECT peer_add_items('peer_warm_out', ARRAY['o']);
                SELECT peer_fetch_item('peer_warm_out', 'taken')" > /dev/null

# ---------------------------------------------------------------- scripts
# Each script makes one call a transaction.  In the warm shape (-D warm=1)
# the first transaction warms the connection and waits at the gate; it is
# left out of the figures.
call_of() {
	case $1 in
		c|sql)   echo "SELECT sb_fetch_item(:bank, 'u' || :id);" ;;
		peer)    echo "SELECT peer_fetch_item(:bank, 'u' || :id);" ;;
		select1) echo "SELECT 1;" ;;
		pk)      echo "SELECT v FROM bench_pk WHERE k = :id;" ;;
	esac
}
warmup_of() {
	local i
	for i in $(seq 1 $WARM_CALLS); do
		case $1 in
			c|sql)   echo "SELECT sb_fetch_item('warm', 'w$i.' || :client_id);"
			         echo "SELECT sb_fetch_item('warm', 'w$i.' || :client_id);"
			         echo "SELECT sb_fetch_item('warm_out', 'w$i.' || :client_id);" ;;
			peer)    echo "SELECT peer_fetch_item('peer_warm', 'w$i.' || :client_id);"
			         echo "SELECT peer_fetch_item('peer_warm', 'w$i.' || :client_id);"
			         echo "SELECT peer_fetch_item('peer_warm_out', 'w$i.' || :client_id);" ;;
			select1) echo "SELECT 1;" ;;
			pk)      echo "SELECT v FROM bench_pk WHERE k = 1 + (:client_id + $i) % $PK_ROWS;" ;;
		esac
	done
	case $1 in c|sql) echo "SELECT sb_lookup(:bank, 'nobody');" ;; esac
}
for w in $WORKLOADS; do
	{
		echo "\\if :warm"
		echo "\\set warm 0"
		warmup_of "$w"
		echo "SELECT pg_advisory_lock_shared($GATE);"
		echo "SELECT pg_advisory_unlock_shared($GATE);"
		echo "\\else"
		echo "\\set id random(1, :ids)"
		call_of "$w"
		echo "\\endif"
	} > "$WORK/$w.sql"
done
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$WORK"

# ---------------------------------------------------------------- one round
BANK_SEQ=0
# new_bank WORKLOAD NAME: a fresh burst bank NAME of ITEMS items (nothing
# for the references).
new_bank() {
	case $1 in
		c)    sql "$DB_C" -c "SELECT sb_create_bank('$2'); SELECT sb_add_items('$2', array(SELECT 'i' || g FROM generate_series(1, $ITEMS) g))" > /dev/null ;;
		sql)  sql "$DB_SQL" -c "SELECT sb_create_bank('$2'); SELECT sb_add_items('$2', array(SELECT 'i' || g FROM generate_series(1, $ITEMS) g))" > /dev/null ;;
		peer) sql "$DB_C" -c "SELECT peer_add_items('$2', array(SELECT 'i' || g FROM generate_series(1, $ITEMS) g))" > /dev/null ;;
	esac
}

# waiting_at_gate DB
waiting_at_gate() {
	sql "$1" -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $GATE AND objsubid = 1 AND NOT granted"
}

# cancel_all DB: cancel every other backend of DB (a hung round), then
# terminate what is left.
cancel_all() {
	sql "$1" -c "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'" > /dev/null
	sleep 2
	sql "$1" -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'" > /dev/null
}

# round WORKLOAD SHAPE N R: one burst; appends the latencies (us) of its
# calls to $WORK/lat.<cell> and sets ROUND to its rate (calls/s), HUNG or
# ERR.
round() {
	local w=$1 shape=$2 n=$3 r=$4 db=$DB_C bank warm=0 t=$CALLS rc i waited
	local cell=$w.$shape.$n prefix=$WORK/log.$w.$shape.$n.$r
	[ "$w" = sql ] && db=$DB_SQL
	BANK_SEQ=$((BANK_SEQ + 1))
	bank=burst$BANK_SEQ
	new_bank "$w" "$bank"
	if [ "$shape" = warm ]; then
		warm=1; t=$((CALLS + 1))
		PGAPPNAME=sb_burst_gate_$$ "$PGBIN/psql" -X -q -d "$db" \
			-c "SELECT pg_advisory_lock($GATE)" -c "SELECT pg_sleep(86400)" >> "$LOG" 2>&1 &
		GATE_PID=$!
		for i in $(seq 1 100); do
			[ "$(sql "$db" -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $GATE AND objsubid = 1 AND granted")" = 1 ] && break
			sleep 0.1
		done
	fi
	echo "== $cell round $r: bank $bank" >> "$LOG"
	(cd "$WORK" && exec timeout -s INT "$BOUND" "$PGBIN/pgbench" -n -M prepared -c "$n" -j 2 -t "$t" \
		-D warm=$warm -D bank="$bank" -D ids=$((2 * ITEMS)) -l --log-prefix="$prefix" \
		-f "$WORK/$w.sql" "$db" >> "$LOG" 2>&1) &
	local pgb=$!
	if [ "$shape" = warm ]; then
		# every connection warmed and waiting: the burst starts
		waited=0
		while [ "$(waiting_at_gate "$db")" != "$n" ] && kill -0 "$pgb" 2> /dev/null && [ "$waited" -lt $((BOUND * 10)) ]; do
			sleep 0.1; waited=$((waited + 1))
		done
		sql "$db" -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sb_burst_gate_$$'" > /dev/null
		wait "$GATE_PID" 2> /dev/null || true
		GATE_PID=
	fi
	set +e
	wait "$pgb"
	rc=$?
	set -e
	if [ "$rc" = 124 ] || [ "$rc" = 130 ]; then
		say "$cell round $r HUNG: cancelled after $BOUND s"
		cancel_all "$db"
		ROUND=HUNG
		return
	fi
	if [ "$rc" != 0 ]; then
		say "$cell round $r FAILED (pgbench exit $rc, see $LOG)"
		ROUND=ERR
		return
	fi
	# log lines: client, transaction (from 1), latency_us, script, end
	# epoch_s, epoch_us; the warm shape's first transaction (the gate) is
	# left out
	ROUND=$(cat "$prefix".* | awk -v skip=$warm -v lat="$WORK/lat.$cell" '
		$2 > skip {
			end = $5 * 1000000 + $6; start = end - $3
			if (n == 0 || start < lo) lo = start
			if (n == 0 || end > hi) hi = end
			n++; print $3 >> lat
		}
		END { if (n == 0 || hi <= lo) print "ERR"; else printf "%.0f\n", n / ((hi - lo) / 1000000) }')
	rm -f "$prefix".*
}

# ---------------------------------------------------------------- the runs
declare -A RATE P50 P99 HUNGS
HUNG_TOTAL=0
FAILED=0
# The rounds of the workloads alternate (round 1 of each workload, then
# round 2 of each, ...), so that the machine's drift over a cell's minutes
# falls on every workload alike, and the ratios to the primary-key SELECT
# compare rounds run side by side.
declare -A RATES
for n in $SIZES; do
	for shape in $SHAPES; do
		for w in $WORKLOADS; do
			cell=$w.$shape.$n
			RATES[$cell]=
			HUNGS[$cell]=0
			: > "$WORK/lat.$cell"
		done
		for r in $(seq 1 "$ROUNDS"); do
			for w in $WORKLOADS; do
				cell=$w.$shape.$n
				round "$w" "$shape" "$n" "$r"
				case $ROUND in
					HUNG) HUNGS[$cell]=$((HUNGS[$cell] + 1)); HUNG_TOTAL=$((HUNG_TOTAL + 1)) ;;
					ERR)  FAILED=$((FAILED + 1)) ;;
					*)    RATES[$cell]="${RATES[$cell]} $ROUND" ;;
				esac
			done
		done
		for w in $WORKLOADS; do
			cell=$w.$shape.$n
			if [ -n "${RATES[$cell]}" ]; then
				RATE[$cell]=$(printf '%s\n' ${RATES[$cell]} | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
				# nearest rank: the ceil(p * n)-th smallest
				read -r p50 p99 < <(sort -n "$WORK/lat.$cell" | awk '{ v[NR] = $1 }
					function rank(p,  i) { i = int(p * NR); if (i < p * NR) i++; if (i < 1) i = 1; return v[i] }
					END { printf "%.1f %.1f\n", rank(0.50) / 1000, rank(0.99) / 1000 }')
				P50[$cell]=$p50; P99[$cell]=$p99
			else
				RATE[$cell]=-; P50[$cell]=-; P99[$cell]=-
			fi
			say "$cell: ${RATE[$cell]} calls/s, p50 ${P50[$cell]} ms, p99 ${P99[$cell]} ms, hung ${HUNGS[$cell]}/$ROUNDS"
		done
	done
done

# ---------------------------------------------------------------- the table
label() {
	case $1 in
		c) echo "storagebox (C)" ;; sql) echo "storagebox_sql" ;; peer) echo "peer (SKIP LOCKED)" ;;
		select1) echo "SELECT 1" ;; pk) echo "primary-key SELECT" ;;
	esac
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'; }

echo
echo "Burst: $CALLS calls a connection, banks of $ITEMS items, ids 1..$((2 * ITEMS)), $ROUNDS round(s) a cell;"
echo "calls/s without connection time (median of the rounds), latency p50/p99 in ms; PostgreSQL $SERVER_VERSION"
echo
header="| shape | workload |"
rule="|---|---|"
for n in $SIZES; do
	header="$header $n: calls/s | p50 | p99 | hung |"
	rule="$rule---:|---:|---:|---:|"
done
echo "$header"
echo "$rule"
for shape in $SHAPES; do
	for w in $WORKLOADS; do
		line="| $shape | $(label "$w") |"
		for n in $SIZES; do
			cell=$w.$shape.$n
			line="$line ${RATE[$cell]} | ${P50[$cell]} | ${P99[$cell]} | ${HUNGS[$cell]}/$ROUNDS |"
		done
		echo "$line"
	done
done
echo
echo "Against the primary-key SELECT in the same shape (issue 24's targets, warm: C rate >= 0.7, C p99 <= 3, SQL rate >= 0.4):"
echo
header="| shape | figure |"
rule="|---|---|"
for n in $SIZES; do header="$header $n |"; rule="$rule---:|"; done
echo "$header"
echo "$rule"
for shape in $SHAPES; do
	for fig in "c rate" "c p99" "sql rate" "peer rate"; do
		set -- $fig
		line="| $shape | $(label "$1") $2 / PK |"
		for n in $SIZES; do
			if [ "$2" = rate ]; then
				line="$line $(ratio "${RATE[$1.$shape.$n]:--}" "${RATE[pk.$shape.$n]:--}") |"
			else
				line="$line $(ratio "${P99[$1.$shape.$n]:--}" "${P99[pk.$shape.$n]:--}") |"
			fi
		done
		echo "$line"
	done
done
echo

if [ "$FAILED" -gt 0 ]; then
	say "$FAILED round(s) failed"
	exit 2
fi
if [ "$HUNG_TOTAL" -gt 0 ]; then
	say "$HUNG_TOTAL round(s) hung"
	exit 1
fi
exit 0
