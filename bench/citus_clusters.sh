# bench/citus_clusters.sh: sourced by bench/citus.sh and
# bench/citus_layout.sh.  Starts, from the PostgreSQL of $B (which must
# have Citus), a plain server on port 5660 and a Citus cluster
# (tools/citus_cluster.sh: coordinator on 5661, workers on 5662 and 5663)
# in a fresh directory $work, and stops and removes both when the script
# exits.  Needs TOP and B; defines work and as_owner.

"$TOP/tools/citus_cluster.sh" available || { echo "Citus is not installed in $B/.." >&2; exit 2; }
work=$(mktemp -d /tmp/sb_citus_bench.XXXXXX)
chmod 755 "$work"
[ "$(id -u)" -eq 0 ] && chown postgres "$work"
as_owner() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/bash -c "$1"; else bash -c "$1"; fi; }
cleanup() {
	as_owner "'$B/pg_ctl' -D '$work/plain' -m fast -w stop" >/dev/null 2>&1 || true
	"$TOP/tools/citus_cluster.sh" stop "$work/citus" || true
	rm -rf "$work"
}
trap cleanup EXIT

as_owner "'$B/initdb' -D '$work/plain' -A trust -U postgres >/dev/null && \
	'$B/pg_ctl' -D '$work/plain' -l '$work/plain.log' -w \
	-o \"-p 5660 -c listen_addresses=127.0.0.1 -k '$work' -c max_connections=200\" start >/dev/null"
"$TOP/tools/citus_cluster.sh" start "$work/citus" 5661
