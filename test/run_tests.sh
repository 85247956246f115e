#!/bin/bash
# Run the test tiers of storagebox against a throwaway server of one
# PostgreSQL version, for both flavours (C: storagebox, SQL: storagebox_sql).
#
#   test/run_tests.sh [--pg VERSION] [--tiers LIST] [--flavours LIST]
#                     [--counts FILE] [NAME=VALUE...]
#
#   --pg VERSION    the Debian installation /usr/lib/postgresql/VERSION
#                   (default 15, Debian 12's); tools/install_deps.sh
#                   installs it and the rest if missing
#   PG_CONFIG=PATH  instead of --pg: the pg_config of any installation
#                   (nothing is installed with apt then, unless it is a
#                   Debian one); PG_BINDIR=DIR means PG_CONFIG=DIR/pg_config
#   --tiers LIST    comma-separated, default all:
#                     regress    pg_regress (test/sql)
#                     isolation  the isolation specs (test/specs)
#                     tap        TAP (test/t; PROVE_TESTS=FILES picks some,
#                                and a file that does not exist is left out)
#                     citus      the Citus TAP tests (test/citus), skipped
#                                where Citus is not installed
#                     checks     the flavours' catalogs agree
#                                (test/flavours/compare.sh), the pg_tle
#                                file carries the scripts (make check_dist),
#                                META.json's versions (test/meta_version.sh),
#                                released scripts unchanged (make
#                                check_released)
#                     bench      a smoke run of bench/run.sh and bench/burst.sh
#                     examples   the HTTP examples (examples/run_tests.sh;
#                                needs node 18 or later and npm), over the
#                                first flavour of --flavours
#   --flavours LIST c,sql (default both) for regress, isolation, tap, citus
#   --counts FILE   also write the counts there, one line a tier (the
#                   format test/summary.sh reads); the closing line then
#                   names the version, and a driver (.ci/run) sums the parts
#   SB_DESTDIR=DIR  install into DIR (make install DESTDIR=DIR) and run the
#                   copy of the installation there, made by copying the
#                   installation's directories when missing: the system's
#                   installation is left as it is
#   SB_TEST_PORT=N  the throwaway server's port (default 5497); it listens
#                   on a Unix socket in its own directory only
#
# It builds the extension (warnings are errors) and installs it, starts the
# server, runs the tiers, and ends with a table of version x tier x
# passed/failed/skipped and one line "N passed, N failed" (", N skipped"
# follows when a test does not apply); exits non-zero on any failure.
# pg_regress's two output formats are counted: "test name ... ok" (15) and
# "ok 1 - name" / "not ok 1 - name" (16 and later).
# Run it as root or as a user with sudo.  As root, the tests run as the
# "postgres" user on a copy of the tree (PostgreSQL refuses to run as root).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

usage() { sed -n '2,44p' "$0" | sed 's/^# \{0,1\}//'; }

pg="" tiers="all" flavours="c sql" counts_out=""
while [ $# -gt 0 ]; do
    case $1 in
        --pg) pg=${2:?--pg needs a version}; shift ;;
        --pg=*) pg=${1#--pg=} ;;
        --tiers) tiers=${2:?--tiers needs a list}; shift ;;
        --tiers=*) tiers=${1#--tiers=} ;;
        --flavours) flavours=${2:?--flavours needs a list}; shift ;;
        --flavours=*) flavours=${1#--flavours=} ;;
        --counts) counts_out=${2:?--counts needs a file}; shift ;;
        --counts=*) counts_out=${1#--counts=} ;;
        PG_CONFIG=*|PG_BINDIR=*|PROVE_TESTS=*|SB_DESTDIR=*|SB_TEST_PORT=*) export "${1?}" ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run_tests.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
[ "$tiers" = all ] && tiers="regress,isolation,tap,citus,checks,bench,examples"
tiers=",$tiers,"
flavours=${flavours//,/ }
want() { [[ $tiers == *",$1,"* ]]; }

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

# Which installation: --pg, PG_CONFIG, PG_BINDIR, or Debian 12's 15.
if [ -n "$pg" ]; then
    PG_CONFIG=/usr/lib/postgresql/$pg/bin/pg_config
elif [ -z "${PG_CONFIG:-}" ] && [ -n "${PG_BINDIR:-}" ]; then
    PG_CONFIG=$PG_BINDIR/pg_config
elif [ -z "${PG_CONFIG:-}" ]; then
    pg=15; PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
fi
# a pg_config on the PATH (Debian's /usr/bin/pg_config picks the newest
# version) stands for the one in its installation's bindir
if [[ $PG_CONFIG != */* ]] && command -v "$PG_CONFIG" >/dev/null; then
    PG_CONFIG=$("$PG_CONFIG" --bindir)/pg_config
fi
if [[ $PG_CONFIG =~ ^/usr/lib/postgresql/([0-9]+)/bin/pg_config$ ]]; then
    pg=${BASH_REMATCH[1]}
    tools/install_deps.sh "$pg" || { echo "0 passed, 1 failed"; exit 1; }
fi
[ -x "$PG_CONFIG" ] || { echo "run_tests.sh: $PG_CONFIG not found" >&2; echo "0 passed, 1 failed"; exit 1; }
version=$("$PG_CONFIG" --version | awk '{ print $2 }')

# The tests run the installation's own programs, or their copy in SB_DESTDIR.
destdir=${SB_DESTDIR:-}
bindir=$("$PG_CONFIG" --bindir)
if [ -n "$destdir" ] && [ ! -x "$destdir$bindir/postgres" ]; then
    for d in "$(dirname "$bindir")" "$("$PG_CONFIG" --sharedir)"; do
        $SUDO mkdir -p "$destdir$(dirname "$d")"
        $SUDO cp -a "$d" "$destdir$(dirname "$d")/"
    done
fi
PG_BINDIR=$destdir$bindir
export PATH="$PG_BINDIR:$PATH"

# Counts by tier: passed, failed, skipped, seconds, flavours.
declare -A P F S T FL
tier_names=()
count() {   # tier flavour passed failed skipped
    [ -z "${P[$1]+x}" ] && { tier_names+=("$1"); P[$1]=0; F[$1]=0; S[$1]=0; T[$1]=0; FL[$1]=""; }
    P[$1]=$((P[$1] + $3)); F[$1]=$((F[$1] + $4)); S[$1]=$((S[$1] + $5))
    [ "$2" != - ] && [[ "+${FL[$1]}+" != *"+$2+"* ]] && FL[$1]=${FL[$1]:+${FL[$1]}+}$2
    return 0
}
timed() { T[$1]=$((T[$1] + $2)); }

failed_any=0
work=$(mktemp -d /tmp/storagebox-test.XXXXXX)
counts_file=${counts_out:-$work/counts}

summary() {
    local t
    : > "$counts_file"
    for t in "${tier_names[@]}"; do
        printf '%s\t%s\t%s\t%d\t%d\t%d\t%d\n' "$version" "$t" "${FL[$t]:--}" \
            "${P[$t]}" "${F[$t]}" "${S[$t]}" "${T[$t]}" >> "$counts_file"
        [ "${F[$t]}" -gt 0 ] && failed_any=1
    done
    if [ "$failed_any" -gt 0 ] || [ -n "${SB_KEEP_TEST_DIR:-}" ]; then
        echo "test files kept in $work"
    fi
    if [ -n "$counts_out" ]; then
        test/summary.sh --part "PostgreSQL $version" "$counts_file"
    else
        test/summary.sh "$counts_file"
    fi
}

SECONDS=0
make -s clean PG_CONFIG="$PG_CONFIG" >/dev/null
# Scripts of storagebox left in the installation by an earlier make install
# of another tree (a full script of a version this tree builds by upgrades)
# would give CREATE EXTENSION another path: the tests install into a clean
# set of this tree's scripts.
$SUDO rm -f "$destdir$("$PG_CONFIG" --sharedir)"/extension/storagebox*.sql \
    "$destdir$("$PG_CONFIG" --sharedir)"/extension/storagebox*.control
if ! make -s PG_CONFIG="$PG_CONFIG" >"$work/build.log" 2>&1 \
        || ! $SUDO make -s install PG_CONFIG="$PG_CONFIG" ${destdir:+DESTDIR="$destdir"} >>"$work/build.log" 2>&1; then
    cat "$work/build.log"
    echo "build failed"
    count build - 0 1 0; timed build $SECONDS
    summary
    exit 1
fi
grep -v '^wrote dist/' "$work/build.log"
echo "build (PostgreSQL $version, warnings are errors): ok"
count build - 1 0 0; timed build $SECONDS

if [ "$(id -u)" -eq 0 ]; then
    cp -a "$top" "$work/src"
    chown -R postgres "$work"
    as_tester() { su postgres -s /bin/bash -c "$1"; }
else
    ln -s "$top" "$work/src"
    as_tester() { bash -c "$1"; }
fi
port=${SB_TEST_PORT:-5497}
tools/throwaway_pg.sh start "$work/pg" "$port"
# The work directory (a copy of the tree, the server, the TAP clusters:
# about 600 MB) is removed at the end unless something failed or
# SB_KEEP_TEST_DIR is set; its path is then printed before the summary.
finish() {
    tools/throwaway_pg.sh stop "$work/pg"
    if [ "$failed_any" -eq 0 ] && [ -z "${SB_KEEP_TEST_DIR:-}" ]; then
        rm -rf "$work"
    fi
}
trap finish EXIT

env="cd '$work/src' && export PATH='$PATH' PG_CONFIG='$PG_BINDIR/pg_config' PGHOST='$work/pg' PGPORT=$port PGUSER=postgres"

# pg_regress and the isolation tester: 15 prints "test name ... ok" or
# "... FAILED" a test, 16 and later "ok 1 - name" or "not ok 1 - name"
# ("+" instead of "-" in a parallel group).
count_pg_regress() {   # log status tier flavour
    local ok bad
    ok=$(grep -cE '\.\.\. +ok|^ok [0-9]+ +[-+] ' "$1")
    bad=$(grep -cE '\.\.\. +FAILED|\.\.\. +failed|^not ok [0-9]+ +[-+] ' "$1")
    [ "$2" -ne 0 ] && [ "$bad" -eq 0 ] && bad=1
    count "$3" "$4" "$ok" "$bad" 0
    echo "$3 ($4): $ok passed, $bad failed"
}

# TAP: one assertion a line "ok N" / "not ok N" in prove's verbose output.
# A test file that does not apply says "skipped:" (one skip), an assertion
# skipped inside a file says "ok N # skip".
# A known bug marked TODO fails as "not ok N # TODO ...": it is counted
# with the skipped (and named), not as passed.
count_tap() {   # log status tier flavour
    local skip_one skip_file ok bad todo
    skip_one=$(grep -cE '^\s*ok [0-9]+ # skip' "$1")
    skip_file=$(grep -cE '\.\. skipped:' "$1")
    todo=$(grep -cE '^\s*not ok [0-9]+.*# TODO' "$1")
    ok=$(( $(grep -cE '^\s*ok [0-9]+' "$1") - skip_one ))
    bad=$(( $(grep -cE '^\s*not ok [0-9]+' "$1") - todo ))
    [ "$2" -ne 0 ] && [ "$bad" -eq 0 ] && bad=1
    count "$3" "$4" "$ok" "$bad" $((skip_one + skip_file + todo))
    echo "$3 ($4): $ok passed, $bad failed, $((skip_one + skip_file + todo)) skipped$([ "$todo" -gt 0 ] && echo " ($todo of them known bugs marked TODO)")"
}

# PROVE_TESTS, less the files that do not exist (a test being written).
prove_tests=""
if [ -n "${PROVE_TESTS:-}" ]; then
    for f in $PROVE_TESTS; do
        if [ -e "$f" ]; then prove_tests="$prove_tests $f"; else echo "PROVE_TESTS: $f does not exist, left out"; fi
    done
    prove_tests=${prove_tests# }
fi

for flavour in $flavours; do
    if want regress; then
        SECONDS=0
        as_tester "$env && make installcheck FLAVOR=$flavour ISOLATION=" >"$work/regress.log" 2>&1
        rc=$?; cat "$work/regress.log"; count_pg_regress "$work/regress.log" $rc regress "$flavour"
        [ $rc -ne 0 ] && [ -f "$work/src/regression.diffs" ] && cat "$work/src/regression.diffs"
        timed regress $SECONDS
    fi

    if want isolation; then
        SECONDS=0
        as_tester "$env && make installcheck FLAVOR=$flavour REGRESS=" >"$work/isolation.log" 2>&1
        rc=$?; cat "$work/isolation.log"; count_pg_regress "$work/isolation.log" $rc isolation "$flavour"
        [ $rc -ne 0 ] && [ -f "$work/src/output_iso/regression.diffs" ] && cat "$work/src/output_iso/regression.diffs"
        timed isolation $SECONDS
    fi

    if want tap && { [ -z "${PROVE_TESTS:-}" ] || [ -n "$prove_tests" ]; }; then
        SECONDS=0
        as_tester "$env && unset PGHOST PGPORT && make prove_installcheck FLAVOR=$flavour PROVE_FLAGS=-v PROVE_TESTS='$prove_tests'" >"$work/tap.log" 2>&1
        rc=$?; cat "$work/tap.log"
        count_tap "$work/tap.log" $rc tap "$flavour"
        timed tap $SECONDS
    fi

    # The Citus tests (test/citus): each file starts its own coordinator and
    # two workers, and is skipped, and counted as skipped, where Citus is not
    # installed.
    if want citus; then
        SECONDS=0
        as_tester "$env && unset PGHOST PGPORT && make prove_citus FLAVOR=$flavour PROVE_FLAGS=-v PROVE_TESTS=" >"$work/citus.log" 2>&1
        rc=$?; cat "$work/citus.log"
        count_tap "$work/citus.log" $rc citus "$flavour"
        timed citus $SECONDS
    fi
done

# one check each: the flavours' catalogs agree; the pg_tle file carries the
# SQL flavour's scripts byte for byte; META.json's versions are the control
# files'; the released scripts are unchanged (sql/released.sha256)
if want checks; then
    SECONDS=0
    for check in "test/flavours/compare.sh" "make -s check_dist" "test/meta_version.sh" "make -s check_released"; do
        if as_tester "$env && $check" >"$work/check.log" 2>&1; then
            count checks - 1 0 0; tail -1 "$work/check.log"; echo "$check: ok"
        else
            count checks - 0 1 0; cat "$work/check.log"; echo "$check: FAILED"
        fi
    done
    timed checks $SECONDS
fi

if want bench && [ -x bench/run.sh ]; then
    SECONDS=0
    if as_tester "$env && bench/run.sh --smoke --existing" >"$work/bench.log" 2>&1; then
        count bench - 1 0 0; echo "bench smoke: ok"
    else
        count bench - 0 1 0; cat "$work/bench.log"; echo "bench smoke: FAILED"
    fi
    timed bench $SECONDS
fi
# the burst benchmark: both flavours, the peer and the references run in
# both shapes, and no round hangs
if want bench && [ -x bench/burst.sh ]; then
    SECONDS=0
    if as_tester "$env && bench/burst.sh --smoke --existing" >"$work/burst.log" 2>&1; then
        count bench - 1 0 0; echo "burst bench smoke: ok"
    else
        count bench - 0 1 0; cat "$work/burst.log"; echo "burst bench smoke: FAILED"
    fi
    timed bench $SECONDS
fi

# the HTTP examples (examples/run_tests.sh: 3 copies of each service driven
# over HTTP, TAP), over the first flavour of --flavours (the C flavour by
# default; `examples/run_tests.sh sql` runs them over the SQL flavour)
if want examples; then
    for flavour in ${flavours%% *}; do
        SECONDS=0
        as_tester "$env && examples/run_tests.sh $flavour" >"$work/examples.log" 2>&1
        rc=$?; cat "$work/examples.log"
        count_tap "$work/examples.log" $rc examples "$flavour"
        timed examples $SECONDS
    done
fi

summary
[ "$failed_any" -eq 0 ]
