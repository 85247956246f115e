-- The API surface of the installed storagebox flavour, one line per fact,
-- for test/flavours/compare.sh: schemas, tables and their columns,
-- indexes, views, functions (signature, argument names, defaults, result,
-- volatility, strictness, ACL; not body, language or settings), sequences,
-- and the ACLs of every relation.  Run in a database with one flavour.
\pset format unaligned
\pset tuples_only on
WITH ext AS (SELECT oid FROM pg_extension WHERE extname IN ('storagebox', 'storagebox_sql')),
members AS (SELECT classid, objid FROM pg_depend, ext
             WHERE refclassid = 'pg_extension'::regclass AND refobjid = ext.oid AND deptype = 'e')
SELECT 'schema ' || n.nspname || ' acl=' || coalesce(n.nspacl::text, '')
  FROM members m JOIN pg_namespace n ON m.classid = 'pg_namespace'::regclass AND n.oid = m.objid
UNION ALL
SELECT 'relation ' || c.oid::regclass || ' kind=' || c.relkind::text || ' acl=' ||
       coalesce((SELECT string_agg(regexp_replace(x, '=([a-zA-Z]*)/.*$', '=\1'), ',' ORDER BY x) FROM unnest(c.relacl::text[]) x), '')
  FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
UNION ALL
SELECT 'column ' || a.attrelid::regclass || '.' || a.attname || ' ' ||
       format_type(a.atttypid, a.atttypmod) || ' notnull=' || a.attnotnull ||
       ' collation=' || coalesce((SELECT collname FROM pg_collation WHERE oid = a.attcollation), '-') ||
       ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-') || ' identity=' || a.attidentity::text
  FROM members m JOIN pg_attribute a ON m.classid = 'pg_class'::regclass AND a.attrelid = m.objid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'index ' || pg_get_indexdef(i.indexrelid)
  FROM members m JOIN pg_index i ON m.classid = 'pg_class'::regclass AND i.indrelid = m.objid
UNION ALL
SELECT 'constraint ' || co.conrelid::regclass || ' ' || co.conname || ' ' || pg_get_constraintdef(co.oid)
  FROM members m JOIN pg_constraint co ON m.classid = 'pg_class'::regclass AND co.conrelid = m.objid
UNION ALL
SELECT 'view ' || c.oid::regclass || ' ' || pg_get_viewdef(c.oid)
  FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid AND c.relkind = 'v'
UNION ALL
SELECT 'function ' || p.oid::regprocedure || ' args=' || coalesce(array_to_string(p.proargnames, ','), '') ||
       ' defaults=' || coalesce(pg_get_expr(p.proargdefaults, 0), '') ||
       ' returns=' || pg_get_function_result(p.oid) || ' volatile=' || p.provolatile::text ||
       ' strict=' || p.proisstrict || ' kind=' || p.prokind::text || ' acl=' ||
       coalesce((SELECT string_agg(regexp_replace(x, '=([a-zA-Z]*)/.*$', '=\1'), ',' ORDER BY x) FROM unnest(p.proacl::text[]) x), '')
  FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
UNION ALL
SELECT 'config_dump ' || c::regclass || ' ' || coalesce(cond, '')
  FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(c, cond)
 WHERE e.extname IN ('storagebox', 'storagebox_sql')
ORDER BY 1;
