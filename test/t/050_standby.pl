
# Standby (issue 5, item 5).
#
# A streaming replica of a node under load has the handed-out items and
# their holders; sb_fetch_item and sb_next fail there with a read-only
# error; after promotion the new primary goes on fetching and dispensing,
# and the checker over the logs of both finds no item or number handed out
# twice.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes;

use StorageboxLoad;
use StorageboxCheck;
use StorageboxCompare;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;

my $cfg = StorageboxLoad::config(calls => 6000, clients => 8, id_range => 1200);
$primary->safe_psql('postgres', StorageboxLoad::setup_sql($cfg));

$primary->backup('b1');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b1', has_streaming => 1);
$standby->start;

my $tmp = $PostgreSQL::Test::Utils::tmp_check;
my $res = StorageboxLoad::wait_load(StorageboxLoad::start_load(
		connstr => $primary->connstr('postgres'),
		dir     => "$tmp/on_primary",
		cfg     => $cfg,
		calls   => 3000,
		seed    => 1));
is($res->{failed} + length($res->{stderr}), 0, 'load on the primary ran clean');
my @logs = @{ $res->{logs} };

# Catch up, but fail fast (with the standby's log) if the standby died.
my $target = $primary->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
my $caught_up = 0;
for (1 .. 600)
{
	last unless kill(0, $standby->{_pid});
	my ($rc, $out) = $standby->psql('postgres',
		"SELECT pg_last_wal_replay_lsn() >= '$target'::pg_lsn");
	if ($rc == 0 && $out eq 't')
	{
		$caught_up = 1;
		last;
	}
	Time::HiRes::sleep(0.1);
}
if (!ok($caught_up, 'standby replayed the load'))
{
	diag($_) for grep { /PANIC|FATAL|CONTEXT/ }
	  split /\n/, slurp_file($standby->logfile);
	$standby->{_pid} = undef unless kill(0, $standby->{_pid} // 0);
	done_testing();
	exit;
}

my $on_primary = StorageboxCompare::snapshot($primary, 'postgres');
my $on_standby = StorageboxCompare::snapshot($standby, 'postgres');
for my $what (qw(banks holders items))
{
	is($on_standby->{$what}, $on_primary->{$what}, "standby has the same $what");
}

for my $call ("sb_fetch_item('team_a', 'u1')", "sb_fetch_item('solo', 'new-id')",
	"sb_next('tickets')", "sb_next('countdown', 5)", 'sb_forward()')
{
	my ($rc, $out, $err) = $standby->psql('postgres', "SELECT $call");
	isnt($rc, 0, "$call fails on the standby");
	like($err, qr/read-only/, "$call on the standby: read-only error")
	  or diag($err);
}

$primary->stop;
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'standby did not leave recovery';

$res = StorageboxLoad::wait_load(StorageboxLoad::start_load(
		connstr => $standby->connstr('postgres'),
		dir     => "$tmp/after_promotion",
		cfg     => $cfg,
		calls   => 3000,
		seed    => 2));
is($res->{failed} + length($res->{stderr}), 0, 'load on the promoted standby ran clean')
  or diag($res->{stderr});
push @logs, @{ $res->{logs} };

my ($events) = StorageboxCheck::parse_logs(@logs);
my $result = StorageboxCheck::check_and_report('050_standby',
	sub { $standby->safe_psql('postgres', $_[0]) }, $events);
is($result->{violations}, 0, 'checker over primary and promoted standby: violations=0');

$standby->stop;
done_testing();
