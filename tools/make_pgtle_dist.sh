#!/bin/bash
# make_pgtle_dist.sh - write the one SQL file that installs an SQL-only
# extension through pg_tle (Trusted Language Extensions), as on Amazon RDS and
# Aurora, where no extension files can be put on the server's disk.
#
# Usage:
#   tools/make_pgtle_dist.sh EXTNAME CONTROL SCRIPTDIR OUT
#     EXTNAME    extension name, e.g. storagebox_sql
#     CONTROL    its control file (comment, default_version, requires, schema)
#     SCRIPTDIR  directory holding EXTNAME--V.sql and EXTNAME--A--B.sql
#     OUT        file to write, e.g. dist/storagebox_sql--pgtle.sql
#   The result is run by a member of pgtle_admin in the target database
#   (pg_tle created there), then the extension is created as usual:
#     psql -v ON_ERROR_STOP=1 -f dist/storagebox_sql--pgtle.sql
#     psql -c 'CREATE EXTENSION storagebox_sql'
#
# What OUT contains, in one transaction:
#   - pgtle.install_extension(name, version, description, ext, requires)
#     for the full script of default_version (if there is none, for the only
#     full script there is);
#   - pgtle.install_extension_version_sql for any other full script;
#   - pgtle.install_update_path(name, from, to, ext) for every
#     EXTNAME--A--B.sql (there may be none);
#   - pgtle.set_default_version(name, default_version) at the end.
# Running OUT again is harmless, and running a newer OUT adds what is new:
# each call is skipped when pg_tle already stores that script.  A check
# first fails the whole transaction, with a clear error, when pg_tle is not
# created, or when a stored script differs from this file's (a released
# script was edited; pg_tle cannot replace a script while the extension is
# created, because the extension depends on pg_tle's control function).
#
# Byte identity: each ext argument is the script file's bytes, unchanged,
# in a dollar-quoted literal whose tag is checked to be absent from every
# body (the script fails if no tag among its candidates is free).  The
# '\echo Use "CREATE EXTENSION ..." \quit' guard stays in the body: psql does
# not interpret backslash commands inside a quoted literal, and pg_tle, like
# core's CREATE EXTENSION, blanks every line that starts with \echo before it
# runs the script.  The description is the control file's comment.
# tools/check_pgtle_dist.sh parses OUT and proves the identity.
#
# Refused (exit 1): a control file with module_pathname (C code cannot go
# through pg_tle), a body containing pg_tle's own delimiters $_pgtle_o_$ or
# $_pgtle_i_$ (pg_tle rejects those), a body that is not valid UTF-8 (OUT
# sets client_encoding to UTF8 so that psql sends the bytes unconverted).
set -euo pipefail

die() { echo "make_pgtle_dist.sh: $*" >&2; exit 1; }
[ $# -eq 4 ] || { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; }
ext=$1 control=$2 scriptdir=$3 out=$4

[[ $ext =~ ^[a-z_][a-z0-9_]*$ ]] || die "unusual extension name: $ext"
[ -f "$control" ] || die "no control file: $control"
[ -d "$scriptdir" ] || die "no script directory: $scriptdir"

# Value of KEY in the control file, without its quotes ('' stays '').
control_value() {
    sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$control" | tail -1 |
        sed -e "s/^'\(.*\)'[[:space:]]*$/\1/" -e "s/''/'/g"
}
# SQL literal of a string.
sql_literal() { printf "'%s'" "${1//\'/\'\'}"; }

grep -q '^[[:space:]]*module_pathname' "$control" &&
    die "$control sets module_pathname: a C extension cannot be installed through pg_tle"
default_version=$(control_value default_version)
comment=$(control_value comment)
requires=$(control_value requires)
schema=$(control_value schema)
[ -n "$default_version" ] || die "$control has no default_version"
[ -n "$comment" ] || die "$control has no comment (pg_tle needs a description)"
if [ "$(control_value relocatable)" = true ]; then
    echo "make_pgtle_dist.sh: warning: $control says relocatable = true; pg_tle installs every extension as non-relocatable and substitutes @extschema@" >&2
fi

# Collect the scripts: full ones (EXTNAME--V.sql) and updates (EXTNAME--A--B.sql).
full=() updates=()
shopt -s nullglob
for f in "$scriptdir/$ext"--*.sql; do
    rest=${f##*/}; rest=${rest#"$ext--"}; rest=${rest%.sql}
    case $rest in
        *--*--*) die "cannot parse the versions in ${f##*/}" ;;
        *--*)    updates+=("$f") ;;
        *)       full+=("$f") ;;
    esac
done
shopt -u nullglob
[ ${#full[@]} -gt 0 ] || die "no full script $scriptdir/$ext--VERSION.sql"

base=
for f in "${full[@]}"; do
    [ "${f##*/}" = "$ext--$default_version.sql" ] && base=$f
done
if [ -z "$base" ]; then
    [ ${#full[@]} -eq 1 ] || die "no $ext--$default_version.sql and several full scripts: which one is the base is ambiguous"
    base=${full[0]}
fi
version_of() { local v=${1##*/}; v=${v#"$ext--"}; echo "${v%.sql}"; }

# Check every body and choose a dollar-quote tag absent from all of them.
bodies=("${full[@]}" "${updates[@]}")
for f in "${bodies[@]}"; do
    if grep -qF -e '$_pgtle_o_$' -e '$_pgtle_i_$' "$f"; then
        die "${f##*/} contains \$_pgtle_o_\$ or \$_pgtle_i_\$, which pg_tle forbids in a body"
    fi
    if command -v iconv >/dev/null && ! iconv -f UTF-8 -t UTF-8 "$f" >/dev/null 2>&1; then
        die "${f##*/} is not valid UTF-8"
    fi
done
tag=
# A tag is free when no body contains it and no body ends with it minus its
# final "$" (that end plus the closing tag would close the literal early).
tag_is_free() {
    local f
    grep -qF -e "$1" "${bodies[@]}" && return 1
    for f in "${bodies[@]}"; do
        [ "$(tail -c $((${#1} - 1)) "$f")" = "${1%\$}" ] && return 1
    done
    return 0
}
for candidate in '$pgtle_body$' '$pgtle_body_1$' '$pgtle_body_2$' '$pgtle_body_3$' '$pgtle_body_4$'; do
    if tag_is_free "$candidate"; then tag=$candidate; break; fi
done
[ -n "$tag" ] || die "every candidate dollar-quote tag occurs in some body; add a candidate"


if [ -n "$requires" ]; then
    req_sql="ARRAY[$(echo "$requires" | tr ',' '\n' | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' |
        while read -r r; do [ -n "$r" ] && sql_literal "$r" && echo; done | paste -sd, -)]::text[]"
else
    req_sql='NULL::text[]'
fi

# Emit one body: the "-- body:" marker line, the call line, then the
# unchanged bytes of the script between the tags.  check_pgtle_dist.sh
# relies on this exact layout.
emit_body() {   # FILE CALL-PREFIX CALL-SUFFIX
    printf -- '-- body: %s\n%s\n%s' "${1##*/}" "$2" "$tag"
    cat -- "$1"
    printf '%s%s\n\n' "$tag" "$3"
}


# The stored-script check: (function name, md5 of the file) for every body.
checks=$(for f in "${bodies[@]}"; do
    printf "        (%s, %s)\n" "$(sql_literal "${f##*/}")" "$(sql_literal "$(md5sum <"$f" | cut -c1-32)")"
done | sed '$!s/$/,/')

# " WHERE NOT EXISTS ...": skip a call when pg_tle already stores SCRIPT.
unless_stored() {
    printf "\n WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_proc WHERE pronamespace OPERATOR(pg_catalog.=) 'pgtle'::pg_catalog.regnamespace AND proname OPERATOR(pg_catalog.=) %s);" \
        "$(sql_literal "${1##*/}")"
}

mkdir -p "$(dirname "$out")"
tmp=$(mktemp "${out}.XXXXXX")
trap 'rm -f "$tmp"' EXIT
{
    cat <<EOF
-- $(basename "$out"): installs the extension $ext through pg_tle.
-- Generated by tools/make_pgtle_dist.sh from $(basename "$control") and the
-- scripts $ext--*.sql; do not edit.  Each body between $tag tags is
-- the script file byte for byte (tools/check_pgtle_dist.sh proves it).
--
-- Run it as a member of pgtle_admin in a database where pg_tle is created:
--   psql -v ON_ERROR_STOP=1 -f $(basename "$out")
-- then: CREATE EXTENSION $ext;   (or ALTER EXTENSION $ext UPDATE;)
-- Running it again is harmless: a script pg_tle already stores is skipped,
-- and one stored with other contents stops the whole file with an error.
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
BEGIN;

DO \$pgtle_check\$
DECLARE
    s record;
    stored text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'pg_tle') THEN
        RAISE EXCEPTION 'pg_tle is not created in database %', pg_catalog.current_database()
            USING HINT = 'Add pg_tle to shared_preload_libraries, restart, then run CREATE EXTENSION pg_tle.';
    END IF;
    FOR s IN SELECT * FROM (VALUES
$checks
    ) AS t(script, md5) LOOP
        IF EXISTS (SELECT FROM pg_catalog.pg_proc WHERE pronamespace OPERATOR(pg_catalog.=) 'pgtle'::pg_catalog.regnamespace AND proname OPERATOR(pg_catalog.=) s.script) THEN
            EXECUTE pg_catalog.format('SELECT pgtle.%I()', s.script) INTO stored;
            IF pg_catalog.md5(pg_catalog.convert_to(stored, 'UTF8')) OPERATOR(pg_catalog.<>) s.md5 THEN
                RAISE EXCEPTION 'pg_tle already stores % with other contents than this file', s.script
                    USING HINT = 'A released script must not change. To start over: DROP EXTENSION $ext; SELECT pgtle.uninstall_extension(''$ext'');';
            END IF;
        END IF;
    END LOOP;
END
\$pgtle_check\$;

EOF
    extra_args=$req_sql
    [ -n "$schema" ] && extra_args="$req_sql, $(sql_literal "$schema")"
    emit_body "$base" \
        "SELECT pgtle.install_extension($(sql_literal "$ext"), $(sql_literal "$(version_of "$base")"), $(sql_literal "$comment")," \
        ", $extra_args)$(unless_stored "$base")"
    for f in "${full[@]}"; do
        [ "$f" = "$base" ] && continue
        emit_body "$f" \
            "SELECT pgtle.install_extension_version_sql($(sql_literal "$ext"), $(sql_literal "$(version_of "$f")")," \
            ")$(unless_stored "$f")"
    done
    for f in "${updates[@]}"; do
        v=$(version_of "$f")
        emit_body "$f" \
            "SELECT pgtle.install_update_path($(sql_literal "$ext"), $(sql_literal "${v%%--*}"), $(sql_literal "${v##*--}")," \
            ")$(unless_stored "$f")"
    done
    printf 'SELECT pgtle.set_default_version(%s, %s);\n\n' "$(sql_literal "$ext")" "$(sql_literal "$default_version")"
    echo 'COMMIT;'
} >"$tmp"
mv -f "$tmp" "$out"
trap - EXIT
echo "wrote $out: $ext $default_version, ${#full[@]} full script(s), ${#updates[@]} update script(s), quote tag $tag"
