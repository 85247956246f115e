
# Crash (issue 5, item 2): item banks.  021_crash_dispenser.pl does numbers.
#
# The load of 010 (without sb_next) runs against a node that is killed in
# the middle, once with stop('immediate') and once with SIGKILL of the
# postmaster; after each restart the load goes on, and at the end the
# checker runs over the logs of every phase.  It proves that no item is held
# twice, that every fetch whose COMMIT a client saw acknowledged is still
# there, and that counts are conserved.
#
# Then a committed hold and a confirmed one survive an immediate-mode crash
# with their held_since and hold_expires (1.4).
#
# SB_CRASH_LOOPS (default 1) repeats the pair of crashes; SB_CRASH_CALLS
# (default 30000) is the fetch calls of each phase.  tools/long_load.sh runs
# many loops.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes;

use StorageboxLoad;
use StorageboxCheck;

my $loops   = StorageboxLoad::env_int('SB_CRASH_LOOPS', 1);
my $calls   = StorageboxLoad::env_int('SB_CRASH_CALLS', 30000);
my $clients = StorageboxLoad::env_int('SB_LOAD_CLIENTS', 16);

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 40\nrestart_after_crash = off\n");
$node->start;

my $cfg = StorageboxLoad::config(calls => $calls, clients => $clients,
	p_dispense => 0);
$node->safe_psql('postgres', StorageboxLoad::setup_sql($cfg));

my @logs;
my $phase = 0;
my $crashed_clients = 0;

# Run one phase of load and crash the node in the middle with $how.
sub crash_phase
{
	my ($how) = @_;
	$phase++;
	my $load = StorageboxLoad::start_load(
		connstr => $node->connstr('postgres'),
		dir     => "$PostgreSQL::Test::Utils::tmp_check/phase$phase",
		cfg     => $cfg,
		seed    => $phase);

	# Let about a third of the calls run (psql's output is block-buffered,
	# so the count lags; the deadline bounds it anyway).
	my $deadline = Time::HiRes::time() + 60;
	Time::HiRes::sleep(0.2)
	  while StorageboxLoad::progress($load) < $calls / 3
	  && Time::HiRes::time() < $deadline;

	if ($how eq 'immediate')
	{
		$node->stop('immediate');
	}
	else
	{
		# Backends outlive a SIGKILLed postmaster until they notice; the
		# old shared memory must be free before a new postmaster starts.
		my @children = StorageboxLoad::child_pids($node->{_pid});
		$node->kill9;
		ok(StorageboxLoad::wait_pids_gone(120, @children),
			"phase $phase: backends of the killed postmaster are gone");
	}
	my $res = StorageboxLoad::wait_load($load);
	$crashed_clients += $res->{failed};
	note sprintf("phase %d (%s): %.1f s, %d of %d clients cut off",
		$phase, $how, $res->{seconds}, $res->{failed}, $clients);
	push @logs, @{ $res->{logs} };
	return StorageboxLoad::restart_after_crash($node, "phase $phase ($how)");
}

for my $loop (1 .. $loops)
{
	for my $how ('immediate', 'kill9')
	{
		next if crash_phase($how);
		done_testing();
		exit;
	}
}

# After the last restart: more fetches and numbers, and no crash.
$phase++;
my $load = StorageboxLoad::start_load(
	connstr => $node->connstr('postgres'),
	dir     => "$PostgreSQL::Test::Utils::tmp_check/phase$phase",
	cfg     => $cfg,
	calls   => int($calls / 3),
	seed    => $phase);
my $res = StorageboxLoad::wait_load($load);
is($res->{failed}, 0, 'after the last restart every client ran to the end');
is($res->{stderr}, '', 'after the last restart no client saw an error');
push @logs, @{ $res->{logs} };

cmp_ok($crashed_clients, '>', 0, 'the crashes cut off clients in the middle');

my ($events) = StorageboxCheck::parse_logs(@logs);
my $result = StorageboxCheck::check(
	query  => sub { $node->safe_psql('postgres', $_[0]) },
	events => $events);
diag("020_crash ($loops loop(s), "
	  . 2 * $loops . " crashes): "
	  . StorageboxCheck::summary($result));
diag($_) for @{ $result->{messages} };

cmp_ok($result->{counts}{committed_answers_checked}, '>', 0,
	'acknowledged fetches were checked against the database');
is($result->{violations}, 0, 'checker: violations=0');

# Holds (1.4): a committed hold survives an immediate-mode crash with its
# expiry, and so does a confirmed one; a hold whose transaction was still
# open at the crash is gone, its item free again.
$node->safe_psql('postgres', q{
	SELECT sb_create_bank('crash_holds');
	SELECT sb_add_items('crash_holds', ARRAY['ch-1', 'ch-2', 'ch-3']);
	SELECT sb_hold_item('crash_holds', 'held', '1 day');
	SELECT sb_hold_item('crash_holds', 'confirmed', '1 day');
	SELECT sb_confirm('crash_holds', 'confirmed');
});
my $holds_sql = q{
	SELECT c.dedup_id, i.item, c.held_since, c.hold_expires
	  FROM storagebox_data.claim c JOIN storagebox_data.item i USING (bank_id, slot)
	  JOIN storagebox_data.bank b USING (bank_id)
	 WHERE b.bank_name = 'crash_holds' AND c.dedup_id IS NOT NULL ORDER BY c.slot};
my $holds_before = $node->safe_psql('postgres', $holds_sql);
like($holds_before, qr/^held\|ch-1\|[^|]+\|[^|]+\nconfirmed\|ch-2\|[^|]+\|$/,
	'holds before the crash: ch-1 held with an expiry, ch-2 confirmed');
my $open = $node->background_psql('postgres');
$open->query_safe('BEGIN');
is($open->query_safe(q{SELECT sb_hold_item('crash_holds', 'open', '1 day')}), 'ch-3',
	'a hold in a transaction left open at the crash');
$node->stop('immediate');
$open->{run}->kill_kill;
if (StorageboxLoad::restart_after_crash($node, 'holds'))
{
	is($node->safe_psql('postgres', $holds_sql), $holds_before,
		'after the crash: the same holds, with the same held_since and hold_expires');
	is($node->safe_psql('postgres', q{
		SELECT sb_lookup('crash_holds', 'held'), sb_lookup('crash_holds', 'confirmed'),
		       coalesce(sb_lookup('crash_holds', 'open'), '-'), items_held, items_left
		  FROM sb_banks WHERE bank = 'crash_holds'}),
		'ch-1|ch-2|-|1|1', 'after the crash: the holders have their items; the open hold is gone');
	is($node->safe_psql('postgres', q{
		SELECT sb_hold_item('crash_holds', 'other', '1 day'), sb_confirm('crash_holds', 'held')}),
		'ch-3|ch-1', 'after the crash: the free item is handed out, the hold can be confirmed');
}

$node->stop;
done_testing();
