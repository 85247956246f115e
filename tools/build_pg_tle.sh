#!/bin/bash
# build_pg_tle.sh - build pg_tle (AWS Trusted Language Extensions) from an
# already unpacked source tree and install it into the PostgreSQL that a given
# pg_config describes.
#
# Why: storagebox_sql is meant to be installed on Amazon RDS / Aurora through
# pg_tle (issue 10).  pg_tle is not packaged for Debian 12, so a developer who
# wants to run the SQL flavour through a real pg_tle builds it from its public
# source with this script.  It downloads nothing: CI machines have no network
# access beyond their package registry, and the source must be brought in by
# hand (a git clone or an archive of a release tag).
#
# Usage:
#   tools/build_pg_tle.sh [SRCDIR] [PG_CONFIG]
#     SRCDIR     pg_tle source tree (default: $PG_TLE_SRC)
#     PG_CONFIG  pg_config of the target server (default: $PG_CONFIG, else
#                the pg_config on PATH)
#   Example, as used for a private PostgreSQL copy under /opt/pgtle:
#     git --git-dir=/path/to/pg_tle.git archive v1.5.2 | tar -x -C /tmp/pg_tle-src
#     tools/build_pg_tle.sh /tmp/pg_tle-src /opt/pgtle/usr/lib/postgresql/15/bin/pg_config
#
# Env: PG_TLE_EXTRA_CFLAGS  extra compiler flags, passed as PGXS's COPT.
#      Debian's PostgreSQL is built with GSSAPI, so its libpq-be.h (which
#      pg_tle's clientauth.c includes) needs <gssapi/gssapi.h>: install
#      libkrb5-dev, or, to leave the system alone, unpack the libkrb5-dev and
#      krb5-multidev .debs into a private dir and give
#      PG_TLE_EXTRA_CFLAGS="-I DIR/usr/include".
#
# How: runs "make" and "make install" with PGXS in a scratch copy of SRCDIR
# (the source tree is left untouched), then checks that pg_tle.control and
# pg_tle.so landed where pg_config says.  Needs gcc, make, flex and the
# server headers of the target (its pg_config --includedir-server).  The
# LLVM bitcode that PGXS would add for JIT inlining is not built
# (with_llvm=no): it would need clang and the same headers, and JIT works
# without it (pg_tle's few C functions are just not inlined).
#
# Never point it at the system PostgreSQL of a machine whose CI must not find
# pg_tle installed: it installs wherever PG_CONFIG says.
#
# Exit status: 0 installed, 1 build or install failed, 2 usage error.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; }

src=${1:-${PG_TLE_SRC:-}}
pgc=${2:-${PG_CONFIG:-$(command -v pg_config || true)}}
[ -n "$src" ] || usage
[ -f "$src/Makefile" ] && [ -f "$src/pg_tle.control.in" ] \
    || { echo "build_pg_tle.sh: $src is not a pg_tle source tree" >&2; exit 2; }
[ -n "$pgc" ] && [ -x "$pgc" ] \
    || { echo "build_pg_tle.sh: no usable pg_config (give it as 2nd argument or PG_CONFIG)" >&2; exit 2; }
for tool in make gcc flex; do
    command -v "$tool" >/dev/null || { echo "build_pg_tle.sh: $tool is required" >&2; exit 2; }
done

version=$(sed -n 's/^EXTVERSION[[:space:]]*=[[:space:]]*//p' "$src/Makefile")
echo "pg_tle $version from $src"
echo "target: $("$pgc" --version), sharedir $("$pgc" --sharedir), pkglibdir $("$pgc" --pkglibdir)"

work=$(mktemp -d /tmp/build_pg_tle.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -a "$src/." "$work/"

extra=${PG_TLE_EXTRA_CFLAGS:-}
if grep -q '^#define ENABLE_GSS 1' "$("$pgc" --includedir-server)/pg_config.h" 2>/dev/null &&
   ! echo '#include <gssapi/gssapi.h>' | gcc $extra -E -x c - >/dev/null 2>&1; then
    echo "build_pg_tle.sh: this PostgreSQL is built with GSSAPI and <gssapi/gssapi.h> is missing;" >&2
    echo "  install libkrb5-dev or set PG_TLE_EXTRA_CFLAGS (see the header of this script)" >&2
    exit 1
fi

jobs=$(nproc 2>/dev/null || echo 2)
make -C "$work" -j"$jobs" PG_CONFIG="$pgc" COPT="$extra" with_llvm=no >"$work/build.log" 2>&1 \
    || { tail -40 "$work/build.log" >&2; echo "build_pg_tle.sh: build failed" >&2; exit 1; }
make -C "$work" PG_CONFIG="$pgc" COPT="$extra" with_llvm=no install >>"$work/build.log" 2>&1 \
    || { tail -40 "$work/build.log" >&2; echo "build_pg_tle.sh: install failed" >&2; exit 1; }

ctl="$("$pgc" --sharedir)/extension/pg_tle.control"
lib="$("$pgc" --pkglibdir)/pg_tle.so"
[ -f "$ctl" ] && [ -f "$lib" ] \
    || { echo "build_pg_tle.sh: installed files not found ($ctl, $lib)" >&2; exit 1; }
echo "installed: $lib"
echo "installed: $ctl ($(grep default_version "$ctl"))"
