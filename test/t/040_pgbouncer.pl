
# Connection pooler (issue 5, item 4).
#
# pgbouncer in transaction pooling mode, 4 server connections, in front of
# the node.  32 logging psql clients run the load of 010 through it, while
# pgbench -c 16 calls sb_fetch_item with random ids (of its own, "p...") and
# sb_next through it too.  The checker then passes over the logged answers.
# Skipped when pgbouncer is not installed.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

use StorageboxLoad;
use StorageboxCheck;

my $pgbouncer = $ENV{PGBOUNCER} // '/usr/sbin/pgbouncer';
plan skip_all => "pgbouncer not installed ($pgbouncer)" unless -x $pgbouncer;

my $node = PostgreSQL::Test::Cluster->new('pooled');
$node->init;
$node->start;

my $calls = StorageboxLoad::env_int('SB_POOL_CALLS', 20000);
my $cfg = StorageboxLoad::config(calls => $calls, clients => 32);
$node->safe_psql('postgres', StorageboxLoad::setup_sql($cfg));

my $tmp  = $PostgreSQL::Test::Utils::tmp_check;
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $user = getpwuid($<);
open(my $fh, '>', "$tmp/userlist.txt") or die;
print $fh "\"$user\" \"\"\n";
close($fh);
open($fh, '>', "$tmp/pgbouncer.ini") or die;
print $fh <<"INI";
[databases]
postgres = host=${\ $node->host} port=${\ $node->port} dbname=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $tmp/userlist.txt
pool_mode = transaction
default_pool_size = 4
max_client_conn = 200
logfile = $tmp/pgbouncer.log
pidfile = $tmp/pgbouncer.pid
ignore_startup_parameters = extra_float_digits
INI
close($fh);

my $bouncer = IPC::Run::start([ $pgbouncer, "$tmp/pgbouncer.ini" ],
	'>', "$tmp/pgbouncer.out", '2>&1');
my $via = "host=127.0.0.1 port=$port dbname=postgres";

# wait until pgbouncer accepts connections
my $up = 0;
for (1 .. 100)
{
	if (system('psql', '-XAtq', '-d', $via, '-c', 'SELECT 1') == 0)
	{
		$up = 1;
		last;
	}
	select(undef, undef, undef, 0.1);
}
ok($up, 'pgbouncer accepts connections') or BAIL_OUT('pgbouncer did not start');

open($fh, '>', "$tmp/pgbench.sql") or die;
print $fh <<'SQL';
\set id random(1, 500)
SELECT sb_fetch_item('solo', 'p' || :id);
SELECT sb_next('tickets');
SELECT sb_next('countdown', 5);
SQL
close($fh);

my $load = StorageboxLoad::start_load(
	connstr => $via,
	dir     => "$tmp/pooled",
	cfg     => $cfg,
	seed    => 1);
my ($bench_out, $bench_err);
my $bench = IPC::Run::start(
	[ 'pgbench', '-n', '-M', 'simple', '-c', '16', '-j', '2', '-t', '150',
	  '-f', "$tmp/pgbench.sql", $via ],
	'>', \$bench_out, '2>', \$bench_err);
my $res = StorageboxLoad::wait_load($load);
my $bench_ok = $bench->finish;
note sprintf("pooled load: 32 clients, %d fetch calls, %.1f s", $calls, $res->{seconds});
ok($bench_ok, 'pgbench through pgbouncer succeeded') or diag($bench_err);
like($bench_out, qr/number of failed transactions: 0\b|number of transactions actually processed: 2400\//,
	'pgbench: every transaction processed');
is($res->{failed}, 0, 'every client ran its script to the end through pgbouncer');
is($res->{stderr}, '', 'no client saw an error');

$bouncer->kill_kill;

my ($events, $incomplete) = StorageboxCheck::parse_logs(@{ $res->{logs} });
is($incomplete, 0, 'every client log is complete');
my $result = StorageboxCheck::check_and_report('040_pgbouncer',
	sub { $node->safe_psql('postgres', $_[0]) }, $events);
cmp_ok($result->{counts}{fetch_calls}, '>=', $calls, "at least $calls fetch calls logged");
is($result->{violations}, 0, 'checker: violations=0');

$node->stop;
done_testing();
