
# Crash on short wrapping ranges (issue 9): 8 clients take single numbers
# and batches from a forward 1..999 and a reverse 999..1 dispenser, some in
# blocks that roll back, and log every answer.  The node is crashed at a
# random point of each of five phases, alternately with stop('immediate')
# and SIGKILL of the postmaster, restarted, and a last phase runs to the end.
# StorageboxCycle replays the hand-out order of every phase from the
# next_value read before it and checks that no number came back before its
# turn and that each crash skipped at most the documented gap.
#
# SB_WRAP_SEED repeats a run (the seed is printed); SB_WRAP_CALLS sets the
# calls per client and phase.
#
# The SQL flavour cannot flush WAL before it returns a number, only at its
# transaction's commit (README, "What differs from the C build"), so for it
# the numbers of a block in a phase that ends in a crash count as received
# only once the block's COMMIT is known to have completed (the client ran a
# statement after it); the others count like numbers of a call that got no
# answer: they may come again.
# Single calls run in autocommit, and their answer reaches the client only
# after the commit, so they are held to the full rule in both flavours.

use strict;
use warnings;
use StorageboxFlavour;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes;

use StorageboxLoad;
use StorageboxCycle;

my $seed    = StorageboxLoad::env_int('SB_WRAP_SEED', int(Time::HiRes::time() * 1000) % 1000000);
my $calls   = StorageboxLoad::env_int('SB_WRAP_CALLS', 300);
my $clients = 8;
my $crashes = 5;
my $max_n   = 20;
diag("022_crash_dispenser_wrap: seed $seed (SB_WRAP_SEED=$seed repeats this run)");
srand($seed);

my %disp = (
	deli      => { min => 1, max => 999, dir => 'forward' },
	countdown => { min => 1, max => 999, dir => 'reverse' },
);
my @names = sort keys %disp;

my $node = PostgreSQL::Test::Cluster->new('crash_wrap');
$node->init;
$node->append_conf('postgresql.conf', "restart_after_crash = off\n");
$node->start;
$node->safe_psql('postgres',
	"CREATE EXTENSION $sb_extension;\n"
	  . join('', map { "SELECT sb_create_dispenser('$_', '$disp{$_}{dir}', $disp{$_}{min}, $disp{$_}{max});\n" } @names));

sub next_values
{
	my %next = map { split /\|/ } split /\n/,
	  $node->safe_psql('postgres', 'SELECT dispenser, next_value FROM sb_dispensers');
	return \%next;
}

# One client's script: its calls (dispenser, count), a tenth in blocks that
# commit or roll back.  Every answer is one line "index|numbers".
sub client_script
{
	my @calls;
	my @sql;
	while (@calls < $calls)
	{
		my $r = rand();
		my @block = ($r < 0.1) ? (1 + int(rand(3))) : (1);
		push @sql, 'BEGIN;' if $r < 0.1;
		my @in_block;
		for (1 .. $block[0])
		{
			my $d = $names[ int(rand(@names)) ];
			my $n = rand() < 0.5 ? 0 : 1 + int(rand($max_n));
			my $call = $n ? "array_to_string(sb_next('$d', $n), ',')" : "sb_next('$d')::text";
			push @sql, "SELECT " . scalar(@calls) . " || '|' || $call;";
			# [dispenser, count, in a block, block commits, last call of the block]
			push @calls, [ $d, $n || 1, $r < 0.1 ? 1 : 0, $r < 0.05 ? 1 : 0, undef ];
			push @in_block, $calls[-1];
		}
		$_->[4] = $#calls for @in_block;
		push @sql, ($r < 0.05 ? 'COMMIT;' : 'ROLLBACK;') if $r < 0.1;
	}
	return (join("\n", @sql) . "\n", \@calls);
}

my %phases = map { $_ => [] } @names;
my $cut_total = 0;
my $sql_unconfirmed = 0;    # SQL flavour: answers of blocks not known committed
my $dir = "$PostgreSQL::Test::Utils::tmp_check/wrap";
mkdir $dir;

for my $phase (1 .. $crashes + 1)
{
	my $crash = $phase <= $crashes ? ($phase % 2 ? 'immediate' : 'kill9') : '';
	my $start = next_values();
	my @c;
	for my $i (1 .. $clients)
	{
		my ($sql, $list) = client_script();
		my $base = "$dir/p${phase}c$i";
		open(my $fh, '>', "$base.sql") or die;
		print $fh $sql;
		close($fh);
		my $h = IPC::Run::start(
			[ 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
			  '-d', $node->connstr('postgres'), '-f', "$base.sql" ],
			'<', \undef, '>', "$base.log", '2>', "$base.err");
		push @c, { h => $h, log => "$base.log", calls => $list };
	}

	if ($crash)
	{
		# a random point between a fifth and four fifths of the phase
		my $target = int($clients * $calls * (0.2 + 0.6 * rand()));
		my $deadline = Time::HiRes::time() + 120;
		while (Time::HiRes::time() < $deadline)
		{
			my $lines = 0;
			for my $cl (@c)
			{
				open(my $fh, '<', $cl->{log}) or next;
				$lines++ while <$fh>;
				close($fh);
			}
			last if $lines >= $target;
			Time::HiRes::sleep(0.02);
		}
		if ($crash eq 'immediate')
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

	my %runs = map { $_ => [] } @names;
	my %lost = map { $_ => 0 } @names;
	my $cut = 0;
	for my $cl (@c)
	{
		my $finished = $cl->{h}->finish;
		open(my $fh, '<', $cl->{log}) or die;
		my $last = -1;
		my @answers;
		while (my $l = <$fh>)
		{
			chomp $l;
			next unless $l =~ /^(\d+)\|([-\d,]+)$/;
			$last = $1;
			push @answers, [ $1, [ split /,/, $2 ] ];
		}
		close($fh);
		for my $a (@answers)
		{
			my ($idx, $numbers) = @$a;
			my $call = $cl->{calls}[$idx];
			# SQL flavour: a block's numbers hold only once its COMMIT completed
			if ($sb_flavour eq 'sql' && $crash && $call->[2]
				&& !($call->[3] && ($finished || $last > $call->[4])))
			{
				$lost{ $call->[0] } += scalar @$numbers;
				$sql_unconfirmed++;
				next;
			}
			push @{ $runs{ $call->[0] } }, $numbers;
		}
		next if $finished;
		die "phase $phase: a client failed without a crash" unless $crash;
		$cut++;
		# the call after the last answer may have taken numbers
		my $next = $cl->{calls}[ $last + 1 ];
		$lost{ $next->[0] } += $next->[1] if $next;
	}
	$cut_total += $cut;
	diag("phase $phase: " . ($crash ? "$crash crash cut off $cut clients" : 'ran to the end'));
	for my $d (@names)
	{
		push @{ $phases{$d} }, {
			start   => $start->{$d},
			runs    => $runs{$d},
			lost    => $lost{$d},
			crashed => $crash ? 1 : 0,
		};
	}
	if ($crash)
	{
		last unless StorageboxLoad::restart_after_crash($node, "phase $phase ($crash)");
	}
}

cmp_ok($cut_total, '>', 0, 'the crashes cut clients off in the middle');
my $end = next_values();
my $total = 0;
for my $d (@names)
{
	my $res = StorageboxCycle::check_phases(
		dispenser => $disp{$d},
		max_count => $max_n,
		phases    => $phases{$d},
		end       => $end->{$d});
	$total += $res->{checked};
	diag(sprintf("022 %s (%s %d..%d): %d numbers checked in hand-out order over %.1f laps;"
		  . " crash gaps %s (bound %d)",
		$d, $disp{$d}{dir}, $disp{$d}{min}, $disp{$d}{max}, $res->{checked},
		$res->{laps}, join(',', @{ $res->{gaps} }), $res->{bound}));
	diag($_) for @{ $res->{messages} }[ 0 .. ($#{ $res->{messages} } < 19 ? $#{ $res->{messages} } : 19) ];
	is(scalar @{ $res->{messages} }, 0, "$d: no number before its turn, every crash gap within the bound");
	cmp_ok($res->{checked}, '>', 5000, "$d: enough numbers checked");
	cmp_ok($res->{laps}, '>', 10, "$d: the range wrapped many times");
}
diag("022_crash_dispenser_wrap: $total numbers checked"
	  . ($sb_flavour eq 'sql' ? "; $sql_unconfirmed answers of blocks not known committed held to no rule" : ''));

$node->stop;
done_testing();
