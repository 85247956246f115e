
# Dump and restore (issue 5, item 3).
#
# Banks partly handed out (some items released again) and dispensers partly
# used are dumped with pg_dump -Fc and restored into a new database: the
# same sb_banks rows, the same holders, the same items and the same
# dispenser positions.  Then fetch and dispense go on in the restored
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
