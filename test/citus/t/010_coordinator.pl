
# storagebox on a Citus cluster (issue 13), either flavour (SB_FLAVOR): a
# coordinator and two workers on loopback, started by tools/citus_cluster.sh.  Skipped, and counted as
# skipped, where Citus is not installed (it is not packaged for Debian 12;
# README, "Scaling out with Citus", says how to build it).
#
# What it shows:
#  - CREATE EXTENSION on the coordinator reaches the workers, and there every
#    storagebox function refuses (0A000) instead of using the worker's own,
#    separate tables;
#  - 16 clients on the coordinator, over 4 banks in 4 scopes plus 2 banks
#    sharing one scope, with a worker restarted in the middle: the
#    exactly-once checker finds 0 violations;
#  - dispenser numbers are unique across nodes: only the coordinator hands
#    them out;
#  - once a storagebox table is put into Citus metadata (distributed, or a
#    reference table), every function refuses with 0A000 and changes
#    nothing.

use strict;
use warnings;

use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes;

use StorageboxCheck;
use StorageboxCitus;
use StorageboxFlavour;
use StorageboxLoad;

my $port  = StorageboxCitus::start();
my @ports = ($port, $port + 1, $port + 2);
my $bindir = $ENV{PG_BINDIR};

my $cfg = StorageboxLoad::config(calls => 40000, clients => 16);
$cfg->{banks} = [
	(map { { bank => "solo_$_", scope => undef, items => int(0.15 * $cfg->{id_range}) } } 1 .. 4),
	{ bank => 'pair_a', scope => 'pair', items => int(0.20 * $cfg->{id_range}) },
	{ bank => 'pair_b', scope => 'pair', items => int(0.15 * $cfg->{id_range}) },
];
query($port, StorageboxLoad::setup_sql($cfg));

# --- the workers: the extension is there, and refuses -------------------
for my $w (@ports[ 1, 2 ])
{
	is(query($w, "SELECT extversion FROM pg_extension WHERE extname = '$sb_extension'"),
		query($port, "SELECT extversion FROM pg_extension WHERE extname = '$sb_extension'"),
		"worker $w has the extension, at the coordinator's version");
	all_refuse($w, 'storagebox runs on the Citus coordinator, not on a worker node',
		"worker $w",
		"sb_fetch_item('solo_1', 'u1')", "sb_lookup('solo_1', 'u1')",
		"sb_release('solo_1', 'u1')", "sb_hold_item('solo_1', 'u1', '1 minute')",
		"sb_confirm('solo_1', 'u1')", "sb_fetch_items('solo_1', array['u1'])",
		"* FROM sb_holders('solo_1')", "sb_create_bank('new_bank')",
		"sb_add_items('solo_1', array['x'])", "sb_drop_bank('solo_1')",
		"sb_next('tickets')", "sb_next('tickets', 10)", "sb_forward()",
		"sb_reverse(5)", "sb_create_dispenser('d', 'forward', 1, 10)",
		"sb_drop_dispenser('tickets')", "* FROM sb_dispensers");
	is(query($w, 'SELECT count(*) FROM storagebox_data.claim'), '0',
		"worker $w: its own claim table stayed empty");
}

# --- exactly once, clients on the coordinator, a worker restarted --------
my $load = StorageboxLoad::start_load(
	connstr => connstr($port),
	dir     => "$PostgreSQL::Test::Utils::tmp_check/load",
	cfg     => $cfg,
	seed    => 13);
# restart a worker early in the load, which goes on meanwhile
my $deadline = time() + 120;
Time::HiRes::sleep(0.05) while StorageboxLoad::progress($load) < 500 && time() < $deadline;
my $node1 = StorageboxCitus::node_dir(1);
is(system("'$bindir/pg_ctl' -D '$node1' -m fast -w restart -l '$node1.log' >/dev/null"), 0,
	'worker 1 restarted while the load ran');
my $lines_at_restart = StorageboxLoad::progress($load);
my $res = StorageboxLoad::wait_load($load);
cmp_ok(StorageboxLoad::progress($load), '>', $lines_at_restart, 'the clients went on answering after the restart');
note sprintf('load: %d fetch calls, %.1f s', $cfg->{calls}, $res->{seconds});
is($res->{failed}, 0, 'every client ran its script to the end');
is($res->{stderr}, '', 'no client saw an error');

my ($events, $incomplete) = StorageboxCheck::parse_logs(@{ $res->{logs} });
is($incomplete, 0, 'every client log is complete');
my $result = StorageboxCheck::check(query => sub { query($port, $_[0]) }, events => $events);
diag('010_coordinator: ' . StorageboxCheck::summary($result));
diag($_) for @{ $result->{messages} };
cmp_ok($result->{counts}{fetch_calls}, '>=', $cfg->{calls}, "at least $cfg->{calls} fetch calls logged");
cmp_ok($result->{counts}{null_answers}, '>', 0, 'the banks ran out during the run');
is($result->{violations}, 0, 'checker: violations=0');

# --- dispensers: one node hands out numbers ------------------------------
my $taken = query($port, "SELECT count(*), count(DISTINCT n) FROM"
	  . " (SELECT unnest(sb_next('tickets', 100)) n FROM generate_series(1, 50)) s");
is($taken, '5000|5000', 'the coordinator hands out 5000 distinct numbers');
for my $w (@ports[ 1, 2 ])
{
	my ($rc, $out, $err) = run_sql($w, "SELECT sb_next('tickets', 100)");
	ok($rc != 0 && $err =~ /0A000/, "worker $w hands out no number that could repeat one of the coordinator's");
}

# --- a storagebox table in Citus metadata: every function refuses --------
my $before = query($port, 'SELECT count(*), count(dedup_id) FROM storagebox_data.claim');
query($port, "SELECT create_reference_table('storagebox_data.dispenser')");
all_refuse($port, 'storagebox table "storagebox_data.dispenser" is managed by Citus',
	'dispenser a reference table',
	"sb_next('tickets')", "sb_forward()", "sb_fetch_item('solo_1', 'late')");
query($port, "SELECT create_distributed_table('storagebox_data.item', 'bank_id')");
all_refuse($port, 'storagebox table "storagebox_data.(dispenser|item)" is managed by Citus',
	'item distributed',
	"sb_fetch_item('solo_1', 'late')", "sb_fetch_item('pair_a', 'late')",
	"sb_lookup('solo_1', 'u1')", "sb_release('solo_1', 'u1')",
	"sb_hold_item('solo_1', 'late', '1 minute')", "sb_confirm('solo_1', 'u1')",
	"sb_fetch_items('solo_1', array['late'])", "* FROM sb_holders('solo_1')",
	"sb_create_bank('new_bank')", "sb_add_items('solo_1', array['x'])",
	"sb_drop_bank('solo_1')", "sb_grant('solo_1', 'postgres', 'fetch')");
is(query($port, 'SELECT count(*), count(dedup_id) FROM storagebox_data.claim'), $before,
	'the refused calls changed no claim');

done_testing();
