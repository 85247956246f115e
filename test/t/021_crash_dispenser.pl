
# Crash (issue 5, item 2): dispensers.
#
# Several sessions take numbers with sb_next(d) and sb_next(d, n), some in
# blocks that roll back, and log every number they receive.  The node is
# killed in the middle (stop('immediate'), then SIGKILL of the postmaster),
# restarted, and the sessions take more numbers.  No number received before
# a crash may come again: not the ones whose COMMIT was acknowledged, and not
# the others either (numbers are not transactional, and seq_run.c flushes
# the WAL that covers a run before returning it).  The dispensers' ranges
# are far too large to wrap; 022_crash_dispenser_wrap.pl and
# 023_dispenser_ranges.pl cover ranges that wrap.
#
# SB_CRASH_LOOPS (default 1) repeats the pair of crashes.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes;

use StorageboxLoad;
use StorageboxCheck;

my $loops   = StorageboxLoad::env_int('SB_CRASH_LOOPS', 1);
my $calls   = StorageboxLoad::env_int('SB_CRASH_NUMBER_CALLS', 8000);
my $clients = 8;

my $node = PostgreSQL::Test::Cluster->new('crash_dispenser');
$node->init;
$node->append_conf('postgresql.conf', "restart_after_crash = off\n");
$node->start;

my $cfg = StorageboxLoad::config(calls => $calls, clients => $clients,
	only_numbers => 1);
$cfg->{banks} = [];
$node->safe_psql('postgres', StorageboxLoad::setup_sql($cfg));

my @logs;
my $phase = 0;
my $cut_off = 0;

sub run_phase
{
	my ($how) = @_;
	$phase++;
	my $load = StorageboxLoad::start_load(
		connstr => $node->connstr('postgres'),
		dir     => "$PostgreSQL::Test::Utils::tmp_check/numbers$phase",
		cfg     => $cfg,
		seed    => 100 + $phase);
	if ($how ne 'none')
	{
		my $deadline = Time::HiRes::time() + 60;
		Time::HiRes::sleep(0.1)
		  while StorageboxLoad::progress($load) < $calls / 3
		  && Time::HiRes::time() < $deadline;
		if ($how eq 'immediate')
		{
			$node->stop('immediate');
		}
		else
		{
			my @children = StorageboxLoad::child_pids($node->{_pid});
			$node->kill9;
			ok(StorageboxLoad::wait_pids_gone(120, @children),
				"phase $phase: backends of the killed postmaster are gone");
		}
	}
	my $res = StorageboxLoad::wait_load($load);
	$cut_off += $res->{failed};
	push @logs, @{ $res->{logs} };
	return 1 if $how eq 'none';
	return StorageboxLoad::restart_after_crash($node, "numbers phase $phase ($how)");
}

for my $loop (1 .. $loops)
{
	for my $how ('immediate', 'kill9')
	{
		next if run_phase($how);
		done_testing();
		exit;
	}
}
run_phase('none');
cmp_ok($cut_off, '>', 0, 'the crashes cut off sessions in the middle');

my ($events) = StorageboxCheck::parse_logs(@logs);
my $result = StorageboxCheck::check(
	query  => sub { $node->safe_psql('postgres', $_[0]) },
	events => $events);
my $c = $result->{counts};
diag("021_crash_dispenser ($loops loop(s), " . 2 * $loops . " crashes):"
	  . " dispense_calls=" . ($c->{dispense_calls} // 0)
	  . " numbers_dispensed=" . ($c->{numbers_dispensed} // 0)
	  . " numbers_committed=" . ($c->{numbers_committed} // 0)
	  . " numbers_rolled_back=" . ($c->{numbers_rolled_back} // 0)
	  . " numbers_unknown=" . ($c->{numbers_unknown} // 0)
	  . " number_repeats=" . ($c->{number_repeats} // 0)
	  . " violations=$result->{violations}");
diag($_) for @{ $result->{messages} };

cmp_ok($c->{numbers_dispensed} // 0, '>', 0, 'numbers were dispensed');
is($c->{number_repeats} // 0, 0, 'no number handed out twice across crashes');
is($result->{violations}, 0, 'checker: violations=0');

$node->stop;
done_testing();
