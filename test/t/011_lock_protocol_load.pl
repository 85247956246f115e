
# The bank lock protocol under load (issue 8).
#
# Phase 1, "an open claim stalls nobody": one client fetches from a large
# bank and sits idle in transaction for 3 s while 15 workers fetch new items
# for ids of their own (single fetches and transactions of 2 to 20
# fetches).  The longest of those fetch calls must stay under 1 s.
#
# Phase 2, "sold out and beyond": the 15 workers run a mix on three small
# banks (two share a dedup scope) until they are sold out and well beyond:
# single fetches; transactions of 2 to 20 fetches of ids of their own;
# transactions over a shared pool of ids taken in sorted order; batch
# statements (sb_fetch_item(b, u) FROM unnest($1)); releases; rollbacks;
# sb_add_items top-ups; while the idle client keeps holding a claim open for
# 2 s at a time.  Transactions over a second shared pool take their ids in
# random order: those may deadlock (the ordinary unique-key deadlock of two
# transactions wanting the same two keys in opposite orders) and are
# counted apart.  No other transaction may see 40P01, and nobody any other
# error.
#
# Phase 3, "right answers while items come back": a sold-out bank gets its
# items back one at a time (sb_release, committed) while 16 sessions ask
# for the same new ids at the same moment.
#
# The checker (StorageboxCheck) then proves from the logs and the database
# that nothing was handed out twice, nothing was lost, and no committed
# answer contradicts another.  Every count it relies on is asserted to be
# non-zero, so the test cannot pass vacuously.

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

my $workers = 15;
my $ops     = StorageboxLoad::env_int('SB_LOCK_LOAD_OPS', 160);
my $tmp     = "$PostgreSQL::Test::Utils::tmp_check/lock_protocol";
make_path($tmp);

my $node = PostgreSQL::Test::Cluster->new('lock_protocol');
$node->init;
$node->append_conf('postgresql.conf',
	"max_connections = 40\ndeadlock_timeout = 200ms\ntrack_commit_timestamp = on\n");
$node->start;
$node->safe_psql('postgres', "CREATE EXTENSION $sb_extension");
$node->safe_psql('postgres', q{
	SELECT sb_create_bank('lp_big');
	SELECT sb_add_items('lp_big', array(SELECT 'lp_big:' || g FROM generate_series(1, 60000) g));
	SELECT sb_create_bank('lp_a', 'lp');
	SELECT sb_add_items('lp_a', array(SELECT 'lp_a:' || g FROM generate_series(1, 900) g));
	SELECT sb_create_bank('lp_b', 'lp');
	SELECT sb_add_items('lp_b', array(SELECT 'lp_b:' || g FROM generate_series(1, 600) g));
	SELECT sb_create_bank('lp_solo');
	SELECT sb_add_items('lp_solo', array(SELECT 'lp_solo:' || g FROM generate_series(1, 900) g));
	SELECT sb_create_bank('lp_same');
	SELECT sb_add_items('lp_same', array(SELECT 'lp_same:' || g FROM generate_series(1, 40) g));
});

my $dsn = 'dbi:Pg:host=' . $node->host . ';port=' . $node->port . ';dbname=postgres';

sub connect_db
{
	my $dbh = DBI->connect($dsn, '', '',
		{ AutoCommit => 1, RaiseError => 0, PrintError => 0 })
	  or die "connect: $DBI::errstr";
	return $dbh;
}

# A client's log, in StorageboxLoad's format, and its counters.  Lines of a
# transaction are kept until it ends, then written with the mode it ended
# in ('a' autocommit, 'c' committed, 'r' rolled back or failed).
package Client;

sub new
{
	my ($class, $name) = @_;
	open(my $fh, '>', "$tmp/$name.log") or die;
	$fh->autoflush(1);
	return bless { fh => $fh, txn => 0, pending => [], stats => {} }, $class;
}

sub begin_txn { my $c = shift; $c->{txn}++; $c->{pending} = []; }

sub add
{
	my ($c, $kind, $name, $id, $ts, $answer) = @_;
	push @{ $c->{pending} }, [ $kind, $name, $id, $ts, $answer // '~' ];
}

sub end_txn
{
	my ($c, $mode) = @_;
	for my $l (@{ $c->{pending} })
	{
		my ($kind, $name, $id, $ts, $answer) = @$l;
		print { $c->{fh} } join('|', $kind, $c->{txn}, $mode, $name, $id, $ts, $answer), "\n";
	}
	$c->{pending} = [];
}

sub stat_add { my ($c, $k, $v) = @_; $c->{stats}{$k} += $v // 1; }
sub stat_max { my ($c, $k, $v) = @_; $c->{stats}{$k} = $v if !defined $c->{stats}{$k} || $v > $c->{stats}{$k}; }

sub finish
{
	my ($c, $dbh, $name) = @_;
	my ($ts) = $dbh->selectrow_array(
		"SELECT (extract(epoch FROM statement_timestamp()) * 1000000)::int8");
	$c->{txn}++;
	print { $c->{fh} } "E|$c->{txn}|a|||$ts|\n";
	close($c->{fh});
	open(my $st, '>', "$tmp/$name.stats") or die;
	print $st "$_=$c->{stats}{$_}\n" for sort keys %{ $c->{stats} };
	close($st);
}

package main;

my $TS = "(extract(epoch FROM statement_timestamp()) * 1000000)::int8";

# Fetch one item; returns (ok, sqlstate, answer, seconds).
sub fetch_one
{
	my ($dbh, $c, $bank, $id) = @_;
	my $t0 = time;
	my $row = $dbh->selectrow_arrayref("SELECT $TS, sb_fetch_item(?, ?)", undef, $bank, $id);
	my $dt = time - $t0;
	return (0, $dbh->state, undef, $dt) unless $row;
	$c->add('F', $bank, $id, $row->[0], $row->[1]);
	$c->stat_add('calls');
	$c->stat_add('nulls') unless defined $row->[1];
	return (1, '', $row->[1], $dt);
}

# One statement fetching for every id of @ids; returns (ok, sqlstate).
sub fetch_batch
{
	my ($dbh, $c, $bank, @ids) = @_;
	my $rows = $dbh->selectall_arrayref(
		"SELECT $TS, u, sb_fetch_item(?, u) FROM unnest(?::text[]) WITH ORDINALITY AS t(u, n) ORDER BY n",
		undef, $bank, \@ids);
	return (0, $dbh->state) unless $rows;
	for my $r (@$rows)
	{
		$c->add('F', $bank, $r->[1], $r->[0], $r->[2]);
		$c->stat_add('calls');
	}
	return (1, '');
}

sub release_one
{
	my ($dbh, $c, $bank, $id) = @_;
	my $row = $dbh->selectrow_arrayref("SELECT $TS, sb_release(?, ?)", undef, $bank, $id);
	return (0, $dbh->state) unless $row;
	$c->add('R', $bank, $id, $row->[0], $row->[1]);
	return (1, '');
}

# Run a transaction of steps (each a sub returning (ok, sqlstate)); ends in
# COMMIT or ROLLBACK; an error ends it in ROLLBACK.  Returns the sqlstate of
# the error, or ''.
sub run_txn
{
	my ($dbh, $c, $commit, @steps) = @_;
	$c->begin_txn;
	$dbh->do('BEGIN') or die $dbh->errstr;
	for my $s (@steps)
	{
		my ($ok, $state) = $s->();
		next if $ok;
		$dbh->do('ROLLBACK');
		$c->end_txn('r');
		return $state;
	}
	if ($commit)
	{
		unless ($dbh->do('COMMIT'))
		{
			my $state = $dbh->state;
			$dbh->do('ROLLBACK');
			$c->end_txn('r');
			return $state;
		}
		$c->end_txn('c');
	}
	else
	{
		$dbh->do('ROLLBACK');
		$c->end_txn('r');
	}
	return '';
}

# An autocommit statement as its own transaction.
sub run_single
{
	my ($c, $step) = @_;
	$c->begin_txn;
	my ($ok, $state) = $step->();
	$c->end_txn($ok ? 'a' : 'r');
	return $ok ? '' : $state;
}

sub note_error
{
	my ($c, $category, $state, $dbh) = @_;
	return unless $state;
	if ($state eq '40P01')
	{
		$c->stat_add("deadlocks_$category");
	}
	else
	{
		$c->stat_add('other_errors');
		my $msg = $dbh->errstr // '';
		$msg =~ s/\n/ /g;
		$c->stat_add("error $state: $msg");
	}
}

my @small = ('lp_a', 'lp_b', 'lp_solo');

sub worker
{
	my ($w) = @_;
	srand(1000 + $w);
	my $dbh = connect_db();
	my $c = Client->new("worker$w");
	my $next_id = 0;
	my $own = sub { "w$w-" . ++$next_id };
	my @held;    # [bank, id] of own ids answered with an item and committed

	# phase 1: ids of our own from the big bank, until the idle client is done
	until (-e "$tmp/phase1.done")
	{
		if (rand() < 0.5)
		{
			my $state = run_single($c, sub {
				my ($ok, $st, $ans, $dt) = fetch_one($dbh, $c, 'lp_big', $own->());
				$c->stat_max('phase1_max_wait_ms', $dt * 1000);
				$c->stat_add('phase1_calls');
				return ($ok, $st);
			});
			note_error($c, 'distinct', $state, $dbh);
		}
		else
		{
			my @steps = map {
				my $id = $own->();
				sub {
					my ($ok, $st, $ans, $dt) = fetch_one($dbh, $c, 'lp_big', $id);
					$c->stat_max('phase1_max_wait_ms', $dt * 1000);
					$c->stat_add('phase1_calls');
					return ($ok, $st);
				}
			} 1 .. 2 + int(rand(19));
			note_error($c, 'distinct', run_txn($dbh, $c, 1, @steps), $dbh);
		}
	}

	# phase 2: the mix on the small banks
	for my $op (1 .. $ops)
	{
		my $r = rand();
		my $bank = $small[ int(rand(@small)) ];
		if ($r < 0.30)
		{
			my $id = rand() < 0.5 ? $own->() : 'p1-' . (1 + int(rand(400)));
			my $state = run_single($c, sub {
				my ($ok, $st, $ans) = fetch_one($dbh, $c, $bank, $id);
				push @held, [ $bank, $id ] if $ok && defined $ans && $id =~ /^w/;
				return ($ok, $st);
			});
			note_error($c, $id =~ /^w/ ? 'distinct' : 'sorted', $state, $dbh);
		}
		elsif ($r < 0.50)
		{
			# 2 to 20 ids of our own, from any of the banks
			my @ids = map { [ $small[ int(rand(@small)) ], $own->() ] } 1 .. 2 + int(rand(19));
			my $commit = rand() < 0.85;
			my @got;
			my $state = run_txn($dbh, $c, $commit, map {
				my ($b, $id) = @$_;
				sub {
					my ($ok, $st, $ans) = fetch_one($dbh, $c, $b, $id);
					push @got, [ $b, $id ] if $ok && defined $ans;
					return ($ok, $st);
				}
			} @ids);
			push @held, @got if $commit && !$state;
			note_error($c, 'distinct', $state, $dbh);
		}
		elsif ($r < 0.62)
		{
			# shared ids, in one (sorted) order
			my %pick;
			$pick{ 1 + int(rand(400)) } = 1 for 1 .. 2 + int(rand(7));
			my @ids = map { "p1-$_" } sort { $a <=> $b } keys %pick;
			my $state = run_txn($dbh, $c, rand() < 0.85,
				map { my $id = $_; sub { (fetch_one($dbh, $c, $bank, $id))[0, 1] } } @ids);
			note_error($c, 'sorted', $state, $dbh);
		}
		elsif ($r < 0.67)
		{
			# shared ids in random order: may deadlock with each other
			my %pick;
			$pick{ 1 + int(rand(60)) } = 1 for 1 .. 2 + int(rand(4));
			my @ids = map { "p2-$_" } keys %pick;
			my $state = run_txn($dbh, $c, 1,
				map { my $id = $_; sub { (fetch_one($dbh, $c, $bank, $id))[0, 1] } } @ids);
			note_error($c, 'unsorted', $state, $dbh);
			$c->stat_add('unsorted_txns');
		}
		elsif ($r < 0.82)
		{
			# one statement for 5 to 20 ids: our own, or shared ones sorted
			my $shared = rand() < 0.3;
			my @ids;
			if ($shared)
			{
				my %pick;
				$pick{ 1 + int(rand(400)) } = 1 for 1 .. 5 + int(rand(16));
				@ids = map { "p1-$_" } sort { $a <=> $b } keys %pick;
			}
			else
			{
				@ids = map { $own->() } 1 .. 5 + int(rand(16));
			}
			my $state = run_single($c, sub { fetch_batch($dbh, $c, $bank, @ids) });
			$c->stat_add('batches');
			note_error($c, $shared ? 'sorted' : 'distinct', $state, $dbh);
		}
		elsif ($r < 0.92)
		{
			my ($b, $id) = @held ? @{ splice(@held, int(rand(@held)), 1) }
			  : ($bank, 'p1-' . (1 + int(rand(400))));
			my $state = run_single($c, sub { release_one($dbh, $c, $b, $id) });
			note_error($c, 'distinct', $state, $dbh);
		}
		elsif ($w == 1 && $r < 0.94)
		{
			my $n = $c->{stats}{topups} // 0;
			$c->stat_add('topups');
			my $ok = $dbh->do("SELECT sb_add_items(?, array(SELECT ? || g FROM generate_series(1, 25) g))",
				undef, $bank, "$bank:topup$n-");
			note_error($c, 'distinct', $ok ? '' : $dbh->state, $dbh);
		}
		else
		{
			# a transaction that fetches, then rolls back
			my @ids = map { $own->() } 1 .. 1 + int(rand(5));
			my $state = run_txn($dbh, $c, 0,
				map { my $id = $_; sub { (fetch_one($dbh, $c, $bank, $id))[0, 1] } } @ids);
			note_error($c, 'distinct', $state, $dbh);
		}
	}
	$c->finish($dbh, "worker$w");
	$dbh->disconnect;
}

sub idle_client
{
	my $dbh = connect_db();
	my $c = Client->new('idle');
	sleep(0.5);
	my $state = run_txn($dbh, $c, 1, sub {
		my @r = fetch_one($dbh, $c, 'lp_big', 'idle-1');
		sleep(3);
		return @r[0, 1];
	});
	note_error($c, 'distinct', $state, $dbh);
	my ($left) = $dbh->selectrow_array("SELECT min(items_left) FROM sb_banks WHERE bank = 'lp_big'");
	$c->stat_add('phase1_items_left', $left);
	open(my $fh, '>', "$tmp/phase1.done") or die;
	close($fh);
	for my $k (1 .. 4)
	{
		$state = run_txn($dbh, $c, 1, sub {
			my @r = fetch_one($dbh, $c, $small[ $k % 3 ], "idle-2-$k");
			sleep(2);
			return @r[0, 1];
		});
		note_error($c, 'distinct', $state, $dbh);
	}
	$c->finish($dbh, 'idle');
	$dbh->disconnect;
}

# Phase 3: lp_same is sold out; one session releases its items one at a
# time while 16 sessions ask for the same new id at the same moment (the id
# moves on every 20 ms).
sub same_id_asker
{
	my ($s, $until, $hard_until) = @_;
	my $dbh = connect_db();
	my $c = Client->new("same$s");
	# 3 s, and at least 20 calls each however slow the machine (the count
	# asserted below), within a hard bound
	my $n = 0;
	while ((time < $until || $n < 20) && time < $hard_until)
	{
		$n++;
		my $id = 'n' . int(time * 50);
		my $state = run_single($c, sub { (fetch_one($dbh, $c, 'lp_same', $id))[0, 1] });
		note_error($c, 'distinct', $state, $dbh);
	}
	$c->finish($dbh, "same$s");
	$dbh->disconnect;
}

sub same_id_releaser
{
	my ($until) = @_;
	my $dbh = connect_db();
	my $c = Client->new('releaser');
	my $k = 0;
	while (time < $until && $k < 40)
	{
		$k++;
		my $state = run_single($c, sub { release_one($dbh, $c, 'lp_same', "old-$k") });
		note_error($c, 'distinct', $state, $dbh);
		sleep(0.05);
	}
	$c->finish($dbh, 'releaser');
	$dbh->disconnect;
}



# lp_same sold out to the ids old-1 .. old-40, in the logs like any fetch
{
	my $dbh = connect_db();
	my $c = Client->new('setup');
	for my $k (1 .. 40)
	{
		run_single($c, sub { (fetch_one($dbh, $c, 'lp_same', "old-$k"))[0, 1] });
	}
	$c->finish($dbh, 'setup');
	$dbh->disconnect;
}

my $t0 = time;
my @pids = (StorageboxLoad::spawn(\&idle_client), map { my $w = $_; StorageboxLoad::spawn(sub { worker($w) }) } 1 .. $workers);
my $died = 0;
for my $pid (@pids)
{
	waitpid($pid, 0);
	$died++ if $? != 0;
}
my $t1 = time;
my $until = time + 3;
@pids = (StorageboxLoad::spawn(sub { same_id_releaser($until) }),
	map { my $s = $_; StorageboxLoad::spawn(sub { same_id_asker($s, $until, $until + 120) }) } 1 .. 16);
for my $pid (@pids)
{
	waitpid($pid, 0);
	$died++ if $? != 0;
}
note sprintf("phases 1 and 2: %.1f s; phase 3: %.1f s", $t1 - $t0, time - $t1);
is($died, 0, 'every client ran to the end');

# the counters of all clients
my %stats;
my @logs;
for my $name ('setup', 'idle', (map { "worker$_" } 1 .. $workers), 'releaser', (map { "same$_" } 1 .. 16))
{
	push @logs, "$tmp/$name.log";
	open(my $fh, '<', "$tmp/$name.stats") or next;
	while (<$fh>)
	{
		chomp;
		my ($k, $v) = split /=/, $_, 2;
		if ($k =~ /max/) { $stats{$k} = $v if !defined $stats{$k} || $v > $stats{$k}; }
		else { $stats{$k} += $v; }
	}
}
my @errors = grep { /^error / } sort keys %stats;
diag("011_lock_protocol_load: " . join(' ', map { "$_=" . sprintf('%g', $stats{$_} // 0) }
	qw(calls nulls batches phase1_calls phase1_max_wait_ms phase1_items_left
	  deadlocks_distinct deadlocks_sorted unsorted_txns deadlocks_unsorted other_errors topups)));
diag("  $_ x$stats{$_}") for @errors;

cmp_ok($stats{calls} // 0, '>=', 10000, 'at least 10000 fetch calls answered');
cmp_ok($stats{nulls} // 0, '>', 0, 'the banks were sold out (NULL answers)');
cmp_ok($stats{batches} // 0, '>', 0, 'batch statements ran');
cmp_ok($stats{phase1_calls} // 0, '>', 100, 'phase 1: fetches ran while a claim was held open');
cmp_ok($stats{phase1_items_left} // 0, '>', 0, 'phase 1: the bank had items left throughout');
cmp_ok($stats{phase1_max_wait_ms} // 1e9, '<', 1000,
	'phase 1: no fetch waited 1 s while an idle transaction held a claim');
is($stats{deadlocks_distinct} // 0, 0, '40P01: none for transactions of distinct ids');
is($stats{deadlocks_sorted} // 0, 0, '40P01: none for shared ids taken in sorted order');
is($stats{other_errors} // 0, 0, 'no other error');

my ($events, $incomplete) = StorageboxCheck::parse_logs(@logs);
is($incomplete, 0, 'every client log is complete');
my $small_nulls = grep { $_->{kind} eq 'F' && $_->{name} =~ /^lp_(a|b|solo)$/ && !defined $_->{answer} } @$events;
diag("011 phase 2: NULL answers from the small banks: $small_nulls");
cmp_ok($small_nulls, '>', 100, 'phase 2: the small banks were sold out and asked beyond');
my $result = StorageboxCheck::check_and_report('011_lock_protocol_load',
	sub { $node->safe_psql('postgres', $_[0]) }, $events);
cmp_ok($result->{counts}{fetch_calls}, '>=', 10000, 'the checker checked at least 10000 fetch calls');
cmp_ok($result->{counts}{concurrent_pairs} // 0, '>', 0, 'the checker saw concurrent answers for the same id');
cmp_ok($result->{counts}{releases_effective} // 0, '>', 0, 'some releases gave items back');
is($result->{violations}, 0, 'checker: violations=0');

# Phase 3's figure: NULL answers for an id whose item was committed before
# the fetch began (wrong NULLs), and answers that are not the item the id
# holds (wrong items).
my ($wrong_null, $wrong_item, $same_calls) = (0, 0, 0);
my %holder = map { my @f = split /\|/; ($f[0] => $f[1]) } split /\n/, $node->safe_psql('postgres',
	q{SELECT c.dedup_id, i.item || '|' ||
	         (extract(epoch FROM pg_xact_commit_timestamp(c.xmin)) * 1000000)::int8
	    FROM storagebox_data.claim c JOIN storagebox_data.item i USING (bank_id, slot)
	    JOIN storagebox_data.bank b USING (bank_id)
	   WHERE b.bank_name = 'lp_same' AND c.dedup_id LIKE 'n%'});
for my $e (grep { $_->{kind} eq 'F' && $_->{name} eq 'lp_same' } @$events)
{
	$same_calls++;
	my $h = $holder{ $e->{id} };
	next unless defined $h;
	my ($item, $committed) = split /\|/, $h;
	$wrong_item++ if defined $e->{answer} && $e->{answer} ne $item;
	$wrong_null++ if !defined $e->{answer} && $committed ne '' && $committed < $e->{lo};
}
diag("011 phase 3: calls=$same_calls wrong_nulls=$wrong_null wrong_items=$wrong_item");
cmp_ok($same_calls, '>', 200, 'phase 3: the same ids were asked for concurrently');
is($wrong_item, 0, 'phase 3: no answer other than the item the id holds');
is($wrong_null, 0, 'phase 3: no NULL for an id that already held an item');

$node->stop;
done_testing();
