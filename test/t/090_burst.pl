
# The burst (issue 24): hundreds of connections that start at once, racing
# for a few items, must never hang, and every answer must be right.
#
# Rounds, each on a fresh bank of 10 to 100 items (the same pseudo-random
# sizes every run), with ids u1..u<2 x items>:
#   - 20 rounds at 50 connections, 20 at 200, 5 at 500: one pgbench run
#     per size (-c N -j 2, -t rounds), whose connections stay open from
#     round to round, as a pool's do;
#   - 3 rounds of 1,000 client connections through pgbouncer in
#     transaction pooling mode on a pool of 50 server connections, one
#     pgbench run per round (skipped where pgbouncer is not installed).
# Every connection makes SB_BURST_CALLS calls a round (default 4), each a
# fetch (82%), a fetch rolled back (6%), a release (6%) or a hold of 50 ms
# that is never confirmed (6%): see test/perl/StorageboxBurst.pm.
#
# All of a round's connections start at once: each one's first statement
# waits on an advisory lock (key 90, round) that the test holds; the test
# opens the round by releasing it once every connection is waiting there
# (through pgbouncer: all 50 server connections are waiting there and
# pgbouncer counts the 1,000 clients).
#
# Bound: every round must finish within 60 s of its opening (the last
# connection's last call answered).  On a timeout the test writes what
# every backend is waiting for (pg_stat_activity) and the waiting locks
# (pg_locks) to its log, fails the round, cancels the backends and skips
# the rest of that series.  (Opening the connections is bounded apart, by
# 300 s.)  At f2a454a rounds hang in the livelock of issue 24.
#
# After each round the test waits until every hold has expired, reads what
# every id holds, and sweeps the bank: new ids fetch one at a time until
# one gets NULL; the sweep must get exactly the items nobody holds, and
# leave the bank with items_left = 0.  The checker (StorageboxBurst) then
# proves from the logged answers and the database that the round handed
# out nothing twice and lost nothing, that committed answers agree with
# what each id holds, and that NULL was answered only when the bank was
# sold out (its header states each rule); StorageboxCheck checks the
# database-wide invariants after each series.  Every call made must have
# been logged and checked: their number is asserted each round, so no
# round can pass vacuously.
#
# Runs with SB_FLAVOR=c and SB_FLAVOR=sql (make prove_installcheck
# FLAVOR=...).

use strict;
use warnings;
use StorageboxFlavour;

use DBI;
use File::Path qw(make_path);
use IPC::Run;
use POSIX qw(WNOHANG);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

use StorageboxBurst;
use StorageboxCheck;
use StorageboxLoad;

my $BOUND         = 60;     # seconds a round may take
my $CONNECT_BOUND = 300;    # seconds for pgbench to open its connections
my $GATE          = 90;     # advisory lock class of the rounds' gates
my $CALLS = StorageboxLoad::env_int('SB_BURST_CALLS', 4);
my $POOL  = 50;
my $tmp   = "$PostgreSQL::Test::Utils::tmp_check/burst";
make_path($tmp);

my $node = PostgreSQL::Test::Cluster->new('burst');
$node->init;
$node->append_conf('postgresql.conf', <<'CONF');
max_connections = 600
shared_buffers = 64MB
statement_timeout = 120s
CONF
$node->start;
$node->safe_psql('postgres', "CREATE EXTENSION $sb_extension;\n" . StorageboxBurst::setup_sql());

my $dbh = DBI->connect('dbi:Pg:host=' . $node->host . ';port=' . $node->port . ';dbname=postgres',
	'', '', { AutoCommit => 1, RaiseError => 1, PrintError => 0, pg_bool_tf => 1 })
  or die "connect: $DBI::errstr";
my $query = sub {
	my $rows = $dbh->selectall_arrayref($_[0]);
	return join('', map { join('|', map { $_ // '' } @$_) . "\n" } @$rows);
};

my $script = "$tmp/burst.sql";
open(my $fh, '>', $script) or die;
print $fh StorageboxBurst::pgbench_script(calls => $CALLS, gate => $GATE);
close($fh);

# Bank sizes: the same every run.
srand(24);
my $last_round = 0;

# Create the banks of $n new rounds; returns their numbers.
sub new_rounds
{
	my ($n) = @_;
	my @r;
	for (1 .. $n)
	{
		my $r     = ++$last_round;
		my $items = 10 + int(rand(91));
		$dbh->do("SELECT sb_create_bank(?)", undef, "burst_$r");
		$dbh->do("SELECT sb_add_items(?, array(SELECT ? || ':' || g FROM generate_series(1, ?) g))",
			undef, "burst_$r", "burst_$r", $items);
		$dbh->do("INSERT INTO burst_round VALUES (?, ?, ?)", undef, $r, "burst_$r", 2 * $items);
		push @r, $r;
	}
	return @r;
}

# pgbench in the background, its file descriptors raised for 1,000
# connections where the hard limit allows.
sub start_pgbench
{
	my ($name, @args) = @_;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0)
	{
		open(STDIN,  '<', '/dev/null');
		open(STDOUT, '>', "$tmp/$name.out");
		open(STDERR, '>', "$tmp/$name.err");
		exec('sh', '-c', 'ulimit -n 4096 2>/dev/null; exec "$@"', 'sh',
			'pgbench', '-n', '-M', 'extended', '-j', '2', '--verbose-errors', '-f', $script, @args)
		  or POSIX::_exit(127);
	}
	return { pid => $pid, name => $name };
}

# Whether pgbench is still running (its exit status is kept once it ended).
sub running
{
	my ($pg) = @_;
	return 0 if defined $pg->{status};
	return 1 if waitpid($pg->{pid}, WNOHANG) == 0;
	$pg->{status} = $?;
	return 0;
}

sub slurp
{
	my ($f) = @_;
	open(my $fh, '<', $f) or return '';
	local $/;
	return <$fh>;
}

# The first lines of pgbench's errors (after a cancel there is one a client).
sub pgbench_errors
{
	my ($pg) = @_;
	my @l = split /\n/, slurp("$tmp/$pg->{name}.err");
	return join("\n", @l) if @l <= 12;
	return join("\n", @l[ 0 .. 11 ], '... (' . scalar(@l) . " lines in $tmp/$pg->{name}.err)");
}

# Connections waiting at the gate of round $r.
sub at_gate
{
	my ($r) = @_;
	return $dbh->selectrow_array(
		"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = $GATE"
	  . " AND objid = ? AND objsubid = 2 AND NOT granted", undef, $r);
}

# Poll $cond until it is true or $seconds pass; returns whether it became true.
sub wait_for
{
	my ($seconds, $cond) = @_;
	my $deadline = time + $seconds;
	while (time < $deadline)
	{
		return 1 if $cond->();
		sleep(0.02);
	}
	return $cond->();
}

# What every backend waits for, and the locks waited for, into the log.
sub dump_waits
{
	my ($what) = @_;
	diag("$what: backends by state and wait (count|state|wait_event_type|wait_event|query):");
	diag("  $_") for split /\n/, $query->(
		"SELECT count(*), state, coalesce(wait_event_type, '-'), coalesce(wait_event, '-'),"
	  . " left(regexp_replace(query, '\\s+', ' ', 'g'), 90)"
	  . " FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
	  . " GROUP BY 2, 3, 4, 5 ORDER BY 1 DESC LIMIT 15");
	diag("$what: locks waited for (count|locktype|relation|classid|objid|objsubid|mode), and their holders:");
	diag("  $_") for split /\n/, $query->(
		"SELECT count(*), w.locktype, coalesce(w.relation::regclass::text, '-'), w.classid, w.objid,"
	  . " w.objsubid, w.mode, (SELECT string_agg(h.pid::text, ',') FROM pg_locks h"
	  . "   WHERE h.granted AND h.locktype = w.locktype AND h.database IS NOT DISTINCT FROM w.database"
	  . "     AND h.relation IS NOT DISTINCT FROM w.relation AND h.classid IS NOT DISTINCT FROM w.classid"
	  . "     AND h.objid IS NOT DISTINCT FROM w.objid AND h.objsubid IS NOT DISTINCT FROM w.objsubid"
	  . "     AND h.transactionid IS NOT DISTINCT FROM w.transactionid) AS holders"
	  . " FROM pg_locks w WHERE NOT w.granted GROUP BY 2, 3, 4, 5, 6, 7, 8 ORDER BY 1 DESC LIMIT 15");
}

# End a series that went wrong: cancel every other backend, stop pgbench,
# then terminate what is left, and drop the gates still held.
sub abandon
{
	my ($pg) = @_;
	$dbh->do("SELECT pg_cancel_backend(pid) FROM pg_stat_activity"
		  . " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()");
	wait_for(10, sub { !running($pg) });
	if (running($pg))
	{
		kill 'TERM', $pg->{pid};
		wait_for(10, sub { !running($pg) });
	}
	$dbh->do("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
		  . " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()");
	$dbh->do("SELECT pg_advisory_unlock_all()");
	$pg->{abandoned} = 1;
}

# Wait until every hold of the round has expired, read who holds what, and
# sweep the bank.  Returns the sweep's events, the holdings and figures.
sub settle_and_sweep
{
	my ($r, $events) = @_;
	my $bank = "burst_$r";
	my $last = 0;
	for my $e (@$events)
	{
		$last = $e->{hi} if $e->{kind} eq 'H' && defined $e->{answer} && $e->{hi} > $last;
	}
	my ($now) = $dbh->selectrow_array("SELECT burst_clock()");
	my $wait = ($last + $StorageboxBurst::HOLD_US - $now) / 1e6 + 0.01;
	sleep($wait) if $wait > 0;

	my %holdings = map { $_->[0] => $_->[1] } @{ $dbh->selectall_arrayref(
		"SELECT c.dedup_id, i.item FROM storagebox_data.claim c"
	  . " JOIN storagebox_data.item i USING (bank_id, slot) JOIN storagebox_data.bank b USING (bank_id)"
	  . " WHERE b.bank_name = ? AND c.dedup_id IS NOT NULL AND c.hold_expires IS NULL", undef, $bank) };
	my ($total, $live) = $dbh->selectrow_array(
		"SELECT b.items_total, (SELECT count(*) FROM storagebox_data.claim c WHERE c.bank_id = b.bank_id"
	  . "   AND c.hold_expires > clock_timestamp())"
	  . " FROM storagebox_data.bank b WHERE b.bank_name = ?", undef, $bank);

	my $sth = $dbh->prepare("SELECT f.lo, burst_clock(), f.a"
		  . " FROM (SELECT burst_stmt() AS lo, sb_fetch_item(?, ?) AS a OFFSET 0) f");
	my @sweep;
	for my $i (1 .. $total + 1)
	{
		$sth->execute($bank, "sweep$i");
		my ($lo, $hi, $answer) = $sth->fetchrow_array;
		$sweep[-1]{end} = $lo if @sweep;
		push @sweep, { client => 'sweep', seq => $i, kind => 'F', mode => 's', dedup => "sweep$i",
			lo => $lo, hi => $hi, end => 9**9**9, answer => $answer };
		last unless defined $answer;
	}
	my ($left, $out) = $dbh->selectrow_array(
		"SELECT items_left, items_handed_out FROM sb_banks WHERE bank = ?", undef, $bank);
	return {
		sweep    => \@sweep,
		holdings => \%holdings,
		total    => $total,
		live     => $live,
		got      => scalar(grep { defined $_->{answer} } @sweep),
		free     => $total - scalar(keys %holdings),
		left     => $left,
		out      => $out,
	};
}

my %totals;

# Check a finished round; returns whether it was right.
sub check_round
{
	my ($r, $clients, $seconds) = @_;
	my $bank = "burst_$r";
	my $rows = $dbh->selectall_arrayref(
		"SELECT client, seq, kind, mode, dedup, lo, hi, sent, answer, pid FROM burst_log"
	  . " WHERE round = ? ORDER BY client, seq", undef, $r);
	my ($events, $ends) = StorageboxBurst::events_from_rows($rows);
	my $s = settle_and_sweep($r, $events);
	my $items = $dbh->selectcol_arrayref(
		"SELECT i.item FROM storagebox_data.item i JOIN storagebox_data.bank b USING (bank_id)"
	  . " WHERE b.bank_name = ?", undef, $bank);
	my $res = StorageboxBurst::check_round(
		events => [ @$events, @{ $s->{sweep} } ], items => $items, holdings => $s->{holdings});
	my $c = $res->{counts};
	my $burst_nulls = ($c->{nulls_a} // 0) + ($c->{nulls_r} // 0);

	note sprintf("round %d: %d connections, bank of %d items, %.2f s; %d calls (%s), %d NULL answers"
		  . " in the burst; sweep got %d of %d free items", $r, $clients, $s->{total}, $seconds,
		scalar(@$events), join(' ', map { "$_=" . ($c->{"calls_$_"} // 0) } qw(Fa Fr Ra Ha)),
		$burst_nulls, $s->{got}, $s->{free});
	$totals{calls} += scalar(@$events);
	$totals{nulls} += $c->{nulls_checked} // 0;
	$totals{answers} += $c->{answers_checked_against_db} // 0;

	my $ok = is_deeply([ $ends, scalar(@$events) ], [ $clients, $clients * $CALLS ],
		"round $r: all $clients connections' calls ($CALLS each) logged");
	$ok &= is_deeply([ $s->{live}, $s->{got}, $s->{left} // -1, defined $s->{sweep}[-1]{answer} ? 1 : 0 ],
		[ 0, $s->{free}, 0, 0 ],
		"round $r: the sweep got exactly the $s->{free} items nobody held, then NULL; items_left 0");
	$ok &= is($res->{violations} // 0, 0,
		"round $r: checker: no violation (" . ($c->{nulls_checked} // 0) . " NULL answers, "
		  . ($c->{answers_checked_against_db} // 0) . " answers checked against the database)")
	  or diag(join("\n", @{ $res->{messages} }, 'round counts: ' . StorageboxBurst::summary($res)));
	return $ok;
}

# One series of rounds.  %o: label, clients, rounds, connstr, pgbench_per_round
# (one pgbench run per round: through pgbouncer), gate_waiters (how many
# connections wait at a gate when all are there), clients_ready (an extra
# condition for that).
sub run_series
{
	my (%o) = @_;
	my $clients = $o{clients};
	my @rounds  = new_rounds($o{rounds});
	$dbh->do("SELECT pg_advisory_lock($GATE, ?)", undef, $_) for @rounds;
	my (@times, $pg);
	my $done = 0;
	my $start = time;
	for my $r (@rounds)
	{
		if (!$pg || $o{pgbench_per_round})
		{
			my $t = $o{pgbench_per_round} ? 1 : scalar(@rounds);
			$pg = start_pgbench("$o{name}_$r", '-c', $clients, '-t', $t, '-D', 'round=' . ($r - 1),
				$o{connstr});
		}
		my $bound = $r == $rounds[0] || $o{pgbench_per_round} ? $CONNECT_BOUND : $BOUND;
		my $ready = wait_for($bound, sub {
			!running($pg) || (at_gate($r) == $o{gate_waiters}
				&& (!$o{clients_ready} || $o{clients_ready}->()));
		});
		if (!$ready || !running($pg))
		{
			fail("$o{label}: round $r: all connections opened and waiting at the start");
			diag(pgbench_errors($pg));
			dump_waits("round $r");
			abandon($pg);
			last;
		}

		my $t0 = time;
		$dbh->do("SELECT pg_advisory_unlock($GATE, ?)", undef, $r);
		# (a client whose call failed never ends its round: stop at once)
		my $finished = wait_for($BOUND, sub {
			-s "$tmp/$pg->{name}.err"
			  || ($dbh->selectrow_array("SELECT count(*) FROM burst_log WHERE round = ? AND kind = 'E'",
					undef, $r))[0] == $clients;
		});
		my $seconds = time - $t0;
		my $errors = pgbench_errors($pg);
		my $no_error = is($errors, '', "$o{label}: round $r: no call failed");
		if (!$no_error || !ok($finished, "$o{label}: round $r finished within $BOUND s"))
		{
			dump_waits(sprintf("round %d, %.1f s after it started", $r, $seconds));
			abandon($pg);
			last;
		}
		push @times, $seconds;
		wait_for($BOUND, sub { !running($pg) }) if $o{pgbench_per_round} || $r == $rounds[-1];
		$done++ if check_round($r, $clients, $seconds);
	}
	if ($pg && !$pg->{abandoned})
	{
		if (running($pg))
		{
			fail("$o{label}: pgbench still running after the last round");
			abandon($pg);
		}
		else
		{
			is($pg->{status}, 0, "$o{label}: pgbench exited 0") or diag(pgbench_errors($pg));
		}
	}
	my @sorted = sort { $a <=> $b } @times;
	note sprintf("%s: %d of %d rounds finished and checked; round time median %.2f s, max %.2f s;"
		  . " series %.1f s", $o{label}, $done, scalar(@rounds),
		@sorted ? $sorted[ $#sorted / 2 ] : 0, @sorted ? $sorted[-1] : 0, time - $start);
	is($done, scalar(@rounds), "$o{label}: all " . scalar(@rounds) . " rounds finished and checked");
	$dbh->do("SELECT pg_advisory_unlock_all()");

	# the database-wide invariants, over every bank so far
	my $db = StorageboxCheck::check(query => $query);
	my $c = $db->{counts};
	is($db->{violations}, 0, "$o{label}: StorageboxCheck over $c->{banks} banks ($c->{items_total} items,"
		  . " $c->{items_handed_out} handed out, $c->{items_left} left): no violation")
	  or diag(join("\n", @{ $db->{messages} }));
}

# SB_BURST_SERIES=50:2,200:2,500:1,bouncer:1 shortens a run while the test
# itself is being worked on; CI runs the default.
my %series = (50 => 20, 200 => 20, 500 => 5, bouncer => 3);
%series = map { split /:/ } split /,/, $ENV{SB_BURST_SERIES} if $ENV{SB_BURST_SERIES};

my $direct = 'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres';
for my $n (sort { $a <=> $b } grep { /^\d+$/ } keys %series)
{
	my $rounds = $series{$n};
	run_series(label => "$n connections", name => "c$n", clients => $n, rounds => $rounds,
		connstr => $direct, gate_waiters => $n);
}

# The same burst through pgbouncer: 1,000 client connections, a pool of 50.
my $pgbouncer = $ENV{PGBOUNCER} // '/usr/sbin/pgbouncer';
SKIP:
{
	skip "no pgbouncer rounds asked for", 1 unless $series{bouncer};
	skip "pgbouncer not installed ($pgbouncer)", 1 unless -x $pgbouncer;
	my $hard = `sh -c 'ulimit -Hn'`;
	chomp $hard;
	skip "the open files limit ($hard) is too low for 1,000 client connections", 1
	  unless $hard eq 'unlimited' || $hard >= 2200;

	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my $user = getpwuid($<);
	open(my $ul, '>', "$tmp/userlist.txt") or die;
	print $ul "\"$user\" \"\"\n";
	close($ul);
	open(my $ini, '>', "$tmp/pgbouncer.ini") or die;
	print $ini <<"INI";
[databases]
postgres = host=${\ $node->host} port=${\ $node->port} dbname=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $tmp/userlist.txt
admin_users = $user
pool_mode = transaction
default_pool_size = $POOL
max_client_conn = 1100
logfile = $tmp/pgbouncer.log
pidfile = $tmp/pgbouncer.pid
ignore_startup_parameters = extra_float_digits
INI
	close($ini);
	my $bouncer = IPC::Run::start(
		[ 'sh', '-c', 'ulimit -n 4096; exec "$@"', 'sh', $pgbouncer, "$tmp/pgbouncer.ini" ],
		'>', "$tmp/pgbouncer.out", '2>&1');
	my $via = "host=127.0.0.1 port=$port dbname=postgres";
	ok(wait_for(10, sub { system('psql', '-XAtq', '-d', $via, '-c', 'SELECT 1') == 0 }),
		'pgbouncer accepts connections') or BAIL_OUT('pgbouncer did not start');

	# the clients pgbouncer holds, connected to a server or waiting for one
	my $bouncer_clients = sub {
		my $out = `psql -XA -F '|' --pset footer=off -d "host=127.0.0.1 port=$port dbname=pgbouncer" -c 'SHOW POOLS' 2>/dev/null`;
		my ($head, @lines) = split /\n/, $out;
		return 0 unless $head;
		my @h = split /\|/, $head;
		my %col = map { $h[$_] => $_ } 0 .. $#h;
		for my $l (@lines)
		{
			my @f = split /\|/, $l;
			return $f[ $col{cl_active} ] + $f[ $col{cl_waiting} ] if $f[ $col{database} ] eq 'postgres';
		}
		return 0;
	};
	run_series(label => "1000 clients via pgbouncer (pool $POOL)", name => 'bouncer', clients => 1000,
		rounds => $series{bouncer}, connstr => $via, pgbench_per_round => 1, gate_waiters => $POOL,
		clients_ready => sub { $bouncer_clients->() >= 1000 });
	$bouncer->kill_kill;
}

cmp_ok($totals{calls} // 0, '>', 0, "calls checked: " . ($totals{calls} // 0));
cmp_ok($totals{nulls} // 0, '>', 0, "NULL answers checked: " . ($totals{nulls} // 0));
cmp_ok($totals{answers} // 0, '>', 0, "committed answers checked against the database: " . ($totals{answers} // 0));

$dbh->disconnect;
$node->stop;
done_testing();
