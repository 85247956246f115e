#!/usr/bin/env bash
#
# bench/run.sh: the storagebox benchmark suite (issue 4).
#
# Every figure is a ratio against a floor measured in the same run on the
# same server, printed as one table next to the same figure for the
# hand-written PL/pgSQL peer in bench/peer.sql.  Throughput figures come from
# pgbench (-n -M prepared -j 2) running the one-statement scripts in
# bench/sql/.
#
# Usage: bench/run.sh [--quick | --smoke] [--existing] [--port N] [--keep] [--log FILE]
#
#   (default)   full run: 1,000,000-item banks, 30 s per pgbench run,
#               10,000,000-item bank for the stats figure (about 55 minutes)
#   --quick     10 s runs, smaller banks (sizes are printed in the table)
#   --smoke     a few seconds in all, tiny banks: proves that every script
#               still runs; exits non-zero if any of them fails and asserts
#               nothing about the ratios
#   --existing  use the server that PGHOST, PGPORT, PGUSER (libpq environment)
#               point at instead of a throwaway cluster; the user must be a
#               superuser with storagebox installed on the server.  Two
#               databases sb_bench_<pid> and sb_bench_stats_<pid> are created
#               and dropped at the end.
#   --port N    port of the throwaway cluster (default 5510); it listens on a
#               Unix socket in its own temporary directory only
#   --keep      keep the throwaway cluster (or the databases) at the end
#   --log FILE  raw pgbench output and timings (default: a file in $TMPDIR)
#   --flavours [T [BANK [LOAD]]]
#               instead of the above: the SQL flavour against the C flavour
#               on the server PGHOST/PGPORT/PGUSER point at (bench/flavours.sh)
#
# The throwaway cluster is made by initdb in a temporary directory under
# $TMPDIR (default /tmp).  Run as root, the script runs initdb and pg_ctl as
# the user "postgres"; run as anyone else, as that user.  Settings:
# shared_buffers=256MB, max_connections=100, max_wal_size=4GB; fsync,
# synchronous_commit, autovacuum and everything else stay at their defaults.
#
# Exit status: 0 when every script ran and (full and quick modes) every
# target was met; 1 when a target was missed; 2 when a script or setup step
# failed.
#
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODE=full
EXISTING=0
PORT=5510
KEEP=0
LOG=

usage() { sed -n '3,40p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
	case $1 in
		--quick) MODE=quick ;;
		--smoke) MODE=smoke ;;
		--existing) EXISTING=1 ;;
		--port) PORT=${2:?--port needs a value}; shift ;;
		--keep) KEEP=1 ;;
		--log) LOG=${2:?--log needs a file}; shift ;;
		--flavours) shift; exec "$HERE/flavours.sh" "$@" ;;
		-h|--help) usage; exit 0 ;;
		*) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

PG_CONFIG=${PG_CONFIG:-pg_config}
PGBIN=$("$PG_CONFIG" --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)

# Sizes per mode.  T: seconds per pgbench -T run.  BANK: items of each fetch
# bank.  DRAIN_BANK/DRAIN_RUN: drain bank size and fetches per drain run.
# HELD_SB/HELD_PEER: fetches (-t in total) per held-back vacuum run.
# MEM: fetches in the memory session.  LOAD: items bulk loaded.  STATS: items
# of the big bank read through sb_banks.
case $MODE in
	full)
		T=30; BANK=1000000; DRAIN_BANK=2000000; DRAIN_RUN=100000
		HELD_SB=200000; HELD_PEER=20000; MEM=1000000; LOAD=1000000; STATS=10000000 ;;
	quick)
		T=10; BANK=300000; DRAIN_BANK=1000000; DRAIN_RUN=50000
		HELD_SB=50000; HELD_PEER=10000; MEM=100000; LOAD=1000000; STATS=1000000 ;;
	smoke)
		T=3; BANK=20000; DRAIN_BANK=4000; DRAIN_RUN=200
		HELD_SB=400; HELD_PEER=400; MEM=2000; LOAD=2000; STATS=2000 ;;
esac
MEM_FIRST=1000			# memory is compared with the session after this many
CHUNK=100				# fetches per statement in the memory session
REPEAT_IDS=1000			# dedup_ids holding an item in the repeat figure

[ -n "$LOG" ] || LOG=$(mktemp "${TMPDIR:-/tmp}/sb_bench.XXXXXX.log")
: > "$LOG"
START_TS=$(date +%s)

say() { printf '%s [%4ds] %s\n' "run.sh:" $(( $(date +%s) - START_TS )) "$*" >&2; }
die() { echo "run.sh: $*" >&2; exit 2; }

# Server-side commands (initdb, pg_ctl) never run as root.
as_server_user() {
	if [ "$(id -u)" = 0 ]; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

CLUSTER=
HOLDER_PID=
cleanup() {
	local rc=$?
	set +e
	declare -F stop_holder > /dev/null && stop_holder
	if [ -n "$CLUSTER" ]; then
		if [ "$KEEP" = 1 ]; then
			say "kept cluster $CLUSTER/data (socket $CLUSTER, port $PORT)"
		else
			as_server_user "$PGBIN/pg_ctl" -D "$CLUSTER/data" -m fast -w stop >> "$LOG" 2>&1
			rm -rf "$CLUSTER"
		fi
	elif [ "$EXISTING" = 1 ] && [ "$KEEP" = 0 ] && [ -n "${DB:-}" ]; then
		"$PGBIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" \
			-c "DROP DATABASE IF EXISTS $DB_STATS" >> "$LOG" 2>&1
	fi
	say "raw output in $LOG"
	rm -f "${FAILS:-}"
	exit $rc
}
trap cleanup EXIT
trap 'exit 2' INT TERM

# ---------------------------------------------------------------- server
if [ "$EXISTING" = 0 ]; then
	CLUSTER=$(mktemp -d "${TMPDIR:-/tmp}/sb_bench.XXXXXX")
	chmod 700 "$CLUSTER"
	[ "$(id -u)" = 0 ] && chown postgres:postgres "$CLUSTER"
	say "initdb in $CLUSTER/data"
	as_server_user "$PGBIN/initdb" -D "$CLUSTER/data" -U postgres -A trust >> "$LOG" 2>&1 ||
		die "initdb failed (see $LOG)"
	as_server_user "$PGBIN/pg_ctl" -D "$CLUSTER/data" -l "$CLUSTER/server.log" -w \
		-o "-p $PORT -k $CLUSTER -c listen_addresses='' -c shared_buffers=256MB -c max_connections=100 -c max_wal_size=4GB" \
		start >> "$LOG" 2>&1 || { cat "$CLUSTER/server.log" >&2; die "server did not start"; }
	export PGHOST=$CLUSTER PGPORT=$PORT PGUSER=postgres
	unset PGDATABASE PGSERVICE PGOPTIONS
	DB=sb_bench
	DB_STATS=sb_bench_stats
else
	DB=sb_bench_$$
	DB_STATS=sb_bench_stats_$$
fi

PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1)
sql() { "${PSQL[@]}" -d "$DB" -Atc "$1" 2>> "$LOG" || die "SQL failed: $1 (see $LOG)"; }
sql_in() { local db=$1; shift; "${PSQL[@]}" -d "$db" -At "$@" 2>> "$LOG" || die "SQL failed in $db (see $LOG)"; }
# A checkpoint before each measured step keeps one out of the measurement.
settle() { [ "$MODE" = smoke ] || sql "CHECKPOINT" > /dev/null; }

SERVER_VERSION=$("${PSQL[@]}" -d postgres -Atc "SHOW server_version") || die "cannot connect"
say "PostgreSQL $SERVER_VERSION, mode $MODE, database $DB"
{
	echo "== settings"
	"${PSQL[@]}" -d postgres -Atc "SELECT name || '=' || setting FROM pg_settings WHERE name IN ('shared_buffers','max_connections','max_wal_size','fsync','synchronous_commit','autovacuum','wal_level','checkpoint_timeout')"
} >> "$LOG"

"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" \
	-c "DROP DATABASE IF EXISTS $DB_STATS" -c "CREATE DATABASE $DB_STATS" >> "$LOG" 2>&1 ||
	die "cannot create databases (see $LOG)"
sql_in "$DB" -c "CREATE EXTENSION storagebox" -f "$HERE/peer.sql" > /dev/null
sql_in "$DB_STATS" -c "CREATE EXTENSION storagebox" > /dev/null
sql "CREATE TABLE bench_floor (k text PRIMARY KEY);
     CREATE SEQUENCE bench_floor_seq;
     CREATE SEQUENCE bench_dedup_seq;
     CREATE TABLE bench_pk (k text PRIMARY KEY, v text NOT NULL);
     INSERT INTO bench_pk SELECT g::text, 'item-' || g FROM generate_series(1, $REPEAT_IDS) g;
     CREATE TABLE bench_copy (item text PRIMARY KEY);
     CREATE SEQUENCE bench_seq;
     SELECT sb_create_dispenser('bench')" > /dev/null
sql "VACUUM ANALYZE bench_pk" > /dev/null

# ---------------------------------------------------------------- helpers
FAILS="$LOG.failed"		# pgb runs in a subshell: failures go to a file
: > "$FAILS"

# new_bank KIND SIZE NAME: a fresh bank NAME of SIZE items ('item-1'...) for
# KIND sb or peer; prints its name.  Only the loaded items table is analyzed:
# analyzing the claim (holder) table while it is empty makes both sides'
# cached plans seq-scan it from then on (see RESULTS.md).
new_bank() {
	local kind=$1 size=$2 name=$3
	if [ "$kind" = sb ]; then
		sql "SELECT sb_create_bank('$name')" > /dev/null
		load_items "$DB" "SELECT sb_add_items('$name', array_agg('item-' || g)) FROM generate_series(%s, %s) g" "$size"
		sql "VACUUM ANALYZE storagebox_data.item" > /dev/null
	else
		load_items "$DB" "SELECT peer_add_items('$name', array_agg('item-' || g)) FROM generate_series(%s, %s) g" "$size"
		sql "VACUUM ANALYZE peer_item" > /dev/null
	fi
	echo "$name"
}

# load_items DB FORMAT SIZE: run FORMAT (two %s: first and last item) in
# chunks of at most 1,000,000 items.
load_items() {
	local db=$1 fmt=$2 size=$3 from=1 to
	while [ "$from" -le "$size" ]; do
		to=$((from + 999999)); [ "$to" -gt "$size" ] && to=$size
		# shellcheck disable=SC2059
		sql_in "$db" -c "$(printf "$fmt" "$from" "$to")" > /dev/null
		from=$((to + 1))
	done
}

# items_left KIND BANK
items_left() {
	if [ "$1" = sb ]; then
		sql "SELECT items_left FROM sb_banks WHERE bank = '$2'"
	else
		sql "SELECT count(*) FROM peer_item WHERE bank = '$2' AND NOT claimed"
	fi
}

# pgb LABEL DB CLIENTS SCRIPT [pgbench options...]: run pgbench, print tps
# (or "ERR"), record failures.
pgb() {
	local label=$1 db=$2 clients=$3 script=$4 out rc tps jobs=2
	shift 4
	[ "$clients" -lt 2 ] && jobs=1
	settle
	set +e
	out=$("$PGBIN/pgbench" -n -M prepared -c "$clients" -j "$jobs" "$@" \
		-f "$HERE/sql/$script" "$db" 2>&1)
	rc=$?
	set -e
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<< "$out")
	{ echo "== $label: pgbench -c $clients -j $jobs $* -f sql/$script (exit $rc)"; echo "$out"; } >> "$LOG"
	if [ "$rc" != 0 ] || [ -z "$tps" ] || grep -q 'actually processed: 0' <<< "$out"; then
		echo "$label ($script)" >> "$FAILS"
		say "FAILED: $label (pgbench exit $rc, see $LOG)"
		echo ERR
		return
	fi
	say "$label: $tps tps"
	echo "$tps"
}

# ratio A B: A/B to two decimals, or "ERR".
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "ERR" || b == "ERR" || a == "" || b == "" || b + 0 == 0) print "ERR";
		else printf "%.2f\n", a / b }'
}

# seconds CMD...: wall time of a command, in seconds.
seconds() {
	local t0 t1
	t0=$(date +%s.%N)
	"$@" > /dev/null || die "timed command failed: $* (see $LOG)"
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

# A background session holding a REPEATABLE READ snapshot open.
start_holder() {
	PGAPPNAME=sb_bench_holder_$$ "$PGBIN/psql" -X -q -d "$DB" \
		-c "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1; SELECT pg_sleep(86400)" \
		>> "$LOG" 2>&1 &
	HOLDER_PID=$!
	local i
	for i in $(seq 1 100); do
		[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sb_bench_holder_$$' AND backend_xmin IS NOT NULL")" = 1 ] && return
		sleep 0.1
	done
	die "the snapshot-holding session did not start"
}
stop_holder() {
	[ -n "$HOLDER_PID" ] || return 0
	"${PSQL[@]}" -d "$DB" -Atc "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sb_bench_holder_$$'" > /dev/null 2>&1
	wait "$HOLDER_PID" 2> /dev/null || true
	HOLDER_PID=
}

# check_not_dry KIND BANK LABEL: a fetch run that emptied its bank measured
# the sold-out path, not fetches; say so.
DRY=()
check_not_dry() {
	if [ "$(items_left "$1" "$2")" = 0 ]; then
		DRY+=("$3")
		say "WARNING: $3 emptied its bank; enlarge the bank for this mode"
	fi
}

# ---------------------------------------------------------------- figures
declare -A R			# R[figure,side] = ratio

# 1. fetch with a new dedup_id / single-row INSERT, at 1, 8 and 32 clients.
declare -A TPS
for c in 8 1 32; do
	TPS[floor,$c]=$(pgb "floor insert c=$c" "$DB" "$c" floor_insert.sql -T "$T")
	for side in sb peer; do
		b=$(new_bank "$side" "$BANK" "fetch$c")
		TPS[$side,$c]=$(pgb "$side fetch new c=$c" "$DB" "$c" "fetch_new_$side.sql" -T "$T" -D bank="$b")
		check_not_dry "$side" "$b" "$side fetch c=$c"
		R[fetch$c,$side]=$(ratio "${TPS[$side,$c]}" "${TPS[floor,$c]}")
	done
done
for side in sb peer; do
	R[scale,$side]=$(ratio "${TPS[$side,32]}" "${TPS[$side,8]}")
done

# 2. drain: fetch rate with 90% of the bank handed out / with it full.
#    storagebox drains through sb_fetch_item itself (statements of 10,000
#    fetches); the peer's claims are set up by one set-based UPDATE (its
#    fetch would take hours to walk a million claimed rows one by one).
for side in sb peer; do
	b=$(new_bank "$side" "$DRAIN_BANK" drain)
	full=$(pgb "$side drain full" "$DB" 8 "fetch_new_$side.sql" -t $((DRAIN_RUN / 8)) -D bank="$b")
	target=$((DRAIN_BANK * 9 / 10))
	if [ "$side" = sb ]; then
		from=$((DRAIN_RUN + 1))
		while [ "$from" -le "$target" ]; do
			to=$((from + 9999)); [ "$to" -gt "$target" ] && to=$target
			echo "SELECT count(sb_fetch_item('$b', 'drain-' || g)) FROM generate_series($from, $to) g;"
			from=$((to + 1))
		done | sql_in "$DB" > /dev/null
	else
		sql "WITH c AS (UPDATE peer_item SET claimed = true
		                 WHERE bank = '$b' AND NOT claimed AND id <= $target RETURNING id, item)
		     INSERT INTO peer_holder SELECT '$b', 'drain-' || id, item FROM c" > /dev/null
	fi
	say "$side drain: $(items_left "$side" "$b") of $DRAIN_BANK items left"
	ninety=$(pgb "$side drain 90%" "$DB" 8 "fetch_new_$side.sql" -t $((DRAIN_RUN / 8)) -D bank="$b")
	R[drain,$side]=$(ratio "$ninety" "$full")
done

# 3. held-back vacuum: the same number of fetches with a REPEATABLE READ
#    snapshot held open by another session / without.
for side in sb peer; do
	if [ "$side" = sb ]; then n=$HELD_SB; else n=$HELD_PEER; fi
	b=$(new_bank "$side" $((n + n / 10 + 100)) held_off)
	free=$(pgb "$side held-back off" "$DB" 8 "fetch_new_$side.sql" -t $((n / 8)) -D bank="$b")
	b=$(new_bank "$side" $((n + n / 10 + 100)) held_on)
	start_holder
	held=$(pgb "$side held-back on" "$DB" 8 "fetch_new_$side.sql" -t $((n / 8)) -D bank="$b")
	stop_holder
	R[held,$side]=$(ratio "$held" "$free")
done

# 4. repeat fetch and sold-out answer / primary-key SELECT of one row.
pk=$(pgb "pk select" "$DB" 8 pk_select.sql -T "$T" -D n=$REPEAT_IDS)
for side in sb peer; do
	b=$(new_bank "$side" $REPEAT_IDS repeat)
	sql "SELECT count(${side}_fetch_item('$b', g::text)) FROM generate_series(1, $REPEAT_IDS) g" > /dev/null
	rep=$(pgb "$side repeat" "$DB" 8 "fetch_known_$side.sql" -T "$T" -D bank="$b" -D lo=1 -D hi=$REPEAT_IDS)
	R[repeat,$side]=$(ratio "$rep" "$pk")
	# The bank is now sold out: every item is held.  Fresh (negative) ids.
	[ -z "$(sql "SELECT ${side}_fetch_item('$b', '-1')")" ] || die "$side: bank $b should be sold out"
	sql "VACUUM ANALYZE peer_item" > /dev/null
	sold=$(pgb "$side sold out" "$DB" 8 "fetch_known_$side.sql" -T "$T" -D bank="$b" -D lo=-1000000000 -D hi=-2)
	R[soldout,$side]=$(ratio "$sold" "$pk")
done

# 5. bulk load: sb_add_items of LOAD items / COPY of the same rows into a
#    plain table with a primary key.  The peer's INSERT ... SELECT unnest is
#    shown for comparison.
settle
t_copy=$(seconds bash -c "seq -f 'item-%.0f' 1 $LOAD | $(printf '%q ' "${PSQL[@]}") -d $DB -c 'COPY bench_copy FROM STDIN'")
sql "SELECT sb_create_bank('load')" > /dev/null
settle
t_sb=$(seconds sql "SELECT sb_add_items('load', array_agg('item-' || g)) FROM generate_series(1, $LOAD) g")
settle
t_peer=$(seconds sql "SELECT peer_add_items('load', array_agg('item-' || g)) FROM generate_series(1, $LOAD) g")
echo "== bulk load of $LOAD items: COPY ${t_copy}s, sb_add_items ${t_sb}s, peer_add_items ${t_peer}s" >> "$LOG"
say "bulk load: COPY ${t_copy}s, sb_add_items ${t_sb}s, peer ${t_peer}s"
R[load,sb]=$(ratio "$t_sb" "$t_copy")
R[load,peer]=$(ratio "$t_peer" "$t_copy")

# 6. stats: time of one sb_banks read for a STATS-item bank / a 10-item
#    bank, in a database of their own.  Both have handed out items.
sql_in "$DB_STATS" -c "SELECT sb_create_bank('big'); SELECT sb_create_bank('small')" > /dev/null
load_items "$DB_STATS" "SELECT sb_add_items('big', array_agg('item-' || g)) FROM generate_series(%s, %s) g" "$STATS"
sql_in "$DB_STATS" -c "SELECT sb_add_items('small', array_agg('item-' || g)) FROM generate_series(1, 10) g" \
	-c "SELECT count(sb_fetch_item('big', g::text)) FROM generate_series(1, least($STATS / 2, 10000)) g" \
	-c "SELECT count(sb_fetch_item('small', g::text)) FROM generate_series(1, 5) g" \
	-c "VACUUM ANALYZE" > /dev/null
say "stats: loaded $STATS items"
small=$(pgb "stats small" "$DB_STATS" 8 stats.sql -T "$T" -D bank=small)
big=$(pgb "stats big" "$DB_STATS" 8 stats.sql -T "$T" -D bank=big)
R[stats,sb]=$(ratio "$small" "$big")	# time(big) / time(small)

# 7. dispenser.
nv=$(pgb "nextval" "$DB" 8 nextval.sql -T "$T")
one=$(pgb "sb_next" "$DB" 8 sb_next.sql -T "$T" -D disp=bench)
hundred=$(pgb "sb_next 100" "$DB" 8 sb_next_batch.sql -T "$T" -D disp=bench)
R[next,sb]=$(ratio "$one" "$nv")
R[next100,sb]=$(ratio "$hundred" "$one")

# 8. memory: backend memory after MEM fetches in one session / after 1,000.
for side in sb peer; do
	b=$(new_bank "$side" $((MEM + 100)) memory)
	mem=$(
		{
			from=1
			while [ "$from" -le "$MEM" ]; do
				to=$((from + CHUNK - 1))
				echo "SELECT count(${side}_fetch_item('$b', 'mem-' || g)) FROM generate_series($from, $to) g;"
				if [ "$to" = "$MEM_FIRST" ] || [ "$to" = "$MEM" ]; then
					echo "\\o"
					echo "SELECT sum(total_bytes) FROM pg_backend_memory_contexts;"
					echo "\\o /dev/null"
				fi
				from=$((to + 1))
			done
		} | { echo "\\o /dev/null"; cat; } | sql_in "$DB"
	)
	echo "== memory $side: $(echo $mem)" >> "$LOG"
	set -- $mem
	say "memory $side: $1 bytes after $MEM_FIRST fetches, $2 after $MEM"
	R[mem,$side]=$(ratio "$2" "$1")
done

# ---------------------------------------------------------------- table
n_fmt() { awk -v n="$1" 'BEGIN { s = sprintf("%d", n); r = "";
	while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
	print s r }'; }

MISSED=0
row() {	# figure sb peer op target
	local fig=$1 sb=$2 peer=$3 op=$4 target=$5 verdict
	if [ "$op" = "" ]; then
		verdict="-"
	elif [ "$sb" = ERR ]; then
		verdict=ERROR
	elif [ "$MODE" = smoke ]; then
		verdict="n/a"
	elif awk -v v="$sb" -v t="$target" -v op="$op" \
			'BEGIN { exit !((op == ">=") ? (v >= t) : (v <= t)) }'; then
		verdict=pass
	else
		verdict=FAIL; MISSED=1
	fi
	printf '| %-60s | %10s | %10s | %-6s | %-7s |\n' "$fig" "$sb" "$peer" "${op:+$op $target}" "$verdict"
}

echo
echo "storagebox benchmark, mode $MODE, PostgreSQL $SERVER_VERSION, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
printf '| %-60s | %10s | %10s | %-6s | %-7s |\n' figure storagebox "peer" target result
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..62})" "$(printf -- '-%.0s' {1..12})" \
	"$(printf -- '-%.0s' {1..12})" "$(printf -- '-%.0s' {1..8})" "$(printf -- '-%.0s' {1..9})"
row "fetch new dedup_id / INSERT ON CONFLICT, 8 clients" "${R[fetch8,sb]}" "${R[fetch8,peer]}" ">=" 0.9
row "fetch new dedup_id / INSERT ON CONFLICT, 1 client" "${R[fetch1,sb]}" "${R[fetch1,peer]}" "" ""
row "fetch new dedup_id / INSERT ON CONFLICT, 32 clients" "${R[fetch32,sb]}" "${R[fetch32,peer]}" "" ""
row "scaling: fetch rate at 32 clients / at 8" "${R[scale,sb]}" "${R[scale,peer]}" ">=" 1.0
row "drain: rate at 90% handed out / full ($(n_fmt "$DRAIN_BANK") items)" "${R[drain,sb]}" "${R[drain,peer]}" ">=" 0.95
row "held-back vacuum: rate with RR snapshot open / without" "${R[held,sb]}" "${R[held,peer]}" ">=" 0.95
row "  (fetches per run: storagebox $(n_fmt "$HELD_SB"), peer $(n_fmt "$HELD_PEER"))" "" "" "" ""
row "repeat fetch (dedup_id holds an item) / PK SELECT" "${R[repeat,sb]}" "${R[repeat,peer]}" ">=" 0.9
row "sold-out answer / PK SELECT" "${R[soldout,sb]}" "${R[soldout,peer]}" ">=" 0.9
row "bulk load $(n_fmt "$LOAD") items: time / COPY with PK" "${R[load,sb]}" "${R[load,peer]}" "<=" 2
row "stats: sb_banks read time, $(n_fmt "$STATS")-item / 10-item bank" "${R[stats,sb]}" "-" "<=" 1.5
row "dispenser: sb_next(d) / nextval(s)" "${R[next,sb]}" "-" ">=" 1.0
row "dispenser: sb_next(d, 100) calls / sb_next(d) calls" "${R[next100,sb]}" "-" ">=" 0.9
row "memory: backend after $(n_fmt "$MEM") fetches / after $(n_fmt "$MEM_FIRST")" "${R[mem,sb]}" "${R[mem,peer]}" "<=" 1.1
echo
echo "Fetch banks: $(n_fmt "$BANK") items; pgbench -n -M prepared -j 2, -T $T s per run; 8 clients unless stated."
for d in "${DRY[@]+"${DRY[@]}"}"; do echo "WARNING: $d ran its bank dry: that figure measured sold-out answers."; done
say "done in $(( $(date +%s) - START_TS )) s"

if [ -s "$FAILS" ]; then
	echo "FAILED pgbench runs:" >&2
	sed 's/^/  /' "$FAILS" >&2
	exit 2
fi
[ "$MODE" = smoke ] && exit 0
exit $MISSED
