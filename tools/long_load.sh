#!/bin/sh
# long_load.sh: the long variants of the reliability tests (issue 5).
#
#   tools/long_load.sh            1,000,000 fetch calls, 10 crash loops
#   SB_LOAD_CALLS=5000000 SB_CRASH_LOOPS=50 tools/long_load.sh
#
# Runs test/t/010_load_checker.pl (SB_LOAD_CALLS fetch calls from
# SB_LOAD_CLIENTS sessions), 020_crash.pl and 021_crash_dispenser.pl
# (SB_CRASH_LOOPS times a stop('immediate') and a SIGKILL of the postmaster,
# SB_CRASH_CALLS fetch calls / SB_CRASH_NUMBER_CALLS sb_next calls per
# phase) through "make prove_installcheck".  Install the extension first
# (make install).  TAP tests refuse to run as root: as root this runs them
# as $SB_TEST_USER (default postgres), which must be able to write the
# source tree.  Each test prints its figures (counts, violations=N) as a
# "#" line.
set -eu

cd "$(dirname "$0")/.."

SB_LOAD_CALLS=${SB_LOAD_CALLS:-1000000}
SB_LOAD_CLIENTS=${SB_LOAD_CLIENTS:-16}
SB_CRASH_LOOPS=${SB_CRASH_LOOPS:-10}
SB_CRASH_CALLS=${SB_CRASH_CALLS:-100000}
SB_CRASH_NUMBER_CALLS=${SB_CRASH_NUMBER_CALLS:-30000}
TESTS=${TESTS:-"test/t/010_load_checker.pl test/t/020_crash.pl test/t/021_crash_dispenser.pl"}
export SB_LOAD_CALLS SB_LOAD_CLIENTS SB_CRASH_LOOPS SB_CRASH_CALLS SB_CRASH_NUMBER_CALLS

cmd="make prove_installcheck PROVE_TESTS='$TESTS' PROVE_FLAGS=-v"
echo "long_load: calls=$SB_LOAD_CALLS clients=$SB_LOAD_CLIENTS crash_loops=$SB_CRASH_LOOPS crash_calls=$SB_CRASH_CALLS"
if [ "$(id -u)" = 0 ]; then
	user=${SB_TEST_USER:-postgres}
	chown -R "$user" tmp_check 2>/dev/null || true
	exec su "$user" -c "cd '$(pwd)' && SB_LOAD_CALLS=$SB_LOAD_CALLS SB_LOAD_CLIENTS=$SB_LOAD_CLIENTS SB_CRASH_LOOPS=$SB_CRASH_LOOPS SB_CRASH_CALLS=$SB_CRASH_CALLS SB_CRASH_NUMBER_CALLS=$SB_CRASH_NUMBER_CALLS $cmd"
fi
eval "$cmd"
