
# Dump and restore (issue 5, item 3; issue 12: holds and bank rights).
#
# Banks partly handed out (some items released again) and dispensers partly
# used are dumped with pg_dump -Fc and restored into a new database: the
# same sb_banks rows, the same holders, the same items and the same
# dispenser positions; holds keep held_since and hold_expires (a live hold
# stays its holder's, a confirmed one permanent), bank rights granted with
# sb_grant stay granted (the roles see the same answers and errors), and
# the banks without grants stay unrestricted.  Then fetch and dispense go on in the restored
# database, and the checker, given the logs of the load before the dump and
# after the restore, finds no item and no number handed out twice.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use StorageboxLoad;
use StorageboxCheck;
use StorageboxCompare;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->start;

# Banks large enough not to run out before the dump.
my $cfg = StorageboxLoad::config(calls => 6000, clients => 8, id_range => 1200);
$node->safe_psql('postgres', StorageboxLoad::setup_sql($cfg));

my $tmp = $PostgreSQL::Test::Utils::tmp_check;
my $res = StorageboxLoad::wait_load(StorageboxLoad::start_load(
		connstr => $node->connstr('postgres'),
		dir     => "$tmp/before_dump",
		cfg     => $cfg,
		calls   => 3000,
		seed    => 1));
is($res->{failed} + length($res->{stderr}), 0, 'load before the dump ran clean');
my @logs = @{ $res->{logs} };

# 1.4: a live hold (a day long), a confirmed hold, an expired hold, and
# bank rights (sb_grant) on one bank; the load's banks stay unrestricted.
$node->safe_psql('postgres', q{
	CREATE ROLE dr_fetcher;
	CREATE ROLE dr_reader;
	CREATE ROLE dr_nobody;
	GRANT EXECUTE ON FUNCTION sb_fetch_item(text, text), sb_hold_item(text, text, interval),
	    sb_lookup(text, text), sb_holders(text) TO dr_fetcher, dr_reader, dr_nobody;
	SELECT sb_create_bank('dr_holds');
	SELECT sb_add_items('dr_holds', array(SELECT 'dr:' || g FROM generate_series(1, 10) g));
	SELECT sb_hold_item('dr_holds', 'live', '1 day');
	SELECT sb_hold_item('dr_holds', 'confirmed', '1 day');
	SELECT sb_confirm('dr_holds', 'confirmed');
	SELECT sb_hold_item('dr_holds', 'expired', '1 millisecond');
	SELECT sb_grant('dr_holds', 'dr_fetcher', 'fetch');
	SELECT sb_grant('dr_holds', 'dr_reader', 'read');
	SELECT sb_create_bank('dr_open');
	SELECT sb_add_items('dr_open', ARRAY['open-1', 'open-2']);
});
# The rights as the roles see them, in a database: a list of answers or
# SQLSTATEs, one per line.
sub rights_seen
{
	my ($db) = @_;
	my @out;
	for my $t (
		[ dr_fetcher => "SELECT sb_fetch_item('dr_holds', 'f1') IS NOT NULL" ],
		[ dr_fetcher => "SELECT count(*) FROM sb_holders('dr_holds')" ],
		[ dr_reader  => "SELECT sb_fetch_item('dr_holds', 'r1')" ],
		[ dr_reader  => "SELECT sb_lookup('dr_holds', 'live')" ],
		[ dr_reader  => "SELECT count(*) FROM sb_holders('dr_holds')" ],
		[ dr_nobody  => "SELECT sb_fetch_item('dr_holds', 'n1')" ],
		[ dr_nobody  => "SELECT sb_lookup('dr_holds', 'live')" ],
		[ dr_nobody  => "SELECT sb_fetch_item('dr_open', 'dr-nobody') IS NOT NULL" ])
	{
		my ($role, $sql) = @$t;
		my ($ret, $stdout, $stderr) = $node->psql($db,
			"BEGIN; SET ROLE $role; $sql; ROLLBACK;",
			extra_params => [ '-v', 'VERBOSITY=sqlstate' ]);
		push @out, "$role: $sql -> " . ($ret == 0 ? $stdout : $stderr =~ s/\s+$//r);
	}
	return join("\n", @out);
}
my $rights_before = rights_seen('postgres');
like($rights_before, qr/dr_fetcher: SELECT sb_fetch_item\('dr_holds', 'f1'\) IS NOT NULL -> t/,
	'before the dump: a role granted fetch fetches from the restricted bank');
like($rights_before, qr/dr_reader: SELECT sb_fetch_item\('dr_holds', 'r1'\) -> .*42501/,
	'before the dump: a role granted only read may not fetch');
like($rights_before, qr/dr_nobody: SELECT sb_fetch_item\('dr_open', 'dr-nobody'\) IS NOT NULL -> t/,
	'before the dump: an unrestricted bank needs no right');
my $holds_before = $node->safe_psql('postgres', q{
	SELECT c.dedup_id, c.hold_expires IS NULL AS permanent,
	       coalesce(c.hold_expires > clock_timestamp() + interval '23 hours', false) AS day_hold,
	       c.held_since IS NOT NULL AS has_since
	  FROM storagebox_data.claim c JOIN storagebox_data.bank b USING (bank_id)
	 WHERE b.bank_name = 'dr_holds' ORDER BY c.dedup_id});
is($holds_before, "confirmed|t|f|t\nexpired|f|f|t\nlive|f|t|t",
	'before the dump: a confirmed, an expired and a day-long hold');

my $before = StorageboxCompare::snapshot($node, 'postgres');
like($before->{banks}, qr/\|[1-9]\d*\|[1-9]\d*$/m, 'banks are partly handed out');

$node->command_ok([ 'pg_dump', '-Fc', '-f', "$tmp/sb.dump", '-d', 'postgres' ],
	'pg_dump -Fc');
$node->command_ok([ 'createdb', 'restored' ], 'createdb');
$node->command_ok([ 'pg_restore', '-d', 'restored', "$tmp/sb.dump" ],
	'pg_restore');

my $after = StorageboxCompare::snapshot($node, 'restored');
for my $what (sort keys %$before)
{
	is($after->{$what}, $before->{$what}, "restored database has the same $what");
}
like($before->{holds}, qr/\|live\|.*\|.*\d/, 'the live hold is among the holds compared');
is(rights_seen('restored'), $rights_before, 'restored database: the roles have the same rights');
is($node->safe_psql('restored', q{
	SELECT count(*) FROM storagebox_data.bank b JOIN pg_class s ON s.oid = b.cursor_seq,
	       aclexplode(s.relacl) a
	 WHERE b.bank_name <> 'dr_holds' AND a.grantee <> s.relowner}), '0',
	'restored database: the unrestricted banks have no grantee');
is($node->safe_psql('restored', q{
	SELECT string_agg(a.grantee::regrole || ':' || a.privilege_type, ',' ORDER BY 1)
	  FROM storagebox_data.bank b JOIN pg_class s ON s.oid = b.cursor_seq,
	       aclexplode(s.relacl) a
	 WHERE b.bank_name = 'dr_holds' AND a.grantee <> s.relowner}),
	'dr_fetcher:USAGE,dr_reader:SELECT', 'restored database: the rights of dr_holds');
# the live hold is still the holder's, the confirmed one permanent
is($node->safe_psql('restored', q{
	SELECT sb_lookup('dr_holds', 'live'), sb_confirm('dr_holds', 'live') = sb_lookup('dr_holds', 'live'),
	       sb_lookup('dr_holds', 'confirmed') IS NOT NULL, sb_lookup('dr_holds', 'expired') IS NULL}),
	$node->safe_psql('postgres', q{SELECT sb_lookup('dr_holds', 'live')}) . '|t|t|t',
	'restored database: the live hold is its holder\'s and can be confirmed; the expired one holds nothing');

$res = StorageboxLoad::wait_load(StorageboxLoad::start_load(
		connstr => $node->connstr('restored'),
		dir     => "$tmp/after_restore",
		cfg     => $cfg,
		calls   => 3000,
		seed    => 2));
is($res->{failed} + length($res->{stderr}), 0, 'load after the restore ran clean')
  or diag($res->{stderr});
push @logs, @{ $res->{logs} };

my ($events) = StorageboxCheck::parse_logs(@logs);
my $result = StorageboxCheck::check_and_report('030_dump_restore',
	sub { $node->safe_psql('restored', $_[0]) }, $events);
is($result->{violations}, 0, 'checker over both loads: violations=0');

$node->stop;
done_testing();
