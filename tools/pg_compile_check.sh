#!/bin/bash
# pg_compile_check.sh - syntax-check a PostgreSQL C extension against several
# server header trees, with the flags PGXS would use for each version.
#
# Usage: pg_compile_check.sh SRCDIR [VERSION ...]     (default versions: 14 15 16 17)
#
#   SRCDIR    extension checkout; its C files are SRCDIR/src/*.c
#   VERSION   14, 16, 17 -> /opt/pgsrc/N (configured source tree, generated headers)
#             15         -> /usr/include/postgresql/15/server (Debian postgresql-server-dev-15)
#
# Env: PGSRC_ROOT (default /opt/pgsrc), CC (default gcc),
#      EXT_CFLAGS (default: the extension's PG_CFLAGS below).
# Per version prints "PG N: ok" or "PG N: FAILED" followed by the compiler output.
# Exit status: 0 if all versions pass, 1 if any fails, 2 on usage/setup errors.
# Writes nothing anywhere (gcc -fsyntax-only).
#
# Making a header tree for version N (what the README's claim rests on: the
# 14.23, 16.14 and 17.10 release commits of the REL_N_STABLE branches):
#   git archive <release commit> | tar -x -C /opt/pgsrc/N
#   cd /opt/pgsrc/N && ./configure --without-icu --without-readline \
#       --without-zlib --without-openssl && make -C src/backend generated-headers
# (needs bison and flex; CI does not do this, it builds and tests on 15 only).

set -u

PGSRC_ROOT=${PGSRC_ROOT:-/opt/pgsrc}
CC=${CC:-gcc}
EXT_CFLAGS=${EXT_CFLAGS:--Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror}

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
SRCDIR=$(cd "$1" && pwd)
shift
VERSIONS=("$@")
[ ${#VERSIONS[@]} -eq 0 ] && VERSIONS=(14 15 16 17)

shopt -s nullglob
FILES=("$SRCDIR"/src/*.c)
if [ ${#FILES[@]} -eq 0 ]; then
    echo "no C files in $SRCDIR/src" >&2
    exit 2
fi

# Read a plain "VAR = value" assignment from a Makefile.global.
mkvar() {
    local file=$1 var=$2 val
    val=$(sed -n "s/^$var[[:space:]]*=[[:space:]]*//p" "$file" | head -1)
    case $val in *'$('*) echo "warning: $var in $file references make variables: $val" >&2 ;; esac
    printf '%s' "$val"
}

rc=0
for v in "${VERSIONS[@]}"; do
    if [ "$v" = 15 ]; then
        inc="-I/usr/include/postgresql/15/server -I/usr/include/postgresql/internal -I/usr/include/postgresql"
        mkglobal=/usr/lib/postgresql/15/lib/pgxs/src/Makefile.global
        hdr=/usr/include/postgresql/15/server/pg_config.h
    else
        inc="-I$PGSRC_ROOT/$v/src/include -I$PGSRC_ROOT/$v/src/interfaces/libpq"
        mkglobal=$PGSRC_ROOT/$v/src/Makefile.global
        hdr=$PGSRC_ROOT/$v/src/include/pg_config.h
    fi
    if [ ! -f "$mkglobal" ] || [ ! -f "$hdr" ]; then
        echo "PG $v: SKIPPED (no header tree: $hdr / $mkglobal missing)"
        rc=1
        continue
    fi
    pg_cppflags=$(mkvar "$mkglobal" CPPFLAGS)
    pg_cflags=$(mkvar "$mkglobal" CFLAGS)
    # Same order as PGXS: -I. -I./ then server includes, CPPFLAGS, CFLAGS, PG_CFLAGS.
    # shellcheck disable=SC2086
    out=$(cd "$SRCDIR" && nice -n 19 "$CC" -fsyntax-only \
            -I"$SRCDIR" -I"$SRCDIR/src" $inc $pg_cppflags \
            $pg_cflags $EXT_CFLAGS "${FILES[@]}" 2>&1)
    st=$?
    if [ $st -eq 0 ] && [ -z "$out" ]; then
        echo "PG $v: ok"
    elif [ $st -eq 0 ]; then
        echo "PG $v: ok (with output)"
        printf '%s\n' "$out"
    else
        echo "PG $v: FAILED"
        printf '%s\n' "$out"
        rc=1
    fi
done
exit $rc
