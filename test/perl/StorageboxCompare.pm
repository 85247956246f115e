
# Queries that describe what a database holds, for comparing two copies
# (dump/restore, primary/standby).
#
# Copyright (c) storagebox authors; PostgreSQL License.

package StorageboxCompare;

use strict;
use warnings;

our %QUERIES = (
	banks => "SELECT bank, coalesce(dedup_scope, '-'), items_total, items_handed_out,"
	  . " items_left FROM sb_banks ORDER BY bank",
	holders => "SELECT b.bank_name, c.dedup_id, i.item FROM storagebox_data.claim c"
	  . " JOIN storagebox_data.bank b USING (bank_id)"
	  . " JOIN storagebox_data.item i USING (bank_id, slot)"
	  . " WHERE c.dedup_id IS NOT NULL ORDER BY 1, 2",
	items => "SELECT b.bank_name, count(*), min(i.item), max(i.item)"
	  . " FROM storagebox_data.item i JOIN storagebox_data.bank b USING (bank_id)"
	  . " GROUP BY 1 ORDER BY 1",
	dispensers => "SELECT dispenser, direction, min_value, max_value, next_value"
	  . " FROM sb_dispensers ORDER BY dispenser",
	# 1.4: holds (held_since, hold_expires of every claim row that has
	# them) and the per-bank rights (the ACL of each bank's cursor)
	holds => "SELECT b.bank_name, c.slot, coalesce(c.dedup_id, '-'), c.held_since, c.hold_expires"
	  . " FROM storagebox_data.claim c JOIN storagebox_data.bank b USING (bank_id)"
	  . " WHERE c.held_since IS NOT NULL OR c.hold_expires IS NOT NULL ORDER BY 1, 2",
	bank_rights => "SELECT b.bank_name, coalesce(s.relacl::text, '-')"
	  . " FROM storagebox_data.bank b JOIN pg_class s ON s.oid = b.cursor_seq ORDER BY 1",
	banks_held => "SELECT bank, items_held FROM sb_banks ORDER BY bank",
);

# { name => psql output } for a node and database.
sub snapshot
{
	my ($node, $db) = @_;
	return { map { $_ => $node->safe_psql($db, $QUERIES{$_}) } keys %QUERIES };
}

# The catalog of an extension, one fact a line, with no OIDs: names,
# definitions, privileges (test/t/080_upgrade_catalog.pl and
# 081_upgrade_catalog_sql.pl compare an updated installation with a fresh
# one):
#   functions: signature, argument names and defaults, result, language,
#     md5 of prosrc and of a BEGIN ATOMIC body, probin, prosecdef,
#     proconfig, provolatile, proisstrict, proparallel, prorows, proacl;
#   relations: kind, relacl, reloptions; columns in order (name, type,
#     collation, nullability, default, identity, attacl); indexes
#     (pg_get_indexdef); constraints (pg_get_constraintdef); views
#     (pg_get_viewdef); triggers; the extension's config tables and
#     conditions; schemas and their ACLs; initial privileges (pg_init_privs);
#   dependencies (pg_depend) of and on the members, but for the extension's
#     own and the sequences the data made (the banks' cursors).
my $CATALOG = q{
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = '%EXT%'),
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
       || ' sqlbody_md5=' || coalesce(md5(pg_get_function_sqlbody(p.oid)), '-')
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
SELECT 'depend ' || regexp_replace(pg_describe_object(d.classid, d.objid, d.objsubid), 'pg_toast_[0-9]+', 'pg_toast_N')
       || ' on ' || pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid) || ' ' || d.deptype::text
  FROM pg_depend d
 WHERE d.deptype <> 'e'
   AND (EXISTS (SELECT FROM members m WHERE m.classid = d.classid AND m.objid = d.objid)
        OR (EXISTS (SELECT FROM members m WHERE m.classid = d.refclassid AND m.objid = d.refobjid)
            AND NOT EXISTS (SELECT FROM pg_class s WHERE d.classid = 'pg_class'::regclass
                             AND s.oid = d.objid AND s.relkind = 'S')))
UNION ALL
SELECT 'config_dump ' || c::regclass || ' ' || coalesce(cond, '')
  FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(c, cond)
 WHERE e.extname = '%EXT%'
UNION ALL
SELECT 'extension ' || extname || ' ' || extversion || ' relocatable=' || extrelocatable
       || ' schema=' || extnamespace::regnamespace
  FROM pg_extension WHERE extname = '%EXT%'
ORDER BY 1;
};

sub catalog_query
{
	my ($extname) = @_;
	(my $q = $CATALOG) =~ s/%EXT%/$extname/g;
	return $q;
}

# Compare the catalog of the extension in database $got with the one in
# $want (same node): returns (facts of $want, facts only in $want, facts
# only in $got), each a list reference.
sub catalog_diff
{
	my ($node, $want, $got, $extname) = @_;
	my $q = catalog_query($extname);
	my @want = split /\n/, $node->safe_psql($want, $q);
	my @got = split /\n/, $node->safe_psql($got, $q);
	my %in_want = map { $_ => 1 } @want;
	my %in_got = map { $_ => 1 } @got;
	return (\@want, [ grep { !$in_got{$_} } @want ], [ grep { !$in_want{$_} } @got ]);
}

# The data both upgrade tests make at 1.3 (080 and 081), after CREATE
# EXTENSION $extname VERSION '1.3': two banks with claims (old_a in the
# dedup scope old_scope, 20 items, u1 .. u8 fetched and u3 released; old_b,
# 3 items, v1 and v2 fetched) and the dispenser old_numbers with 5 numbers
# taken.
sub data_at_1_3
{
	my ($extname) = @_;
	return qq{
	CREATE EXTENSION $extname VERSION '1.3';
	SELECT sb_create_bank('old_a', 'old_scope');
	SELECT sb_add_items('old_a', array(SELECT 'a' || g FROM generate_series(1, 20) g));
	SELECT sb_create_bank('old_b');
	SELECT sb_add_items('old_b', ARRAY['b1', 'b2', 'b3']);
	SELECT sb_fetch_item('old_a', 'u' || g) FROM generate_series(1, 8) g;
	SELECT sb_fetch_item('old_b', 'v1'), sb_fetch_item('old_b', 'v2');
	SELECT sb_release('old_a', 'u3');
	SELECT sb_create_dispenser('old_numbers');
	SELECT sb_next('old_numbers', 5);
};
}

# { dedup_id => item } of the claims held in database $db.
sub item_of
{
	my ($node, $db) = @_;
	return map { split /\|/ } split /\n/, $node->safe_psql($db, q{
	SELECT c.dedup_id || '|' || i.item FROM storagebox_data.claim c
	  JOIN storagebox_data.item i USING (bank_id, slot) WHERE c.dedup_id IS NOT NULL});
}

# After an update of data_at_1_3: (the answers of a repeat fetch, a
# lookup, a hold and a confirm of claims made at 1.3, the items they hold).
sub old_claims_answer
{
	my ($node, $db) = @_;
	my %item_of = item_of($node, $db);
	return ($node->safe_psql($db, q{SELECT sb_fetch_item('old_a', 'u1'), sb_fetch_item('old_b', 'v2'),
		sb_lookup('old_a', 'u8'), sb_hold_item('old_a', 'u5', '1 hour'), sb_confirm('old_a', 'u6')}),
		join('|', @item_of{qw(u1 v2 u8 u5 u6)}));
}

# Every released version of $extname (@released, oldest first) updated to
# the default version: in a database of its own, CREATE EXTENSION $extname
# VERSION '<v>', a bank with claims (one released) and, from 1.1, a
# dispenser with numbers taken, then ALTER EXTENSION $extname UPDATE.  Each
# upgraded catalog must be the one of database $fresh (a fresh CREATE
# EXTENSION), and the data must be kept and go on.  The released versions
# must be exactly the versions the server offers besides the default one,
# so that a new release cannot be left out.  Runs Test::More tests: 1 + 6 a
# version.
sub update_from_each_release
{
	my ($node, $extname, $fresh, @released) = @_;
	my $default = $node->safe_psql('postgres',
		"SELECT default_version FROM pg_available_extensions WHERE name = '$extname'");
	Test::More::is($node->safe_psql('postgres', qq{
		SELECT string_agg(version, ' ' ORDER BY string_to_array(version, '.')::int[])
		  FROM pg_available_extension_versions WHERE name = '$extname' AND version <> '$default'}),
		"@released", "$extname: the versions besides the default $default are the released @released");
	for my $v (@released)
	{
		(my $db = "from_$v") =~ s/\./_/g;
		my $dispensers = $v ne '1.0';
		$node->safe_psql('postgres', "CREATE DATABASE $db");
		$node->safe_psql($db, qq{
			CREATE EXTENSION $extname VERSION '$v';
			SELECT sb_create_bank('kept', 'kept_scope');
			SELECT sb_add_items('kept', ARRAY['k1', 'k2', 'k3', 'k4']);
			SELECT sb_fetch_item('kept', 'before'), sb_fetch_item('kept', 'gone');
			SELECT sb_release('kept', 'gone');
		} . ($dispensers ? q{
			SELECT sb_create_dispenser('kept_numbers');
			SELECT sb_next('kept_numbers', 3);
		} : ''));
		Test::More::is($node->safe_psql($db, "SELECT extversion FROM pg_extension WHERE extname = '$extname'"),
			$v, "$extname: installed at $v");
		my $before = $node->safe_psql($db, "SELECT sb_lookup('kept', 'before')");
		$node->safe_psql($db, "ALTER EXTENSION $extname UPDATE");
		Test::More::is($node->safe_psql($db, "SELECT extversion FROM pg_extension WHERE extname = '$extname'"),
			$default, "$extname: $v updated to $default");
		my ($facts, $missing, $extra) = catalog_diff($node, $fresh, $db, $extname);
		Test::More::diag("$v: missing after the upgrade: $_") for @$missing;
		Test::More::diag("$v: extra after the upgrade: $_") for @$extra;
		Test::More::is(scalar(@$missing) + scalar(@$extra), 0,
			"$extname: $v updated has the fresh catalog (" . scalar(@$facts) . ' facts compared)');
		Test::More::is($node->safe_psql($db, q{
			SELECT sb_fetch_item('kept', 'before'), sb_lookup('kept', 'gone') IS NULL,
			       sb_fetch_item('kept', 'after') NOT IN ('}
			  . $before . q{'), (SELECT items_total FROM sb_banks WHERE bank = 'kept')}),
			"$before|t|t|4", "$extname: the bank of $v is kept and goes on (repeat, released, new fetch)");
		Test::More::is($node->safe_psql($db, "SELECT sb_hold_item('kept', 'held', '1 hour') IS NOT NULL, "
			  . "sb_confirm('kept', 'held') IS NOT NULL"),
			't|t', "$extname: a hold and a confirm on the bank of $v");
		Test::More::is($node->safe_psql($db, $dispensers
			  ? "SELECT sb_next('kept_numbers')" : "SELECT count(*) FROM sb_dispensers WHERE dispenser <> 'kept_numbers'"),
			$dispensers ? '4' : '2', "$extname: " . ($dispensers
			  ? "the dispenser of $v goes on after the 3 numbers taken" : "1.0 updated has the built-in dispensers"));
	}
}

1;
