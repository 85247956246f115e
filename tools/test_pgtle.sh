#!/bin/bash
# test_pgtle.sh - install the SQL flavour of storagebox through a real pg_tle
# and test it there: the way it is installed on Amazon RDS and Aurora.
#
# Usage:
#   tools/test_pgtle.sh [SRC]
#     SRC   tree holding storagebox_sql.control and its scripts in
#           sql/storagebox_sql/ (or, in trees before 2.0, in sql/)
#           (default: this checkout).  It is copied, never written to.
#   Env:  PG_BINDIR    PostgreSQL with pg_tle installed
#                      (default /opt/pgtle/usr/lib/postgresql/15/bin)
#         PGTLE_PORT   port of the throwaway server (default 5521)
#         PGTLE_SUITE  0 to stop after the smoke check (default 1: also run
#                      "make installcheck FLAVOR=sql" when SRC's Makefile has it)
#         SB_EXT       extension name (default storagebox_sql)
#   Exit status: 0 passed, or skipped (one line "skipped: ..."), 1 failed.
#   It is local only: CI has no pg_tle (Debian does not package it), so it
#   skips there.  Install pg_tle (its own instructions say how) into a
#   private copy of PostgreSQL; the system PostgreSQL must stay without
#   pg_tle.  The last run was with pg_tle 1.5.3 on PostgreSQL 15.20.
#
# What it does, on a throwaway cluster (initdb in a temp dir, Unix socket
# only, shared_preload_libraries = 'pg_tle', run as "postgres" when invoked
# as root):
#   1. writes the install file with tools/make_pgtle_dist.sh and proves its
#      bodies with tools/check_pgtle_dist.sh;
#   2. CREATE EXTENSION pg_tle, creates a role "sb_tle_admin" (LOGIN, not a
#      superuser) granted pgtle_admin, and runs the install file as that role
#      in template1 and in template0 (opened for the purpose: pg_regress
#      creates its databases from template0), so every new database has the
#      extension available through pg_tle, as on RDS after the install step;
#   3. smoke check in a new database, as sb_tle_admin (given CREATE on the
#      database and on schema public, which the script needs):
#      CREATE EXTENSION, each stored body compared with its script (md5),
#      a bank (fetch, repeat, sold out, an application role that may fetch
#      but not read the items) and a dispenser (sb_next, a batch, the wrap);
#   4. the project's pg_regress and isolation suites for the SQL flavour
#      against this server, if SRC's Makefile knows FLAVOR=sql.
# pg_tle refuses an extension whose control file is on disk, so the
# PostgreSQL under PG_BINDIR must not have SB_EXT.control installed.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
src=$(cd "${1:-$top}" && pwd)
ext=${SB_EXT:-storagebox_sql}
bindir=${PG_BINDIR:-/opt/pgtle/usr/lib/postgresql/15/bin}
port=${PGTLE_PORT:-5521}
suite=${PGTLE_SUITE:-1}
admin=sb_tle_admin

skip() { echo "skipped: $*"; exit 0; }
fail() { echo "FAILED: $*"; exit 1; }
step() { echo "== $*"; }

[ -x "$bindir/pg_config" ] && [ -x "$bindir/postgres" ] || skip "pg_tle not installed (no PostgreSQL at $bindir)"
sharedir=$("$bindir/pg_config" --sharedir)
pkglibdir=$("$bindir/pg_config" --pkglibdir)
[ -f "$sharedir/extension/pg_tle.control" ] && [ -f "$pkglibdir/pg_tle.so" ] \
    || skip "pg_tle not installed in $sharedir"
[ -f "$sharedir/extension/$ext.control" ] \
    && fail "$sharedir/extension/$ext.control exists: pg_tle refuses an extension that has a control file on disk"
[ -f "$src/$ext.control" ] || fail "no $ext.control in $src: the SQL flavour is not there"

# The server runs as "postgres" when we are root; the clients run as we are.
if [ "$(id -u)" -eq 0 ]; then
    as_owner() { su postgres -s /bin/bash -c "$1"; }
else
    as_owner() { bash -c "$1"; }
fi
work=$(mktemp -d /tmp/test_pgtle.XXXXXX)
cleanup() {
    as_owner "'$bindir/pg_ctl' -D '$work/data' -m immediate -w stop" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
[ "$(id -u)" -eq 0 ] && chown postgres "$work"

step "copy of $src ($(git -C "$src" log --oneline -1 2>/dev/null || echo 'not a git tree'))"
mkdir "$work/src"
tar -C "$src" --exclude=.git --exclude=tmp_check --exclude=results --exclude=output_iso -cf - . | tar -C "$work/src" -xf -
[ "$(id -u)" -eq 0 ] && chown -R postgres "$work/src"
scripts=$work/src/sql/$ext
[ -d "$scripts" ] || scripts=$work/src/sql
if ! compgen -G "$scripts/$ext--*.sql" >/dev/null; then
    make -s -C "$work/src" FLAVOR=sql PG_CONFIG="$bindir/pg_config" >/dev/null \
        || fail "no $ext--*.sql in $scripts and make FLAVOR=sql did not produce them"
fi

step "install file"
dist="$work/$ext--pgtle.sql"
"$top/tools/make_pgtle_dist.sh" "$ext" "$work/src/$ext.control" "$scripts" "$dist"
"$top/tools/check_pgtle_dist.sh" "$dist" "$ext" "$scripts" || fail "install file bodies differ from the scripts"

step "server: $("$bindir/postgres" --version), pg_tle $(sed -n "s/^default_version = '\(.*\)'/\1/p" "$sharedir/extension/pg_tle.control"), port $port"
as_owner "'$bindir/initdb' -D '$work/data' -A trust -U postgres >'$work/initdb.log' 2>&1" \
    || { cat "$work/initdb.log"; fail "initdb"; }
as_owner "'$bindir/pg_ctl' -D '$work/data' -l '$work/server.log' -w -o \"-p $port -k '$work' -c listen_addresses='' -c shared_preload_libraries=pg_tle\" start >/dev/null" \
    || { cat "$work/server.log"; fail "server start"; }

psql_as() {   # ROLE DB [psql args...]
    local role=$1 db=$2; shift 2
    "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p "$port" -U "$role" -d "$db" "$@"
}

step "pg_tle and the install file, as $admin (member of pgtle_admin, not a superuser)"
psql_as postgres postgres <<EOF
CREATE ROLE $admin LOGIN;
ALTER DATABASE template0 WITH ALLOW_CONNECTIONS true;
EOF
for db in template1 template0; do
    psql_as postgres "$db" -c "CREATE EXTENSION pg_tle"
    # pgtle_admin is a cluster-wide role, made by the first CREATE EXTENSION pg_tle.
    [ "$db" = template1 ] && psql_as postgres "$db" -c "GRANT pgtle_admin TO $admin"
    psql_as "$admin" "$db" -f "$dist" >"$work/install-$db.log" 2>&1 \
        || { cat "$work/install-$db.log"; fail "install file in $db"; }
done
psql_as "$admin" template1 -f "$dist" >"$work/install-again.log" 2>&1 \
    || { cat "$work/install-again.log"; fail "install file run a second time"; }
echo "installed in template1 and template0; a second run in template1 passed"
psql_as postgres postgres -c "ALTER DATABASE template0 WITH ALLOW_CONNECTIONS false"

step "smoke check in database sb_smoke, as $admin"
psql_as postgres postgres <<EOF
CREATE DATABASE sb_smoke;
GRANT CREATE ON DATABASE sb_smoke TO $admin;
CREATE ROLE sb_tle_app LOGIN;
EOF
psql_as postgres sb_smoke -c "GRANT CREATE ON SCHEMA public TO $admin"
for f in "$scripts/$ext"--*.sql; do
    script=${f##*/}
    stored=$(psql_as postgres sb_smoke -Atc "SELECT pg_catalog.md5(pg_catalog.convert_to(pgtle.\"$script\"(), 'UTF8'))")
    want=$(md5sum <"$f" | cut -c1-32)
    [ "$stored" = "$want" ] || fail "pg_tle stores $script with md5 $stored, the file has $want"
    echo "stored body of $script is the file (md5 $want)"
done
psql_as "$admin" sb_smoke -At -v ext="$ext" 2>&1 <<'EOF'
CREATE EXTENSION :"ext";
SELECT 'created: ' || extname, extversion, extowner::regrole, extnamespace::regnamespace FROM pg_catalog.pg_extension WHERE extname = :'ext';
SELECT sb_create_bank('smoke'), sb_add_items('smoke', ARRAY['V-1', 'V-2']);
DO $smoke$
DECLARE
    a text := sb_fetch_item('smoke', 'u1');
    b text := sb_fetch_item('smoke', 'u1');
    c text := sb_fetch_item('smoke', 'u2');
    d text := sb_fetch_item('smoke', 'u3');
BEGIN
    RAISE NOTICE 'bank: u1 -> %, repeat -> %, u2 -> %, u3 -> % (sold out)', a, b, c, d;
    IF a IS NULL OR b IS DISTINCT FROM a OR c IS NULL OR c = a OR d IS NOT NULL THEN
        RAISE EXCEPTION 'bank smoke check failed';
    END IF;
END
$smoke$;
SELECT sb_create_dispenser('smoke_tickets', 'forward', 1, 3);
DO $smoke$
DECLARE
    n1 bigint := sb_next('smoke_tickets');
    run bigint[] := sb_next('smoke_tickets', 2);
    n4 bigint := sb_next('smoke_tickets');
BEGIN
    RAISE NOTICE 'dispenser: % then % then % (wrapped)', n1, run, n4;
    IF n1 <> 1 OR run <> ARRAY[2, 3]::bigint[] OR n4 <> 1 THEN
        RAISE EXCEPTION 'dispenser smoke check failed';
    END IF;
END
$smoke$;
GRANT EXECUTE ON FUNCTION sb_fetch_item(text, text) TO sb_tle_app;
SELECT sb_create_bank('app_bank'), sb_add_items('app_bank', ARRAY['A-1']);
EOF
psql_as sb_tle_app sb_smoke -Atc "SELECT 'app fetch: ' || sb_fetch_item('app_bank', 'app-user')"
if psql_as sb_tle_app sb_smoke -Atc "SELECT count(*) FROM storagebox_data.item" >/dev/null 2>&1; then
    fail "the application role can read storagebox_data.item"
fi
echo "the application role cannot read storagebox_data.item"
echo "smoke check passed"

[ "$suite" = 1 ] || { echo "suite not run (PGTLE_SUITE=$suite)"; exit 0; }
if ! grep -qs 'FLAVOR' "$work/src/Makefile"; then
    echo "suite not run: $src's Makefile has no FLAVOR=sql"
    exit 0
fi
step "make installcheck FLAVOR=sql (pg_regress and isolation) against this server"
rc=0
as_owner "cd '$work/src' && PATH='$bindir':\$PATH PGHOST='$work' PGPORT=$port PGUSER=postgres \
    make installcheck FLAVOR=sql PG_CONFIG='$bindir/pg_config'" >"$work/suite.log" 2>&1 || rc=$?
cat "$work/suite.log"
if [ $rc -ne 0 ]; then
    [ -f "$work/src/regression.diffs" ] && cat "$work/src/regression.diffs"
    [ -f "$work/src/output_iso/regression.diffs" ] && cat "$work/src/output_iso/regression.diffs"
    fail "make installcheck FLAVOR=sql through pg_tle"
fi
echo "suite passed through pg_tle"
