
# Upgrades of the C flavour (the SQL flavour's are 081_upgrade_catalog_sql.pl).
# Every released version (1.0 to 1.5), created with CREATE EXTENSION VERSION
# and given a bank and a dispenser, updated with ALTER EXTENSION storagebox
# UPDATE to 2.0, has exactly the catalog of a fresh CREATE EXTENSION
# storagebox, and its data goes on (StorageboxCompare::update_from_each_release).
# In more detail, across 1.4 (holds, per-bank rights): an installation created at 1.3, with banks,
# claims, a released item and a dispenser, updated with ALTER EXTENSION
# storagebox UPDATE, has exactly the catalog of a fresh CREATE EXTENSION
# storagebox in another database -- not only the same member names
# (test/sql/upgrade_c.sql) but the same definitions, privileges and
# dependencies (StorageboxCompare::catalog_query lists the facts compared).
# And the claims made at 1.3 are intact (held_since and hold_expires NULL,
# the same holders) and behave: a repeat fetch answers the same item, a
# lookup finds it, sb_holders lists it, a hold of the same id answers it and
# leaves it permanent, and the banks are unrestricted.

use strict;
use warnings;
use StorageboxFlavour;
use StorageboxCompare;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

plan skip_all => 'the C flavour only (SB_FLAVOR=c; the SQL flavour\'s is 081_upgrade_catalog_sql.pl)' if $sb_flavour ne 'c';

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('postgres', 'CREATE DATABASE upgraded');
$node->safe_psql('fresh', 'CREATE EXTENSION storagebox');

$node->safe_psql('upgraded', StorageboxCompare::data_at_1_3('storagebox'));
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
	'2.0', 'updated through 1.4 and 1.5 to 2.0');

my ($fresh_facts, $missing, $extra) = StorageboxCompare::catalog_diff($node, 'fresh', 'upgraded', 'storagebox');
my @fresh = @$fresh_facts;
my $fresh = join("\n", @fresh);
diag("missing after the upgrade: $_") for @$missing;
diag("extra after the upgrade: $_") for @$extra;
is(scalar(@$missing) + scalar(@$extra), 0,
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
my %item_of = StorageboxCompare::item_of($node, 'upgraded');
my ($answer, $items) = StorageboxCompare::old_claims_answer($node, 'upgraded');
is($answer, $items, 'a repeat fetch, a lookup, a hold and a confirm of an old claim answer its item');
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

StorageboxCompare::update_from_each_release($node, 'storagebox', 'fresh', qw(1.0 1.1 1.2 1.3 1.4 1.5));

$node->stop;
done_testing();
