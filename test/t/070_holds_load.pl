
# Holds under load (issue 12).
#
# 16 clients hold items for 200 ms to 1 s from three small banks (two share
# a dedup scope) and confirm 70% of their holds after a random delay of up
# to 1.3 times the hold (so some confirms come too late and answer NULL),
# abandoning the other 30% (a quarter of those cancelled with sb_release,
# the rest left to expire).  Some holds are asked again (sb_hold_item or
# sb_fetch_item of the same id) before the confirm; some are taken in a
# block that commits or rolls back; a client whose confirm came too late
# holds the same id again half of the time.  Demand is well above supply:
# the banks are sold out most of the time and expired holds must be handed
# out again; a top-up client adds a few items now and then so that this
# goes on to the end: 6 items for every 50 holds asked.
#
# Once every hold has expired, the checker (StorageboxCheck::check and
# check_holds) proves from the database and the client logs:
#   - no item held by two live claims, and none handed out after it was
#     confirmed;
#   - every confirm that answered an item (committed) is still held by that
#     id with hold_expires NULL, no id confirmed two items, and a confirm
#     never answered after its hold had certainly expired, nor NULL while
#     it was certainly live;
#   - a repeat while the hold is certainly live answers the held item;
#   - every item is either held permanently by one id that confirmed (or
#     fetched) it, or free; sb_banks counts agree with the claims
#     (items_handed_out, items_held, items_left);
# and then that every free item, expired holds included, is handed out:
# fetching items_left + 1 new ids from each bank gives items_left items and
# one NULL.  The counts the checks rest on are asserted, so the test cannot
# pass vacuously.
#
# The load is measured in holds, not seconds: each client asks its share of
# SB_HOLDS_GOAL (default 1,800) new holds, however slow the machine is, so
# the counts asserted below do not depend on its speed; SB_HOLDS_BOUND
# (default 180 s) bounds the load, and a load cut off by it fails the count.

use strict;
use warnings;
use StorageboxFlavour;

use DBI;
use File::Path qw(make_path);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

use StorageboxCheck;
use StorageboxLoad;

my $clients  = 16;
my $goal     = StorageboxLoad::env_int('SB_HOLDS_GOAL', 1800);
my $bound    = StorageboxLoad::env_int('SB_HOLDS_BOUND', 180);
my $quota    = int(($goal + $clients - 1) / $clients);
my $tmp      = "$PostgreSQL::Test::Utils::tmp_check/holds_load";
make_path($tmp);

my $node = PostgreSQL::Test::Cluster->new('holds_load');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 40\n");
$node->start;
$node->safe_psql('postgres', "CREATE EXTENSION $sb_extension");
my %banks = (hb_a => 150, hb_b => 90, hb_solo => 60);
$node->safe_psql('postgres', q{
	SELECT sb_create_bank('hb_a', 'hs');
	SELECT sb_create_bank('hb_b', 'hs');
	SELECT sb_create_bank('hb_solo');
} . join('', map {
	"SELECT sb_add_items('$_', array(SELECT '$_:' || g FROM generate_series(1, $banks{$_}) g));\n"
} sort keys %banks));
my @banks = sort keys %banks;

my $dsn = 'dbi:Pg:host=' . $node->host . ';port=' . $node->port . ';dbname=postgres';

sub connect_db
{
	my $dbh = DBI->connect($dsn, '', '', { AutoCommit => 1, RaiseError => 0, PrintError => 0 })
	  or die "connect: $DBI::errstr";
	return $dbh;
}

my $US = "(extract(epoch FROM %s) * 1000000)::int8";
my $LO = sprintf($US, 'statement_timestamp()');
my $HI = sprintf($US, 'clock_timestamp()');
my %CALL = (
	H => 'sb_hold_item(?, ?, ?::interval)',
	h => 'sb_hold_item(?, ?, ?::interval)',
	F => 'sb_fetch_item(?, ?)',
	C => 'sb_confirm(?, ?)',
	R => 'sb_release(?, ?)',
);

sub client
{
	my ($w, $end) = @_;
	srand(7000 + $w);
	my $dbh = connect_db();
	open(my $log, '>', "$tmp/client$w.log") or die;
	$log->autoflush(1);
	my %stat;
	my ($txn, $n) = (0, 0);
	my @pending;    # { due, what (C, R, h, F, drop), bank, id, hold_ms }

	# One call; returns (ok, answer).  Lines of a block are written when
	# it ends, with the mode it ended in.
	my @block;
	my $call = sub {
		my ($kind, $bank, $id, $hold_ms) = @_;
		my @args = ($bank, $id);
		push @args, "$hold_ms milliseconds" if $kind =~ /^[Hh]$/;
		my $row = $dbh->selectrow_arrayref(
			"SELECT $LO, r, $HI FROM (SELECT $CALL{$kind} AS r OFFSET 0) s", undef, @args);
		if (!$row)
		{
			$stat{ 'error ' . $dbh->state . ': ' . ($dbh->errstr =~ s/\n/ /gr) }++;
			return (0, undef);
		}
		push @block, [ $kind, $bank, $id, $row->[0], $row->[2],
			$kind =~ /^[Hh]$/ ? $hold_ms * 1000 : 0, $row->[1] // '~' ];
		return (1, $row->[1]);
	};
	my $flush = sub {
		my ($mode) = @_;
		for my $l (@block)
		{
			my ($kind, @rest) = @$l;
			print $log join('|', $kind, $txn, $mode, @rest), "\n";
		}
		@block = ();
	};
	my $single = sub {
		$txn++;
		my @r = $call->(@_);
		$flush->($r[0] ? 'a' : 'r');
		return @r;
	};
	# What becomes of a hold that answered an item.
	my $plan = sub {
		my ($bank, $id, $hold_ms) = @_;
		my $now = time;
		if (rand() < 0.15)
		{
			push @pending, { due => $now + rand(0.8 * $hold_ms) / 1000,
				what => rand() < 0.67 ? 'h' : 'F', bank => $bank, id => $id, hold_ms => $hold_ms };
		}
		my $r = rand();
		my ($what, $delay) =
			$r < 0.70   ? ('C', rand(1.3 * $hold_ms))
		  : $r < 0.775 ? ('R', rand($hold_ms))
		  :              ('drop', 0);
		$stat{"planned_$what"}++;
		push @pending, { due => $now + $delay / 1000, what => $what, bank => $bank, id => $id,
			hold_ms => $hold_ms } unless $what eq 'drop';
	};

	while (($stat{calls_H} // 0) < $quota && time < $end)
	{
		@pending = sort { $a->{due} <=> $b->{due} } @pending;
		if (@pending && $pending[0]{due} <= time)
		{
			my $p = shift @pending;
			my ($ok, $answer) = $single->($p->{what}, $p->{bank}, $p->{id}, $p->{hold_ms});
			$stat{ "calls_$p->{what}" }++;
			if ($ok && $p->{what} eq 'C' && !defined $answer && rand() < 0.5)
			{
				# too late: hold the same id again (its own expired hold, if
				# nobody took it, or another item)
				my $hold_ms = 200 + int(rand(801));
				my ($ok2, $again) = $single->('H', $p->{bank}, $p->{id}, $hold_ms);
				$stat{calls_H}++;
				$plan->($p->{bank}, $p->{id}, $hold_ms) if $ok2 && defined $again;
			}
			next;
		}

		my $bank = $banks[ int(rand(@banks)) ];
		my $id = "w$w-" . ++$n;
		my $hold_ms = 200 + int(rand(801));
		my $r = rand();
		$stat{calls_H}++;
		if ($r < 0.10)
		{
			# a hold in a block that commits or rolls back
			my $commit = $r < 0.05;
			$txn++;
			$dbh->do('BEGIN') or die $dbh->errstr;
			my ($ok, $answer) = $call->('H', $bank, $id, $hold_ms);
			if ($ok && $commit && $dbh->do('COMMIT'))
			{
				$flush->('c');
				$plan->($bank, $id, $hold_ms) if defined $answer;
			}
			else
			{
				$dbh->do('ROLLBACK');
				$flush->('r');
				$stat{rolled_back}++;
			}
		}
		else
		{
			my ($ok, $answer) = $single->('H', $bank, $id, $hold_ms);
			$plan->($bank, $id, $hold_ms) if $ok && defined $answer;
		}
		sleep(0.03 + rand(0.06));
	}
	# the rest of the plan: confirms still due, at their time
	for my $p (sort { $a->{due} <=> $b->{due} } grep { $_->{what} eq 'C' } @pending)
	{
		my $wait = $p->{due} - time;
		sleep($wait) if $wait > 0;
		$single->('C', $p->{bank}, $p->{id});
		$stat{calls_C}++;
	}
	$txn++;
	print $log "E|$txn|a|||0|0|0|\n";
	close($log);
	open(my $st, '>', "$tmp/client$w.stats") or die;
	print $st "$_=$stat{$_}\n" for sort keys %stat;
	close($st);
	$dbh->disconnect;
}

# Holds asked so far, from the client logs (a block's lines are written
# when it ends).
sub holds_logged
{
	my $n = 0;
	for my $w (1 .. $clients)
	{
		open(my $fh, '<', "$tmp/client$w.log") or next;
		while (<$fh>) { $n++ if /^H\|/; }
		close($fh);
	}
	return $n;
}

# Adds 6 items to a bank for every 50 holds asked, so that items keep
# coming at the same pace whatever the machine's speed, until the clients
# are done ($tmp/done).
sub topup
{
	my ($end) = @_;
	my $dbh = connect_db();
	my $k = 0;
	while (!-e "$tmp/done" && time < $end)
	{
		if (holds_logged() >= 50 * ($k + 1))
		{
			my $bank = $banks[ $k % @banks ];
			$k++;
			$dbh->do("SELECT sb_add_items(?, array(SELECT ? || g FROM generate_series(1, 6) g))",
				undef, $bank, "$bank:top$k-") or die $dbh->errstr;
			next;
		}
		sleep(0.05);
	}
	$dbh->disconnect;
}


my $t0 = time;
my $end = $t0 + $bound;
my $topup = StorageboxLoad::spawn(sub { topup($end) });
my @pids = map { my $w = $_; StorageboxLoad::spawn(sub { client($w, $end) }) } 1 .. $clients;
my $died = 0;
for my $pid (@pids)
{
	waitpid($pid, 0);
	$died++ if $? != 0;
}
my $t1 = time;
open(my $done, '>', "$tmp/done") or die;
close($done);
waitpid($topup, 0);
$died++ if $? != 0;
is($died, 0, 'every client ran to the end');

# every hold (1 s at most) has expired
sleep(1.5);

my %stats;
for my $w (1 .. $clients)
{
	open(my $fh, '<', "$tmp/client$w.stats") or next;
	while (<$fh>)
	{
		chomp;
		my ($k, $v) = split /=/, $_, 2;
		$stats{$k} += $v;
	}
}
my @errors = grep { /^error / } sort keys %stats;
diag(sprintf("070_holds_load (%s): load %.1f s; ", $sb_flavour, $t1 - $t0)
	  . join(' ', map { "$_=$stats{$_}" } grep { !/^error / } sort keys %stats));
diag("  $_ x$stats{$_}") for @errors;
is(scalar @errors, 0, 'no client saw an error');

my $query = sub { $node->safe_psql('postgres', $_[0]) };
my $db = StorageboxCheck::check(query => $query);
diag('070 database: ' . StorageboxCheck::summary($db) . ' live_holds=' . ($db->{counts}{live_holds} // 0)
	  . ' expired_holds=' . ($db->{counts}{expired_holds} // 0));
diag($_) for @{ $db->{messages} };
is($db->{violations}, 0, 'database checks: violations=0');
is($db->{counts}{live_holds}, 0, 'every hold has expired');

my @logs = map { "$tmp/client$_.log" } 1 .. $clients;
my ($events, $incomplete) = StorageboxCheck::parse_hold_logs(@logs);
is($incomplete, 0, 'every client log is complete');
my $res = StorageboxCheck::check_holds(query => $query, events => $events);
diag('070 holds: ' . StorageboxCheck::hold_summary($res));
diag($_) for @{ $res->{messages} };
is($res->{violations}, 0, 'hold checks: violations=0');

my $c = $res->{counts};
cmp_ok($c->{calls_H} // 0, '>=', $goal, "at least $goal holds asked (within $bound s)");
cmp_ok($c->{nulls_H} // 0, '>=', 200, 'the banks were sold out (at least 200 NULL holds)');
cmp_ok($c->{confirmed} // 0, '>=', 300, 'at least 300 confirms answered an item');
is($c->{confirmed_checked_in_db} // 0, $c->{confirmed} // -1,
	'every confirmed answer was checked against the database');
cmp_ok($c->{confirms_checked_in_time} // 0, '>=', 300, 'at least 300 confirms checked against their hold');
cmp_ok($c->{confirm_nulls_after_expiry} // 0, '>=', 20, 'at least 20 confirms came after the expiry and answered NULL');
cmp_ok($c->{rehanded_after_expiry} // 0, '>=', 50, 'at least 50 items handed out again after a hold expired');
cmp_ok($c->{items_rehanded} // 0, '>=', 30, 'at least 30 distinct items held by more than one id');
cmp_ok($c->{hold_pairs_checked} // 0, '>=', 100, 'at least 100 pairs of holds of one item checked');
cmp_ok($c->{confirm_pairs_checked} // 0, '>', 0, 'confirms of items another id had held checked');
cmp_ok($c->{repeats_checked_live} // 0, '>=', 20, 'at least 20 repeats of a live hold checked');
cmp_ok($c->{calls_R} // 0, '>', 0, 'holds were cancelled');
cmp_ok($c->{rolled_back} // 0, '>', 0, 'holds were rolled back');
cmp_ok($c->{permanent_checked} // 0, '>=', $c->{confirmed} // 0,
	'every permanent claim was checked against the confirms');
is($c->{db_live_holds} // 0, 0, 'no live hold left');

# Every item nobody holds permanently is free, expired holds included: as
# many new ids as items_left get an item each, and one more gets NULL.  So
# that expired holds are certainly among them, each bank first gets three
# items more, held for 50 ms and abandoned.
for my $bank (@banks)
{
	$node->safe_psql('postgres', qq{
		SELECT sb_add_items('$bank', ARRAY['$bank:last-1', '$bank:last-2', '$bank:last-3']);
		SELECT count(sb_hold_item('$bank', 'abandon-$bank-' || g, '50 milliseconds')) FROM generate_series(1, 3) g;
		SELECT pg_sleep(0.2);});
}
$db = StorageboxCheck::check(query => $query);
is($db->{violations}, 0, 'database checks with the abandoned holds: violations=0');
my $expired = $db->{counts}{expired_holds} // 0;
cmp_ok($expired, '>=', 9, 'expired holds were left in the banks');
my $drained = 0;
for my $bank (@banks)
{
	my ($left, $total, $out) = split /\|/, $node->safe_psql('postgres',
		"SELECT items_left, items_total, items_handed_out FROM sb_banks WHERE bank = '$bank'");
	my $perm = $node->safe_psql('postgres',
		"SELECT count(*) FROM storagebox_data.claim c JOIN storagebox_data.bank b USING (bank_id)"
	  . " WHERE b.bank_name = '$bank' AND c.dedup_id IS NOT NULL AND c.hold_expires IS NULL");
	is($out, $perm, "$bank: items_handed_out is the permanent claims");
	my $free_sql = "SELECT c.slot, coalesce(c.dedup_id, '-'), coalesce(c.hold_expires::text, '-'),"
	  . " (SELECT max(settled_upto) FROM storagebox_data.bank_progress g WHERE g.bank_id = b.bank_id),"
	  . " b.items_total FROM storagebox_data.claim c JOIN storagebox_data.bank b USING (bank_id)"
	  . " WHERE b.bank_name = '$bank' AND (c.dedup_id IS NULL OR c.hold_expires IS NOT NULL"
	  . "   OR c.dedup_id LIKE 'drain-%') ORDER BY c.slot";
	my $free_before = $node->safe_psql('postgres', $free_sql);
	my $got = $node->safe_psql('postgres',
		"SELECT count(x), count(DISTINCT x), count(*) - count(x) FROM"
	  . " (SELECT sb_fetch_item('$bank', 'drain-$bank-' || g) AS x FROM generate_series(1, $left + 1) g) s");
	is($got, "$left|$left|1", "$bank: all $left free items handed out, then NULL")
	  or diag("$bank before the drain (slot|dedup_id|hold_expires|settled_upto|items_total):\n$free_before\n"
		  . "after:\n" . $node->safe_psql('postgres', $free_sql));
	$drained += $left;
	is($node->safe_psql('postgres', "SELECT items_left, items_held FROM sb_banks WHERE bank = '$bank'"),
		'0|0', "$bank: sold out");
}
cmp_ok($drained, '>=', $expired, 'the drain took every expired hold');
$db = StorageboxCheck::check(query => $query);
is($db->{violations}, 0, 'database checks after the drain: violations=0');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM storagebox_data.claim WHERE hold_expires IS NOT NULL"),
	'0', 'the drain took over every expired row');
note sprintf("070 total %.1f s", time - $t0);

$node->stop;
done_testing();
