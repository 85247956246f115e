
# Exactly-once under load (issue 5, item 1).
#
# 16 psql clients make SB_LOAD_CALLS sb_fetch_item calls (default 100000)
# with dedup_ids from a small, moving range, against banks smaller than the
# demand; some calls sit in transactions that roll back, some are
# sb_release, some sb_next.  Every client logs every answer; the checker
# (test/perl/StorageboxCheck.pm) then proves nothing was handed out twice or
# lost.  tools/long_load.sh runs this with 1,000,000 calls.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use StorageboxLoad;
use StorageboxCheck;

my $calls   = StorageboxLoad::env_int('SB_LOAD_CALLS',   100000);
my $clients = StorageboxLoad::env_int('SB_LOAD_CLIENTS', 16);

my $node = PostgreSQL::Test::Cluster->new('load');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 40\n");
$node->start;

my $cfg = StorageboxLoad::config(calls => $calls, clients => $clients);
$node->safe_psql('postgres', StorageboxLoad::setup_sql($cfg));

my $load = StorageboxLoad::start_load(
	connstr => $node->connstr('postgres'),
	dir     => "$PostgreSQL::Test::Utils::tmp_check/load",
	cfg     => $cfg,
	seed    => 1);
my $res = StorageboxLoad::wait_load($load);
note sprintf("load: %d clients, %d fetch calls, %.1f s", $clients, $calls,
	$res->{seconds});

is($res->{failed}, 0, 'every client ran its script to the end');
is($res->{stderr}, '', 'no client saw an error');

my ($events, $incomplete) = StorageboxCheck::parse_logs(@{ $res->{logs} });
is($incomplete, 0, 'every client log is complete');

my $result = StorageboxCheck::check(
	query  => sub { $node->safe_psql('postgres', $_[0]) },
	events => $events);
my $summary = StorageboxCheck::summary($result);
diag("010_load_checker: $summary");
diag($_) for @{ $result->{messages} };

cmp_ok($result->{counts}{fetch_calls}, '>=', $calls, "at least $calls fetch calls logged");
cmp_ok($result->{counts}{null_answers}, '>', 0, 'the banks ran out during the run');
cmp_ok($result->{counts}{fetch_rolled_back}, '>', 0, 'some fetches rolled back');
cmp_ok($result->{counts}{releases_effective} // 0, '>', 0, 'some releases freed an item');
is($result->{violations}, 0, 'checker: violations=0');

$node->stop;
done_testing();
