
# Upgrade to 1.4 (issue 12), C flavour only (the SQL flavour has no older
# versions): an installation created at 1.3, with banks, claims, a released
# item and a dispenser, updated with ALTER EXTENSION storagebox UPDATE, has
# exactly the catalog of a fresh CREATE EXTENSION storagebox in another
# database -- not only the same member names (test/sql/upgrade_c.sql) but
# the same definitions and privileges:
#   functions: signature, argument names and defaults, result, language,
#     md5 of prosrc, probin, prosecdef, proconfig, provolatile, proisstrict,
#     proparallel, prorows, proacl;
#   relations: kind, relacl, reloptions; columns in order (name, type,
#     collation, nullability, default, identity, attacl); indexes
#     (pg_get_indexdef); constraints (pg_get_constraintdef); views
#     (pg_get_viewdef); triggers; the extension's config tables and
#     conditions; schemas and their ACLs; initial privileges (pg_init_privs).
# And the claims made at 1.3 are intact (held_since and hold_expires NULL,
# the same holders) and behave: a repeat fetch answers the same item, a
# lookup finds it, sb_holders lists it, a hold of the same id answers it and
# leaves it permanent, and the banks are unrestricted.

use strict;
use warnings;
use StorageboxFlavour;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

plan skip_all => 'the C flavour only (storagebox_sql has no older version)' if $sb_flavour ne 'c';

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->start;

# One fact a line, with no OIDs: names, definitions, privileges.
my $catalog = q{
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'storagebox'),
members AS (SELECT classid, objid FROM pg_depend, ext
             WHERE refclassid = 'pg_extension'::regclass AND refobjid = ext.oid AND deptype = 'e')
SELECT 'member ' || pg_describe_object(classid, objid, 0) FROM members
UNION ALL
SELECT 'schema ' || n.nspname || ' owner=' || n.nspowner::regrole || ' acl=' || coalesce(n.nspacl::text, '-')
  FROM members m JOIN pg_namespace n ON m.classid = 'pg_namespace'::regclass AND n.oid = m.objid
UNION ALL
SELECT 'relation ' || c.oid::regclass || ' kind=' || c.relkind::text || ' owner=' || c.relowner::regrole
       || ' acl=' || coalesce(c.relacl::text, '-') || ' options=' || coalesce(c.reloptions::text, '-')
       || ' persistence=' || c.relpersistence::text
  FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
UNION ALL
SELECT 'column ' || a.attrelid::regclass || ' #' || a.attnum || ' ' || a.attname || ' '
       || format_type(a.atttypid, a.atttypmod) || ' notnull=' || a.attnotnull
       || ' collation=' || coalesce((SELECT collname FROM pg_collation WHERE oid = a.attcollation), '-')
       || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-')
       || ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text
       || ' acl=' || coalesce(a.attacl::text, '-')
  FROM members m JOIN pg_attribute a ON m.classid = 'pg_class'::regclass AND a.attrelid = m.objid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'index ' || pg_get_indexdef(i.indexrelid) || ' valid=' || i.indisvalid
  FROM members m JOIN pg_index i ON m.classid = 'pg_class'::regclass AND i.indrelid = m.objid
UNION ALL
SELECT 'constraint ' || co.conrelid::regclass || ' ' || co.conname || ' ' || pg_get_constraintdef(co.oid)
  FROM members m JOIN pg_constraint co ON m.classid = 'pg_class'::regclass AND co.conrelid = m.objid
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(t.oid)
  FROM members m JOIN pg_trigger t ON m.classid = 'pg_class'::regclass AND t.tgrelid = m.objid
 WHERE NOT t.tgisinternal
UNION ALL
SELECT 'view ' || c.oid::regclass || ' ' || pg_get_viewdef(c.oid)
  FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid AND c.relkind = 'v'
UNION ALL
SELECT 'function ' || p.oid::regprocedure || ' args=' || coalesce(array_to_string(p.proargnames, ','), '-')
       || ' modes=' || coalesce(p.proargmodes::text, '-')
       || ' defaults=' || coalesce(pg_get_expr(p.proargdefaults, 0), '-')
       || ' returns=' || pg_get_function_result(p.oid) || ' owner=' || p.proowner::regrole
       || ' lang=' || (SELECT lanname FROM pg_language WHERE oid = p.prolang)
       || ' src_md5=' || md5(p.prosrc) || ' bin=' || coalesce(p.probin, '-')
       || ' secdef=' || p.prosecdef || ' config=' || coalesce(p.proconfig::text, '-')
       || ' volatile=' || p.provolatile::text || ' strict=' || p.proisstrict
       || ' parallel=' || p.proparallel::text || ' leakproof=' || p.proleakproof
       || ' cost=' || p.procost || ' rows=' || p.prorows || ' kind=' || p.prokind::text
       || ' acl=' || coalesce(p.proacl::text, '-')
  FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
UNION ALL
SELECT 'type ' || t.oid::regtype || ' type=' || t.typtype::text
  FROM members m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
UNION ALL
SELECT 'init_privs ' || pg_describe_object(ip.classoid, ip.objoid, ip.objsubid) || ' '
       || ip.privtype::text || ' ' || ip.initprivs::text
  FROM members m JOIN pg_init_privs ip ON ip.classoid = m.classid AND ip.objoid = m.objid
UNION ALL
SELECT 'config_dump ' || c::regclass || ' ' || coalesce(cond, '')
  FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(c, cond)
 WHERE e.extname = 'storagebox'
UNION ALL
SELECT 'extension ' || extname || ' ' || extversion || ' relocatable=' || extrelocatable
       || ' schema=' || extnamespace::regnamespace
  FROM pg_extension WHERE extname = 'storagebox'
ORDER BY 1;
};

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('postgres', 'CREATE DATABASE upgraded');
$node->safe_psql('fresh', 'CREATE EXTENSION storagebox');

$node->safe_psql('upgraded', q{
	CREATE EXTENSION storagebox VERSION '1.3';
	SELECT sb_create_bank('old_a', 'old_scope');
	SELECT sb_add_items('old_a', array(SELECT 'a' || g FROM generate_series(1, 20) g));
	SELECT sb_create_bank('old_b');
	SELECT sb_add_items('old_b', ARRAY['b1', 'b2', 'b3']);
	SELECT sb_fetch_item('old_a', 'u' || g) FROM generate_series(1, 8) g;
	SELECT sb_fetch_item('old_b', 'v1'), sb_fetch_item('old_b', 'v2');
	SELECT sb_release('old_a', 'u3');
	SELECT sb_create_dispenser('old_numbers');
	SELECT sb_next('old_numbers', 5);
});
is($node->safe_psql('upgraded', "SELECT extversion FROM pg_extension WHERE extname = 'storagebox'"),
	'1.3', 'installed at 1.3');
my $claims_sql = q{
	SELECT b.bank_name, c.slot, coalesce(c.dedup_id, '-'), coalesce(i.item, '-')
	  FROM storagebox_data.claim c JOIN storagebox_data.bank b USING (bank_id)
	  LEFT JOIN storagebox_data.item i USING (bank_id, slot) ORDER BY 1, 2};
my $claims_before = $node->safe_psql('upgraded', $claims_sql);
my $banks_before = $node->safe_psql('upgraded',
	'SELECT bank, dedup_scope, items_total, items_handed_out, items_left FROM sb_banks ORDER BY 1');
my $acl_before = $node->safe_psql('upgraded', q{
	SELECT b.bank_name, coalesce(s.relacl::text, '-') FROM storagebox_data.bank b
	  JOIN pg_class s ON s.oid = b.cursor_seq ORDER BY 1});

$node->safe_psql('upgraded', 'ALTER EXTENSION storagebox UPDATE');
is($node->safe_psql('upgraded', "SELECT extversion FROM pg_extension WHERE extname = 'storagebox'"),
	'1.4', 'updated to 1.4');

my $fresh = $node->safe_psql('fresh', $catalog);
my $upgraded = $node->safe_psql('upgraded', $catalog);
my @fresh = split /\n/, $fresh;
my @upgraded = split /\n/, $upgraded;
my %in_fresh = map { $_ => 1 } @fresh;
my %in_upgraded = map { $_ => 1 } @upgraded;
my @missing = grep { !$in_upgraded{$_} } @fresh;
my @extra = grep { !$in_fresh{$_} } @upgraded;
diag("missing after the upgrade: $_") for @missing;
diag("extra after the upgrade: $_") for @extra;
is(scalar(@missing) + scalar(@extra), 0,
	'the upgraded catalog is the fresh one (' . scalar(@fresh) . ' facts compared)');
cmp_ok(scalar(grep { /^function / } @fresh), '>=', 20, 'at least 20 functions compared');
for my $f ('sb_hold_item(text,text,interval)', 'sb_confirm(text,text)', 'sb_fetch_items(text,text[])',
	'sb_holders(text)', 'sb_grant(text,regrole,text)', 'sb_revoke(text,regrole,text)')
{
	ok((grep { /^function \Q$f\E / } @fresh), "the new function $f is among the facts compared");
}
ok((grep { /^column storagebox_data\.claim #\d+ hold_expires timestamp with time zone/ } @fresh),
	'the hold columns are among the facts compared');
ok((grep { /^index CREATE INDEX claim_held / } @fresh), 'the index claim_held is among the facts compared');
ok((grep { /^view sb_banks .*items_held/s } @fresh) || $fresh =~ /items_held/,
	'sb_banks with items_held is among the facts compared');

# the data of 1.3, intact and behaving
is($node->safe_psql('upgraded', $claims_sql), $claims_before, 'the claims are kept');
is($node->safe_psql('upgraded',
		'SELECT bank, dedup_scope, items_total, items_handed_out, items_left FROM sb_banks ORDER BY 1'),
	$banks_before, 'sb_banks is kept');
is($node->safe_psql('upgraded', 'SELECT bank, items_held FROM sb_banks ORDER BY 1'),
	"old_a|0\nold_b|0", 'no holds after the upgrade');
is($node->safe_psql('upgraded',
		'SELECT count(*) FROM storagebox_data.claim WHERE held_since IS NOT NULL OR hold_expires IS NOT NULL'),
	'0', 'the claims of 1.3 have held_since and hold_expires NULL');
is($node->safe_psql('upgraded', q{
	SELECT b.bank_name, coalesce(s.relacl::text, '-') FROM storagebox_data.bank b
	  JOIN pg_class s ON s.oid = b.cursor_seq ORDER BY 1}), $acl_before,
	'the cursors\' ACLs are kept (the banks stay unrestricted)');
my %item_of = map { split /\|/ } split /\n/, $node->safe_psql('upgraded', q{
	SELECT c.dedup_id || '|' || i.item FROM storagebox_data.claim c
	  JOIN storagebox_data.item i USING (bank_id, slot) WHERE c.dedup_id IS NOT NULL});
is($node->safe_psql('upgraded', q{SELECT sb_fetch_item('old_a', 'u1'), sb_fetch_item('old_b', 'v2'),
		sb_lookup('old_a', 'u8'), sb_hold_item('old_a', 'u5', '1 hour'), sb_confirm('old_a', 'u6')}),
	join('|', @item_of{qw(u1 v2 u8 u5 u6)}),
	'a repeat fetch, a lookup, a hold and a confirm of an old claim answer its item');
is($node->safe_psql('upgraded', q{
	SELECT count(*), count(*) FILTER (WHERE held_since IS NULL AND hold_expires IS NULL)
	  FROM sb_holders('old_a')}), '7|7', 'sb_holders lists the old claims, permanent, with no held_since');
is($node->safe_psql('upgraded', q{SELECT sb_release('old_a', 'u3') IS NULL, sb_fetch_item('old_a', 'u3') IS NOT NULL,
		sb_hold_item('old_a', 'new', '1 hour') IS NOT NULL, sb_confirm('old_a', 'new') IS NOT NULL}),
	't|t|t|t', 'fetch, hold and confirm of new ids work on the old bank');
is($node->safe_psql('upgraded', q{
	SELECT count(*) FROM storagebox_data.claim WHERE dedup_id IS NULL AND (held_since IS NOT NULL OR hold_expires IS NOT NULL)}),
	'0', 'no released row with hold columns');
$node->safe_psql('upgraded', q{
	CREATE ROLE upg_app;
	GRANT EXECUTE ON FUNCTION sb_fetch_item(text, text), sb_lookup(text, text) TO upg_app;
});
my ($ret, $out, $err) = $node->psql('upgraded',
	"SET ROLE upg_app; SELECT sb_fetch_item('old_b', 'app-1'), sb_lookup('old_a', 'u1');");
is($out, 'b3|' . $item_of{u1}, 'a role with EXECUTE only fetches and looks up (old banks are unrestricted)')
  or diag($err);

$node->stop;
done_testing();
