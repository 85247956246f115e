
# StorageboxLoad: the load generator for storagebox's reliability tests.
#
# Each client is a psql process running a generated script.  Every statement
# prints one line (a fetch made as a statement of its own, cfg p_whole, is
# followed by the statement that prints its line), so the client's output
# file is the log of every answer it received, in order:
#
#   kind|txn|mode|name|dedup_id|ts|answer
#
# kind    F sb_fetch_item, R sb_release, N sb_next (answer: comma list),
#         r the announcement of the sb_release that follows (answer ?),
#         E end of script
# txn     transaction number within the client (a statement outside BEGIN
#         has its own); lines of one BEGIN ... COMMIT block share it
# mode    a autocommit, c inside a block that ends in COMMIT,
#         r inside a block that ends in ROLLBACK
# name    bank or dispenser
# ts      statement_timestamp() in microseconds since the epoch
# answer  the value returned; ~ for NULL
#
# psql runs with ON_ERROR_STOP, so it only sends a statement after the one
# before it completed, COMMIT included.  Hence a line is committed (the
# client saw the COMMIT acknowledged) exactly when a later line of the same
# log has a larger txn number; the statement_timestamp of that later line is
# an upper bound of the commit time, and the line's own ts a lower bound.
# A last block with no later line (the server crashed) is "unknown": the
# client got an answer but no acknowledged COMMIT.
#
# A client cut off by a crash may also have had one autocommit statement
# in flight whose COMMIT was written but whose answer never arrived: the
# server sends a statement's result after its commit.  That statement left
# no line.  A release announces itself (kind r) for that reason, and the
# checker reads a fetch in flight from the client's script (the statement
# after the log's last line, StorageboxCheck::parse_logs).
#
# Copyright (c) storagebox authors; PostgreSQL License.

package StorageboxLoad;

use strict;
use warnings;
use StorageboxFlavour;

use File::Path qw(make_path);
use POSIX ();
use IPC::Run;
use Time::HiRes;

# Scale of the CI run; tools/long_load.sh raises these through the
# environment.
sub env_int
{
	my ($name, $default) = @_;
	my $v = $ENV{$name};
	return (defined $v && $v =~ /^\d+$/) ? $v + 0 : $default;
}

# The banks and dispensers for a run whose ids come from 1..id_range.
# Three banks share the scope "team", one has a private scope.  Supply is
# below demand: team 0.6 * id_range items, solo 0.5 * id_range.
sub config
{
	my (%o) = @_;
	my $calls    = $o{calls}   // 100000;
	my $id_range = $o{id_range} // ($calls / 30 < 300 ? 300 : int($calls / 30));
	return {
		clients   => $o{clients} // 16,
		calls     => $calls,
		id_range  => $id_range,
		window    => $o{window} // 16,
		p_hot     => $o{p_hot} // 0.3,
		p_txn     => $o{p_txn} // 0.08,
		p_release => $o{p_release} // 0.02,
		p_dispense => $o{p_dispense} // 0.05,
		only_numbers => $o{only_numbers} // 0,
		p_whole   => $o{p_whole} // 0,
		banks => [
			{ bank => 'team_a', scope => 'team', items => int(0.25 * $id_range) },
			{ bank => 'team_b', scope => 'team', items => int(0.20 * $id_range) },
			{ bank => 'team_c', scope => 'team', items => int(0.15 * $id_range) },
			{ bank => 'solo',   scope => undef,  items => int(0.50 * $id_range) },
		],
		dispensers => [
			{ name => 'tickets', direction => 'forward', min => 1, max => 1000000000000 },
			{ name => 'countdown', direction => 'reverse', min => 1, max => 1000000000000 },
		],
	};
}

# SQL that creates the extension, the banks (items added in two batches) and
# the dispensers.
sub setup_sql
{
	my ($cfg) = @_;
	my $sql = "CREATE EXTENSION IF NOT EXISTS $sb_extension;\n";
	for my $b (@{ $cfg->{banks} })
	{
		my $scope = defined $b->{scope} ? "'$b->{scope}'" : 'NULL';
		my $half  = int($b->{items} / 2);
		$sql .= "SELECT sb_create_bank('$b->{bank}', $scope);\n";
		$sql .= "SELECT sb_add_items('$b->{bank}', array(SELECT '$b->{bank}:' || g"
		  . " FROM generate_series(1, $half) g));\n";
		$sql .= "SELECT sb_add_items('$b->{bank}', array(SELECT '$b->{bank}:' || g"
		  . " FROM generate_series($half + 1, $b->{items}) g));\n";
	}
	for my $d (@{ $cfg->{dispensers} })
	{
		$sql .= "SELECT sb_create_dispenser('$d->{name}', '$d->{direction}',"
		  . " $d->{min}, $d->{max});\n";
	}
	return $sql;
}

my $TS = ":ts";

# One client's script: $quota fetch calls, deterministic from $seed.
sub client_script
{
	my ($cfg, $seed, $quota) = @_;
	my @banks = map { $_->{bank} } @{ $cfg->{banks} };
	my @disp  = @{ $cfg->{dispensers} };
	my $range = $cfg->{id_range};
	my $txn   = 0;
	my $fetches = 0;
	my @out;

	srand($seed);
	push @out, "\\set ts '(extract(epoch FROM statement_timestamp()) * 1000000)::int8'";

	# Most ids move through 1..range as the client progresses, and a third
	# repeat an id asked before.  The rest are "hot": computed by the server
	# from the clock, one id per 10 ms sweeping the range, so that all the
	# clients ask for the same id at the same moment.
	my $hot = "'u' || (1 + (extract(epoch FROM statement_timestamp()) * 100)::int8 % $range)";
	my $pick_id = sub {
		my ($p_hot) = @_;
		return $hot if rand() < $p_hot;
		my $base = int($fetches / $quota * $range);
		my $id   = rand() < 0.67
		  ? $base + int(rand($cfg->{window}))
		  : int(rand($base + $cfg->{window}));
		$id = $range - 1 if $id >= $range;
		return "'u" . ($id + 1) . "'";
	};
	my $pick_bank = sub { $banks[ int(rand(@banks)) ] };
	my $fetch_sql = sub {
		my ($mode, $b, $id) = @_;
		$fetches++;
		if ($cfg->{p_whole} > 0 && rand() < $cfg->{p_whole})
		{
			# The fetch as a statement of its own, the form Citus's layout
			# delegates (src/citus/delegate.c).  The line is printed by a
			# third statement, with the ts taken before the fetch.
			return "SELECT $TS AS t0, $id AS id \\gset\n"
			  . "SELECT sb_fetch_item('$b', :'id') AS a \\gset\n"
			  . "\\if :{?a}\n"
			  . "SELECT 'F', $txn, '$mode', '$b', :'id', :t0, :'a';\n"
			  . "\\else\n"
			  . "SELECT 'F', $txn, '$mode', '$b', :'id', :t0, '~';\n"
			  . "\\endif";
		}
		return "SELECT 'F', $txn, '$mode', '$b', h.id, $TS,"
		  . " coalesce(sb_fetch_item('$b', h.id), '~') FROM (SELECT $id AS id) h;";
	};
	my $fetch = sub {
		my ($mode) = @_;
		return $fetch_sql->($mode, $pick_bank->(), $pick_id->($cfg->{p_hot}));
	};
	my $dispense = sub {
		my ($mode) = @_;
		my $d = $disp[ int(rand(@disp)) ]->{name};
		my $call = rand() < 0.5
		  ? "sb_next('$d')::text"
		  : "array_to_string(sb_next('$d', " . (1 + int(rand(20))) . "), ',')";
		return "SELECT 'N', $txn, '$mode', '$d', '', $TS, $call;";
	};

	while ($fetches < $quota)
	{
		my $r = rand();
		$txn++;
		if ($cfg->{only_numbers})
		{
			# numbers only: $quota sb_next calls, a tenth in blocks
			$fetches++;
			if ($r < 0.1)
			{
				push @out, 'BEGIN;', $dispense->($r < 0.05 ? 'c' : 'r'),
				  $r < 0.05 ? 'COMMIT;' : 'ROLLBACK;';
			}
			else
			{
				push @out, $dispense->('a');
			}
		}
		elsif ($r < $cfg->{p_release})
		{
			# The release is announced by a line of its own (kind r) with
			# the id it will release, the id computed once: a release whose
			# COMMIT is written but whose answer never reaches the client
			# (the server dies in between) still shows in the log.
			my ($b, $id) = ($pick_bank->(), $pick_id->(0.5));
			push @out, "SELECT $id AS rid \\gset",
			  "SELECT 'r', $txn, 'a', '$b', :'rid', $TS, '?';",
			  "SELECT 'R', $txn, 'a', '$b', :'rid', $TS,"
			  . " coalesce(sb_release('$b', :'rid'), '~');";
		}
		elsif ($r < $cfg->{p_release} + $cfg->{p_dispense})
		{
			push @out, $dispense->('a');
		}
		elsif ($r < $cfg->{p_release} + $cfg->{p_dispense} + $cfg->{p_txn})
		{
			my $commit = rand() < 0.5;
			my $mode   = $commit ? 'c' : 'r';
			# Several fetches in one transaction take their dedup_ids in
			# one global order (id, then bank), as the README advises:
			# two transactions wanting the same two ids in opposite orders
			# would deadlock like any two inserters of the same unique keys
			# (test/t/011_lock_protocol_load.pl counts that case apart).
			# So no hot ids here: those are picked by the server's clock.
			my @picks = map { [ $pick_bank->(), $pick_id->(0) ] } 1 .. 1 + int(rand(3));
			my $key = sub { my ($n) = $_[0][1] =~ /(\d+)/; sprintf('%012d %s', $n, $_[0][0]) };
			@picks = sort { $key->($a) cmp $key->($b) } @picks;
			push @out, 'BEGIN;';
			push @out, $fetch_sql->($mode, @$_) for @picks;
			push @out, $dispense->($mode) if $cfg->{p_dispense} > 0 && rand() < 0.3;
			push @out, $commit ? 'COMMIT;' : 'ROLLBACK;';
		}
		else
		{
			push @out, $fetch->('a');
		}
	}
	$txn++;
	push @out, "SELECT 'E', $txn, 'a', '', '', $TS, '';";
	return join("\n", @out) . "\n";
}

# Start the load in the background.  %o: connstr, dir (where scripts and
# logs go), cfg, seed, calls (total fetch calls, default cfg), clients.
# Returns a handle for wait_load.
sub start_load
{
	my (%o) = @_;
	my $cfg     = $o{cfg};
	my $clients = $o{clients} // $cfg->{clients};
	my $calls   = $o{calls} // $cfg->{calls};
	my $dir     = $o{dir};
	my $psql    = $o{psql} // 'psql';
	my @clients;

	make_path($dir);
	for my $c (1 .. $clients)
	{
		my $quota = int($calls / $clients) + ($c <= $calls % $clients ? 1 : 0);
		my $base  = "$dir/client$c";
		open(my $fh, '>', "$base.sql") or die "cannot write $base.sql: $!";
		print $fh client_script($cfg, ($o{seed} // 1) * 1000 + $c, $quota);
		close($fh);
		my $h = IPC::Run::start(
			[ $psql, '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
			  '-d', $o{connstr}, '-f', "$base.sql" ],
			'<', \undef, '>', "$base.log", '2>', "$base.err");
		push @clients, { harness => $h, log => "$base.log", err => "$base.err" };
	}
	return { clients => \@clients, started => Time::HiRes::time() };
}

# Wait for every client; returns { logs => [...], failed => n, stderr => text,
# seconds => elapsed }.
sub wait_load
{
	my ($load) = @_;
	my ($failed, $stderr) = (0, '');
	for my $c (@{ $load->{clients} })
	{
		$failed++ unless $c->{harness}->finish;
		if (-s $c->{err})
		{
			open(my $fh, '<', $c->{err}) or die;
			local $/;
			$stderr .= "$c->{err}: " . <$fh>;
		}
	}
	return {
		logs    => [ map { $_->{log} } @{ $load->{clients} } ],
		failed  => $failed,
		stderr  => $stderr,
		seconds => Time::HiRes::time() - $load->{started},
	};
}

# Lines written so far by all clients of a running load.
sub progress
{
	my ($load) = @_;
	my $n = 0;
	for my $c (@{ $load->{clients} })
	{
		open(my $fh, '<', $c->{log}) or next;
		$n++ while <$fh>;
		close($fh);
	}
	return $n;
}

# Start a node after a crash.  On failure report a failed test with the
# server log's PANIC/FATAL lines and return 0.
sub restart_after_crash
{
	my ($node, $what) = @_;
	my $log_size = -s $node->logfile;
	my $ok = $node->start(fail_ok => 1);
	Test::More::ok($ok, "$what: server restarts after the crash");
	return 1 if $ok;
	open(my $fh, '<', $node->logfile) or die;
	seek($fh, $log_size, 0);
	Test::More::diag($_) for grep { /PANIC|FATAL|CONTEXT/ } <$fh>;
	return 0;
}

# Pids of the children of a process (Linux /proc), for waiting out the
# backends a SIGKILLed postmaster leaves behind.
sub child_pids
{
	my ($ppid) = @_;
	my @kids;
	for my $stat (glob('/proc/[0-9]*/stat'))
	{
		open(my $fh, '<', $stat) or next;
		my $line = <$fh>;
		close($fh);
		next unless defined $line && $line =~ /^(\d+) \(.*\) \S+ (\d+)/;
		push @kids, $1 if $2 == $ppid;
	}
	return @kids;
}

# Wait until none of the pids exists (at most $timeout seconds).
sub wait_pids_gone
{
	my ($timeout, @pids) = @_;
	my $deadline = Time::HiRes::time() + $timeout;
	while (Time::HiRes::time() < $deadline)
	{
		return 1 unless grep { kill(0, $_) } @pids;
		Time::HiRes::sleep(0.1);
	}
	return 0;
}

# Run $code in a forked child; returns its pid.  The child exits 1 if
# $code dies (with the message on stderr), 0 otherwise.
sub spawn
{
	my ($code) = @_;
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		eval { $code->(); 1 } or do { print STDERR "client died: $@"; POSIX::_exit(1); };
		POSIX::_exit(0);
	}
	return $pid;
}

1;
