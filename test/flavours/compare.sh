#!/bin/bash
# Prove that the two flavours do not drift apart: install the C flavour in
# one database and the SQL flavour in another (on the server PGHOST/PGPORT
# point at), list each catalog with test/flavours/catalog.sql, and fail on
# any difference not allowed by test/flavours/allowed.txt.  Then check that
# the PL/pgSQL functions both flavours share have identical bodies.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
psql -X -q -d postgres -c 'DROP DATABASE IF EXISTS sb_flavour_c' -c 'DROP DATABASE IF EXISTS sb_flavour_sql' \
     -c 'CREATE DATABASE sb_flavour_c' -c 'CREATE DATABASE sb_flavour_sql' || exit 1
psql -X -q -d sb_flavour_c -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION storagebox' || exit 1
psql -X -q -d sb_flavour_sql -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION storagebox_sql' || exit 1
psql -X -q -d sb_flavour_c -f "$here/catalog.sql" > "$out/c.txt" || exit 1
psql -X -q -d sb_flavour_sql -f "$here/catalog.sql" > "$out/sql.txt" || exit 1
bodies="SELECT p.oid::regprocedure || ' ' || md5(p.prosrc) FROM pg_proc p
         WHERE p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql')
           AND p.pronamespace IN ('public'::regnamespace, 'storagebox_data'::regnamespace) ORDER BY 1"
psql -X -qAt -d sb_flavour_c -c "$bodies" > "$out/c_bodies.txt"
psql -X -qAt -d sb_flavour_sql -c "$bodies" > "$out/sql_bodies.txt"
psql -X -q -d postgres -c 'DROP DATABASE sb_flavour_c' -c 'DROP DATABASE sb_flavour_sql'

lines=$(wc -l < "$out/c.txt")
diff "$out/c.txt" "$out/sql.txt" | grep '^[<>]' > "$out/diff.txt"
grep -v '^#' "$here/allowed.txt" | grep -v '^$' | grep -v '^body ' > "$out/allowed.txt"
grep '^body ' "$here/allowed.txt" | sed 's/^body //' > "$out/allowed_bodies.txt"
grep -v -E -f "$out/allowed.txt" "$out/diff.txt" > "$out/unexplained.txt"
# every PL/pgSQL function of the C flavour exists in the SQL flavour with the same body
shared=$(wc -l < "$out/c_bodies.txt")
comm -23 "$out/c_bodies.txt" "$out/sql_bodies.txt" | grep -v -F -f "$out/allowed_bodies.txt" > "$out/body_drift.txt"
status=0
if [ -s "$out/unexplained.txt" ]; then
    echo "catalog differences not in test/flavours/allowed.txt:"; cat "$out/unexplained.txt"; status=1
fi
if [ -s "$out/body_drift.txt" ]; then
    echo "shared PL/pgSQL functions whose bodies differ:"; cat "$out/body_drift.txt"; status=1
fi
echo "flavour catalogs: $lines facts of the C flavour compared, $(wc -l < "$out/diff.txt") allowed differences, $shared shared PL/pgSQL bodies compared"
rm -rf "$out"
exit $status
