#!/bin/sh
# Print the table of one or more test runs, version x tier, and the line
# that sums them: "N passed, N failed" (", N skipped" follows when a test
# was skipped).  Exits 1 when a test failed, or when there is no count.
#
#   test/summary.sh [--part LABEL] COUNTS_FILE...
#
# A counts file has one line a tier, tab-separated: version, tier, the
# flavours it ran ("c+sql", or "-" where that does not apply), passed,
# failed, skipped, seconds.  test/run_tests.sh --counts writes one.  With
# --part, the closing line is "LABEL, this part: N passed, N failed", for a
# run whose sum is not the last word (.ci/run sums the parts).
set -eu
part=""
if [ "${1:-}" = --part ]; then part=$2; shift 2; fi
cat "$@" 2>/dev/null | awk -F '\t' -v part="$part" '
    NF >= 7 {
        if (!header++)
            printf "%-12s %-10s %-8s %7s %7s %8s %7s\n", "version", "tier", "flavours", "passed", "failed", "skipped", "time"
        printf "%-12s %-10s %-8s %7d %7d %8d %6ds\n", $1, $2, $3, $4, $5, $6, $7
        p += $4; f += $5; s += $6
    }
    END {
        if (!header) { f = 1; print "no test ran" }
        line = p " passed, " f " failed" (s > 0 ? ", " s " skipped" : "")
        print (part != "" ? part ", this part: " : "") line
        exit (f > 0)
    }'
