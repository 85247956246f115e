
# Upgrades of the SQL flavour (SQL flavour only; the C flavour's are
# 080_upgrade_catalog.pl).  Every released version (1.3 to 1.7), created
# with CREATE EXTENSION VERSION and given a bank and a dispenser, updated
# with ALTER EXTENSION storagebox_sql UPDATE to 2.0, has exactly the catalog
# of a fresh CREATE EXTENSION storagebox_sql, and its data goes on
# (StorageboxCompare::update_from_each_release).  In more detail:
# storagebox_sql created at 1.3 (sql/storagebox_sql/storagebox_sql--1.3.sql,
# the base), with banks, claims, a released
# item, a dispenser with numbers taken and a max_count setting, updated with
# ALTER EXTENSION storagebox_sql UPDATE (the scripts 1.3--1.4, 1.4--1.5,
# 1.5--1.6, 1.6--1.7 and 1.7--2.0 in sql/storagebox_sql/),
# has exactly the catalog of a fresh CREATE EXTENSION storagebox_sql in
# another database: definitions (md5 of each PL/pgSQL source and of each
# BEGIN ATOMIC body), privileges, initial privileges, dependencies
# (StorageboxCompare::catalog_query).  The data of 1.3 is kept and behaves:
# a repeat fetch answers the same item, lookup, hold and confirm answer the
# old claims, new ids are fetched, held and confirmed, the dispenser goes on
# where it was, the setting still limits a batch.  In a third database, the
# EXECUTE an operator granted at 1.3 on public functions survives the update
# (CREATE OR REPLACE keeps the ACL) and is not taken into pg_init_privs, and
# the role that has it fetches, looks up and draws numbers under 1.4's
# caller-rights bodies.

use strict;
use warnings;
use StorageboxFlavour;
use StorageboxCompare;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

plan skip_all => 'the SQL flavour only (SB_FLAVOR=sql; the C flavour\'s is 080_upgrade_catalog.pl)'
  if $sb_flavour ne 'sql';

my $node = PostgreSQL::Test::Cluster->new('upgrade_sql');
$node->init;
$node->start;

my $old_data = StorageboxCompare::data_at_1_3('storagebox_sql')
  . 'INSERT INTO storagebox_data.setting (max_count) VALUES (7);';
my $version = "SELECT extversion FROM pg_extension WHERE extname = 'storagebox_sql'";

$node->safe_psql('postgres', "CREATE DATABASE $_") for qw(fresh upgraded granted);
$node->safe_psql('fresh', 'CREATE EXTENSION storagebox_sql');
$node->safe_psql('upgraded', $old_data);
is($node->safe_psql('upgraded', $version), '1.3', 'installed at 1.3');
my @kept = qw(banks holders items dispensers bank_rights);    # the queries 1.3 can answer
my %before = map { $_ => $node->safe_psql('upgraded', $StorageboxCompare::QUERIES{$_}) } @kept;

$node->safe_psql('upgraded', 'ALTER EXTENSION storagebox_sql UPDATE');
is($node->safe_psql('upgraded', $version), '2.0', 'updated through 1.4, 1.5, 1.6 and 1.7 to 2.0');

my ($fresh, $missing, $extra) = StorageboxCompare::catalog_diff($node, 'fresh', 'upgraded', 'storagebox_sql');
diag("missing after the upgrade: $_") for @$missing;
diag("extra after the upgrade: $_") for @$extra;
is(scalar(@$missing) + scalar(@$extra), 0,
	'the upgraded catalog is the fresh one (' . scalar(@$fresh) . ' facts compared)');
my %count;
/^(\w+) / and $count{$1}++ for @$fresh;
cmp_ok($count{function} // 0, '>=', 50, 'at least 50 functions compared');
cmp_ok($count{init_privs} // 0, '>=', 40, 'at least 40 initial privileges compared');
cmp_ok($count{depend} // 0, '>=', 100, 'at least 100 dependencies compared');
ok((grep { /^function sb_lookup\(text,text\) .* lang=sql .* secdef=false config=- sqlbody_md5=[0-9a-f]{32} / } @$fresh),
	'sb_lookup, a caller-rights SQL body in 1.4 (PL/pgSQL SECURITY DEFINER in 1.3), is among the facts compared');
ok((grep { /^function storagebox_data\.fetch_item\(.* acl=\{=X\// } @$fresh),
	'the PUBLIC EXECUTE of a 1.4 body is among the facts compared');
ok((grep { /^function storagebox_data\.require_local_node\(\) / } @$fresh),
	'the Citus guard of 1.5 is among the facts compared');
is(scalar(grep { /^(function|member function) storagebox_data\.(claim_free\(|claim_slot\(integer,bigint,integer,text\)|fetch_new\(integer,integer,regclass,bigint,text\)|held_item\(integer,text\))/ } @$fresh), 0,
	'the 1.3 functions that 1.4 has not are not among the facts (the upgrade dropped them)');
is(scalar(grep { /^(function|member function) storagebox_data\.(claim_slot\(|lock_empty_slot\()/ } @$fresh), 0,
	'the slot claim functions of 1.4 to 1.7 that 2.0 replaced are not among the facts (the upgrade dropped them)');
ok((grep { /^function storagebox_data\.claim_empty_slot\(.* acl=/ } @$fresh),
	'the slot claim of 2.0 is among the facts compared');

# the data of 1.3, kept and behaving
my $after = StorageboxCompare::snapshot($node, 'upgraded');
is($after->{$_}, $before{$_}, "$_ kept") for @kept;
is($after->{holds}, '', 'no claim of 1.3 has hold columns');
is($after->{banks_held}, "old_a|0\nold_b|0", 'no holds after the upgrade');
my %item_of = StorageboxCompare::item_of($node, 'upgraded');
my ($answer, $items) = StorageboxCompare::old_claims_answer($node, 'upgraded');
is($answer, $items, 'a repeat fetch, a lookup, a hold and a confirm of an old claim answer its item');
is($node->safe_psql('upgraded', q{SELECT sb_lookup('old_a', 'u3') IS NULL, sb_release('old_a', 'u7')}),
	"t|$item_of{u7}", 'the id released at 1.3 finds nothing; an old claim is released');
is($node->safe_psql('upgraded', q{SELECT sb_lookup('old_a', 'u7') IS NULL}), 't', 'and then finds nothing');
is($node->safe_psql('upgraded', q{
	SELECT count(*), count(*) FILTER (WHERE held_since IS NULL AND hold_expires IS NULL)
	  FROM sb_holders('old_a')}), '6|6', 'sb_holders lists the old claims, permanent');
my $held = $node->safe_psql('upgraded', q{SELECT sb_hold_item('old_a', 'new', '1 hour')});
like($held, qr/^a\d+$/, 'a new id holds an item of the old bank');
is($node->safe_psql('upgraded', q{SELECT item, hold_expires > now() FROM sb_holders('old_a') WHERE dedup_id = 'new'}),
	"$held|t", 'sb_holders shows the live hold');
is($node->safe_psql('upgraded', q{SELECT sb_confirm('old_a', 'new')}), $held, 'the hold is confirmed');
is($node->safe_psql('upgraded', q{SELECT sb_fetch_item('old_a', 'new'),
		(SELECT hold_expires IS NULL FROM sb_holders('old_a') WHERE dedup_id = 'new')}),
	"$held|t", 'permanent, and a repeat fetch answers it');
is($node->safe_psql('upgraded', q{SELECT array_length(ARRAY(SELECT item FROM sb_fetch_items('old_b', ARRAY['v1', 'w1'])), 1),
		(SELECT item FROM sb_fetch_items('old_b', ARRAY['v1']))}),
	"2|$item_of{v1}", 'sb_fetch_items answers an old claim and fetches a new id');
is($node->safe_psql('upgraded', q{SELECT sb_next('old_numbers'), sb_next('old_numbers', 2)}),
	'6|{7,8}', 'the dispenser goes on after the 5 numbers taken at 1.3');
my ($ret, $out, $err) = $node->psql('upgraded', q{SELECT sb_next('old_numbers', 8)});
like($err, qr/count must be between 1 and 7\b/, 'the max_count of 1.3 (7) still limits a batch') or diag("ret=$ret out=$out");
is($node->safe_psql('upgraded', 'SELECT max_count FROM storagebox_data.setting'), '7', 'the setting is kept');

# Grants an operator made at 1.3 survive the update, outside pg_init_privs.
my @granted = ('sb_fetch_item(text,text)', 'sb_lookup(text,text)', 'sb_next(text)');
my $facts = q{
	SELECT p.oid::regprocedure || ' ' || p.proacl::text || ' ' || coalesce(ip.initprivs::text, '-')
	  FROM pg_proc p LEFT JOIN pg_init_privs ip ON ip.classoid = 'pg_proc'::regclass AND ip.objoid = p.oid
	 WHERE p.oid IN ('sb_fetch_item(text,text)'::regprocedure, 'sb_lookup(text,text)'::regprocedure,
	                 'sb_next(text)'::regprocedure) ORDER BY 1};
$node->safe_psql('granted', $old_data . q{
	CREATE ROLE upg_op;
	GRANT EXECUTE ON FUNCTION sb_fetch_item(text, text), sb_lookup(text, text), sb_next(text) TO upg_op;
	SELECT sb_grant_dispenser('old_numbers', 'upg_op');
});
my $grants_before = $node->safe_psql('granted', $facts);
like($grants_before, qr/upg_op=X/, 'the operator\'s grants at 1.3');
$node->safe_psql('granted', 'ALTER EXTENSION storagebox_sql UPDATE');
is($node->safe_psql('granted', $facts), $grants_before,
	'after the update: the same ACLs and initial privileges (the grants survive, not as initial privileges)');
unlike($node->safe_psql('granted', "SELECT string_agg(initprivs::text, ' ') FROM pg_init_privs"),
	qr/upg_op/, 'no initial privilege names the operator\'s role');
($ret, $out, $err) = $node->psql('granted',
	"SET ROLE upg_op; SELECT sb_fetch_item('old_b', 'app-1'), sb_lookup('old_a', 'u1'), sb_next('old_numbers');");
is($out, 'b3|' . $node->safe_psql('granted', "SELECT sb_lookup('old_a', 'u1')") . '|6',
	'the role with the EXECUTE granted at 1.3 fetches, looks up and draws numbers (old banks are unrestricted)')
  or diag($err);

StorageboxCompare::update_from_each_release($node, 'storagebox_sql', 'fresh', qw(1.3 1.4 1.5 1.6 1.7));

$node->stop;
done_testing();
