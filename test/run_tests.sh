#!/bin/bash
# Run every test tier of storagebox against a throwaway server, for both
# flavours (C: storagebox, SQL: storagebox_sql): pg_regress (test/sql),
# isolation specs (test/specs), TAP (test/t); the Citus TAP tests
# (test/citus, skipped where Citus is not installed); then the catalog comparison of
# the flavours (test/flavours/compare.sh), the check of the pg_tle install
# file (tools/check_pgtle_dist.sh) and a smoke run of the benchmark scripts
# (bench/run.sh --smoke).
# Installs what is missing (Debian 12), builds and installs the extension,
# and ends with one line "N passed, N failed" (", N skipped" follows when a
# test does not apply to a flavour); exits non-zero on any failure.
# Run it as root or as a user with sudo.  As root, the tests run as the
# "postgres" user on a copy of the tree (PostgreSQL refuses to run as root).
# PG_BINDIR (default /usr/lib/postgresql/15/bin) picks the PostgreSQL
# installation: its pg_config builds and installs the extension, and its
# server and clients run the tests.  SB_TEST_PORT (default 5497) is the
# throwaway server's port.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

tools/install_deps.sh || { echo "0 passed, 1 failed"; exit 1; }
PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
export PATH="$PG_BINDIR:$PATH"
PG_CONFIG="$PG_BINDIR/pg_config"
make -s clean PG_CONFIG="$PG_CONFIG" >/dev/null
if ! make -s PG_CONFIG="$PG_CONFIG" >/dev/null || ! $SUDO make -s install PG_CONFIG="$PG_CONFIG" >/dev/null; then
    echo "build failed"
    echo "0 passed, 1 failed"
    exit 1
fi

work=$(mktemp -d /tmp/storagebox-test.XXXXXX)
if [ "$(id -u)" -eq 0 ]; then
    cp -a "$top" "$work/src"
    chown -R postgres "$work"
    as_tester() { su postgres -s /bin/bash -c "$1"; }
else
    ln -s "$top" "$work/src"
    as_tester() { bash -c "$1"; }
fi
port=${SB_TEST_PORT:-5497}
tools/throwaway_pg.sh start "$work/pg" $port
# The work directory (a copy of the tree, the server, the TAP clusters:
# about 600 MB) is removed at the end unless something failed or
# SB_KEEP_TEST_DIR is set; its path is then printed before the summary.
failed=0
finish() {
    tools/throwaway_pg.sh stop "$work/pg"
    if [ "$failed" -eq 0 ] && [ -z "${SB_KEEP_TEST_DIR:-}" ]; then
        rm -rf "$work"
    fi
}
trap finish EXIT

env="cd '$work/src' && export PATH='$PATH' PGHOST='$work/pg' PGPORT=$port PGUSER=postgres"
passed=0
skipped=0

# pg_regress and the isolation tester print one "... ok" / "... FAILED" line a test.
count_pg_regress() {
    local ok bad
    ok=$(grep -cE '\.\.\. +ok' "$1")
    bad=$(grep -cE '\.\.\. +FAILED|\.\.\. +failed' "$1")
    passed=$((passed + ok)); failed=$((failed + bad))
    if [ "$2" -ne 0 ] && [ "$bad" -eq 0 ]; then failed=$((failed + 1)); fi
    echo "$3: $ok passed, $bad failed"
}

# TAP: one assertion a line "ok N" / "not ok N" in prove's verbose output.
# A test file that does not apply says "skipped:" (one skip), an assertion
# skipped inside a file says "ok N # skip".
count_tap() {
    local skip_one skip_file ok bad
    skip_one=$(grep -cE '^\s*ok [0-9]+ # skip' "$1")
    skip_file=$(grep -cE '\.\. skipped:' "$1")
    ok=$(( $(grep -cE '^\s*ok [0-9]+' "$1") - skip_one ))
    bad=$(grep -cE '^\s*not ok [0-9]+' "$1")
    passed=$((passed + ok)); failed=$((failed + bad)); skipped=$((skipped + skip_one + skip_file))
    [ "$2" -ne 0 ] && [ "$bad" -eq 0 ] && failed=$((failed + 1))
    echo "$3: $ok passed, $bad failed, $((skip_one + skip_file)) skipped"
}

for flavour in c sql; do
    as_tester "$env && make installcheck FLAVOR=$flavour ISOLATION=" >"$work/regress.log" 2>&1
    rc=$?; cat "$work/regress.log"; count_pg_regress "$work/regress.log" $rc "pg_regress ($flavour)"
    [ $rc -ne 0 ] && [ -f "$work/src/regression.diffs" ] && cat "$work/src/regression.diffs"

    as_tester "$env && make installcheck FLAVOR=$flavour REGRESS=" >"$work/isolation.log" 2>&1
    rc=$?; cat "$work/isolation.log"; count_pg_regress "$work/isolation.log" $rc "isolation ($flavour)"
    [ $rc -ne 0 ] && [ -f "$work/src/output_iso/regression.diffs" ] && cat "$work/src/output_iso/regression.diffs"

    as_tester "$env && unset PGHOST PGPORT && make prove_installcheck FLAVOR=$flavour PROVE_FLAGS=-v" >"$work/tap.log" 2>&1
    rc=$?; cat "$work/tap.log"
    count_tap "$work/tap.log" $rc "TAP ($flavour)"

    # The Citus tests (test/citus): each file starts its own coordinator and
    # two workers, and is skipped, and counted as skipped, where Citus is not
    # installed.
    as_tester "$env && unset PGHOST PGPORT && make prove_citus FLAVOR=$flavour PROVE_FLAGS=-v" >"$work/citus.log" 2>&1
    rc=$?; cat "$work/citus.log"
    count_tap "$work/citus.log" $rc "TAP Citus ($flavour)"
done

# one check each: the flavours' catalogs agree; the pg_tle file carries the
# SQL flavour's script byte for byte
for check in "test/flavours/compare.sh" "make -s check_dist"; do
    if as_tester "$env && $check" >"$work/check.log" 2>&1; then
        passed=$((passed + 1)); tail -1 "$work/check.log"; echo "$check: ok"
    else
        failed=$((failed + 1)); cat "$work/check.log"; echo "$check: FAILED"
    fi
done

if [ -x bench/run.sh ]; then
    if as_tester "$env && bench/run.sh --smoke --existing" >"$work/bench.log" 2>&1; then
        passed=$((passed + 1)); echo "bench smoke: ok"
    else
        failed=$((failed + 1)); cat "$work/bench.log"; echo "bench smoke: FAILED"
    fi
fi
# the burst benchmark (issue 24): both flavours, the peer and the references
# run in both shapes, and no round hangs
if [ -x bench/burst.sh ]; then
    if as_tester "$env && bench/burst.sh --smoke --existing" >"$work/burst.log" 2>&1; then
        passed=$((passed + 1)); echo "burst bench smoke: ok"
    else
        failed=$((failed + 1)); cat "$work/burst.log"; echo "burst bench smoke: FAILED"
    fi
fi

if [ "$failed" -gt 0 ] || [ -n "${SB_KEEP_TEST_DIR:-}" ]; then
    echo "test files kept in $work"
fi
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
