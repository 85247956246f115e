#!/bin/bash
# check_pgtle_dist.sh - prove that the pg_tle install file carries every
# script of the extension byte for byte, without pg_tle or a server.
#
# Usage:
#   tools/check_pgtle_dist.sh DIST EXTNAME SCRIPTDIR
#     DIST       the file tools/make_pgtle_dist.sh wrote
#     EXTNAME    the extension name, e.g. storagebox_sql
#     SCRIPTDIR  the directory with EXTNAME--*.sql
#   Prints one line per body ("ok" or "FAIL", the script, the pg_tle call)
#   and a last line with the totals.  Exit status: 0 when every body equals
#   its script and every script has a body, 1 otherwise, 2 on usage errors.
#
# Why: the issue asks that the extension body installed through pg_tle be
# byte-identical to the SQL flavour's script, and CI has no pg_tle to ask.
#
# How: the body is read back the way PostgreSQL's lexer reads a dollar-quoted
# literal.  make_pgtle_dist.sh writes each body as
#     -- body: EXTNAME--V.sql
#     SELECT pgtle.install_extension('EXTNAME', 'V', ...,
#     $tag$<the script's bytes>$tag$, ...
# so after each "-- body:" line comes the call line, then the opening tag at
# the start of the next line, and the literal ends at the first later
# occurrence of that same tag.  Each body is written to a scratch file and
# compared with cmp.  Also checked: the call's name and versions match the
# script's file name (install_extension or install_extension_version_sql
# for EXTNAME--V.sql, install_update_path for EXTNAME--A--B.sql), no body
# holds pg_tle's reserved delimiters, and no pgtle.install_* call in DIST
# lacks a "-- body:" line.
set -euo pipefail

[ $# -eq 3 ] || { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; }
dist=$1 ext=$2 scriptdir=$3
[ -f "$dist" ] || { echo "check_pgtle_dist.sh: no such file: $dist" >&2; exit 2; }
[ -d "$scriptdir" ] || { echo "check_pgtle_dist.sh: no such directory: $scriptdir" >&2; exit 2; }

work=$(mktemp -d /tmp/check_pgtle_dist.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Split DIST into bodies: one file per body in $work/bodies, and a manifest
# line per body: SCRIPT <tab> CALL <tab> ARGS-CHECK ("ok" or a reason).
mkdir "$work/bodies"
perl -e '
    use strict; use warnings;
    my ($dist, $ext, $out) = @ARGV;
    open(my $fh, "<:raw", $dist) or die "cannot read $dist: $!\n";
    my $text = do { local $/; <$fh> };
    my $rest = "";          # DIST with the bodies cut out
    my $nbodies = 0;
    while ($text =~ /\G(.*?)^-- body: ([^\n]*)\n/gcms) {
        $rest .= $1;
        my $script = $2;
        my $reason = "ok";
        my $call = "?";
        unless ($text =~ /\G(SELECT pgtle\.(install_extension|install_extension_version_sql|install_update_path)\(([^\n]*),)\n(\$[A-Za-z_][A-Za-z0-9_]*\$)/gc) {
            print STDERR "check_pgtle_dist.sh: the call after \"-- body: $script\" is not in the expected layout\n";
            exit 1;
        }
        my ($line, $args, $tag) = ($1, $3, $4);
        $call = $2;
        $rest .= $line;
        my $start = pos($text);
        my $end = index($text, $tag, $start);
        if ($end < 0) {
            print STDERR "check_pgtle_dist.sh: the body of $script has no closing $tag\n";
            exit 1;
        }
        my $body = substr($text, $start, $end - $start);
        pos($text) = $end + length($tag);
        die "bad script name $script\n" if $script =~ m{[/\0]} || $script eq "" || $script =~ /^\./;
        open(my $bf, ">:raw", "$out/$script") or die "cannot write $out/$script: $!\n";
        print $bf $body;
        close($bf);
        # The quoted arguments before the body: name and version(s).
        my @lits;
        while ($args =~ /\G\s*\x27((?:[^\x27]|\x27\x27)*)\x27\s*(,|$)/gc) {
            (my $v = $1) =~ s/\x27\x27/\x27/g;
            push @lits, $v;
        }
        my $want;
        if ($call eq "install_update_path") {
            $want = @lits >= 3 ? "$lits[0]--$lits[1]--$lits[2].sql" : undef;
        } else {
            $want = @lits >= 2 ? "$lits[0]--$lits[1].sql" : undef;
        }
        if (!defined $want) {
            $reason = "cannot read the name and version arguments of the call";
        } elsif ($want ne $script || $lits[0] ne $ext) {
            $reason = "the call installs $want";
        } elsif ($body =~ /\$_pgtle_[oi]_\$/) {
            $reason = "the body contains a pg_tle reserved delimiter";
        }
        print "$script\t$call\t$reason\n";
        $nbodies++;
    }
    $rest .= substr($text, pos($text) // 0);
    my $calls = () = $rest =~ /pgtle\.install_(?:extension|extension_version_sql|update_path)\s*\(/g;
    if ($calls != $nbodies) {
        print STDERR "check_pgtle_dist.sh: $calls pgtle.install_* calls but $nbodies \"-- body:\" lines\n";
        exit 1;
    }
' "$dist" "$ext" "$work/bodies" >"$work/manifest" || { echo "check_pgtle_dist.sh: cannot parse $dist" >&2; exit 1; }

ok=0 failed=0
while IFS=$'\t' read -r script call reason; do
    file="$scriptdir/$script"
    if [ "$reason" != ok ]; then
        echo "FAIL $script ($call): $reason"; failed=$((failed + 1))
    elif [ ! -f "$file" ]; then
        echo "FAIL $script ($call): no such script in $scriptdir"; failed=$((failed + 1))
    elif diff=$(cmp -- "$work/bodies/$script" "$file" 2>&1); then
        echo "ok   $script ($call): $(wc -c <"$file") bytes identical"; ok=$((ok + 1))
    else
        echo "FAIL $script ($call): body differs from the script: $diff"; failed=$((failed + 1))
    fi
done <"$work/manifest"

# Every script must have a body, and only one.
shopt -s nullglob
for file in "$scriptdir/$ext"--*.sql; do
    script=${file##*/}
    n=$(cut -f1 "$work/manifest" | grep -cxF -- "$script" || true)
    if [ "$n" -eq 0 ]; then
        echo "FAIL $script: no body in $dist"; failed=$((failed + 1))
    elif [ "$n" -gt 1 ]; then
        echo "FAIL $script: $n bodies in $dist"; failed=$((failed + 1))
    fi
done
[ -s "$work/manifest" ] || { echo "FAIL $dist: no bodies"; failed=$((failed + 1)); }

echo "$ok bodies identical, $failed failed"
[ "$failed" -eq 0 ]
