
# StorageboxBurst: the burst of test/t/090_burst.pl (issue 24): the pgbench
# script that makes it, and the checker of one round.
#
# A round is one fresh bank and N connections that all start at once.  Each
# connection makes $calls calls, each one of (percentages in %MIX):
#   F a  SELECT sb_fetch_item(bank, id)                    autocommit
#   F r  BEGIN; SELECT sb_fetch_item(bank, id); ROLLBACK
#   R a  SELECT sb_release(bank, id)                       autocommit
#   H a  SELECT sb_hold_item(bank, id, HOLD), never confirmed
# with id drawn from u1..u<ids>, ids about twice the bank's items: the same
# id is pressed from several connections at once, and most ids find the
# bank sold out.  Every call is logged in the table burst_log, by the same
# statement as the call when it runs in autocommit (the row commits exactly
# when the call's transaction does), and right after the ROLLBACK for the
# rolled-back ones.  A row carries:
#   lo    statement_timestamp() of the call's statement (before the call)
#   hi    clock_timestamp() after the call returned
#   sent  statement_timestamp() of the statement that wrote the row: lo for
#         an autocommit call, after the ROLLBACK for a rolled-back one
#   pid   the backend that wrote the row (for the server log; through a
#         pooler, a rolled-back call may have run on another one)
# (microseconds since the epoch, the server's clock).  Every connection
# ends its round with an 'E' row.  A connection sends a statement only
# once the one before it has completed, commit included, so the next row's
# sent bounds the commit of an autocommit call from above.
#
# After the round the test waits for every hold to expire, reads who holds
# what, and sweeps the bank (fetches for new ids, one at a time, until one
# answers NULL); the sweep's calls are events too (mode 's').
#
# check_round proves, from the events and the database:
#   - every call made was logged, and every answer names an item of the
#     bank;
#   - no item went to two ids for good: two ids with a committed fetch
#     answer of the same item, neither of which ever held it on a hold or
#     released it, is a violation; two holds of one item by two ids that
#     were certainly live at the same moment are one too (a hold answer
#     certainly began its hold, live over [hi, lo + HOLD], only when no
#     other answer of that id for the item may have been live then: a
#     repeat returns a live hold without extending it);
#   - a dedup_id holds at most one item: every committed fetch answer of an
#     id is what the id holds after the round, unless the id released an
#     item after it, or the answer may have been the repeat of a hold that
#     was live then (a live hold stays a hold; it expires); a NULL answered
#     to an id that certainly held an item for good is a violation; what
#     an id holds after the round was answered to it;
#   - NULL only when sold out: an item is "possibly held" from the start of
#     any call that answered it (committed or not) until that holding
#     certainly ended: the ROLLBACK of a rolled-back call, the latest
#     possible expiry of a hold (hi + HOLD), the commit bound of a release
#     of it by the same id that began after the call ended (a release
#     during a long call may have freed an earlier claim, the call then
#     claiming the item again), else the end of the round.  Every NULL
#     answer of a fetch or hold (autocommit, rolled back or sweep) must have
#     found no item free: if some item was possibly held by nobody during
#     the whole call, the NULL is a violation.  This is sound because a
#     fetch that holds no claim of its own (every call here is alone in its
#     transaction) answers NULL only after waiting out the claims in flight
#     (wait (b)), that is when every item is held by a committed claim, and
#     every claim of this fresh bank was answered by a logged call.
# The database-wide invariants (no item held twice, one item per dedup_id
# and scope, items_total = handed out + left, the watermark) are
# StorageboxCheck's.
#
# Copyright (c) storagebox authors; PostgreSQL License.

package StorageboxBurst;

use strict;
use warnings;

my $INF = 9**9**9;

# Percentages of the call mix, in the order the script tries them.
our %MIX = (fetch => 82, rollback => 6, release => 6, hold => 6);

# The hold of an H call, in SQL and in microseconds.
our $HOLD    = '50 milliseconds';
our $HOLD_US = 50_000;

# The tables and functions the script writes to; made once per database.
sub setup_sql
{
	return <<'SQL';
CREATE UNLOGGED TABLE burst_round (round int PRIMARY KEY, bank text NOT NULL, ids int NOT NULL);
CREATE UNLOGGED TABLE burst_log (
    round int NOT NULL, client int NOT NULL, seq int NOT NULL,
    kind "char" NOT NULL, mode "char" NOT NULL, dedup text,
    lo int8, hi int8, sent int8 NOT NULL, answer text,
    pid int DEFAULT pg_backend_pid());
CREATE INDEX burst_log_ends ON burst_log (round) WHERE kind = 'E';
CREATE FUNCTION burst_clock() RETURNS int8 LANGUAGE sql VOLATILE
    RETURN (extract(epoch FROM clock_timestamp()) * 1000000)::int8;
CREATE FUNCTION burst_stmt() RETURNS int8 LANGUAGE sql STABLE
    RETURN (extract(epoch FROM statement_timestamp()) * 1000000)::int8;
SQL
}

# The pgbench script of one round of one connection: it waits at the gate
# of its round (an advisory lock the test holds, key $gate, round), reads
# its bank, makes $calls calls and writes its 'E' row.  The variable round
# is the round before the first one (pgbench -D round=...); each run of the
# script moves it on by one.  Run with -M extended (variables are bound as
# parameters, so no quoting is needed).
sub pgbench_script
{
	my (%o) = @_;
	my $calls = $o{calls};
	my $gate  = $o{gate};
	my ($f, $r, $l) = ($MIX{fetch}, $MIX{fetch} + $MIX{rollback},
		$MIX{fetch} + $MIX{rollback} + $MIX{release});
	my $s = "\\set round :round + 1\n"
	  . "SELECT pg_advisory_xact_lock_shared($gate, :round);\n"
	  . "SELECT bank, ids FROM burst_round WHERE round = :round \\gset\n";
	my $log = "INSERT INTO burst_log (round, client, seq, kind, mode, dedup, lo, hi, sent, answer)";
	for my $seq (1 .. $calls)
	{
		my $row = sub {
			my ($kind, $call) = @_;
			return "$log SELECT :round::int, :client_id::int, $seq, '$kind', 'a', f.d, f.lo, burst_clock(), f.lo, f.a"
			  . " FROM (SELECT 'u' || :id AS d, burst_stmt() AS lo, $call AS a OFFSET 0) f;\n";
		};
		$s .= "\\set id random(1, :ids)\n"
		  . "\\set act random(1, 100)\n"
		  . "\\if :act <= $f\n"
		  . $row->('F', "sb_fetch_item(:bank, 'u' || :id)")
		  . "\\elif :act <= $r\n"
		  . "BEGIN;\n"
		  . "SELECT f.d AS rd, f.lo AS rlo, burst_clock() AS rhi, coalesce(f.a, '~') AS ra"
		  . " FROM (SELECT 'u' || :id AS d, burst_stmt() AS lo, sb_fetch_item(:bank, 'u' || :id) AS a OFFSET 0) f \\gset\n"
		  . "ROLLBACK;\n"
		  . "$log VALUES (:round, :client_id, $seq, 'F', 'r', :rd, :rlo, :rhi, burst_stmt(), nullif(:ra, '~'));\n"
		  . "\\elif :act <= $l\n"
		  . $row->('R', "sb_release(:bank, 'u' || :id)")
		  . "\\else\n"
		  . $row->('H', "sb_hold_item(:bank, 'u' || :id, '$HOLD')")
		  . "\\endif\n";
	}
	$s .= "INSERT INTO burst_log (round, client, seq, kind, mode, sent)"
	  . " VALUES (:round, :client_id, " . ($calls + 1) . ", 'E', 'a', burst_stmt());\n";
	return $s;
}

# The events of a round from burst_log rows [client, seq, kind, mode,
# dedup, lo, hi, sent, answer (undef for NULL), pid], ordered by client and
# seq.
# Each event gets end: the upper bound of when its transaction ended (the
# next row's sent for an autocommit call, sent for a rolled-back one).
# Returns (events, number of 'E' rows).
sub events_from_rows
{
	my ($rows) = @_;
	my (@ev, $ends);
	for my $i (0 .. $#$rows)
	{
		my ($client, $seq, $kind, $mode, $dedup, $lo, $hi, $sent, $answer, $pid) = @{ $rows->[$i] };
		if ($kind eq 'E')
		{
			$ends++;
			next;
		}
		my $next = $rows->[ $i + 1 ];
		my $end =
			$mode eq 'r' ? $sent
		  : ($next && $next->[0] == $client) ? $next->[7]
		  : $INF;
		push @ev, {
			client => $client, seq => $seq, kind => $kind, mode => $mode,
			dedup => $dedup, lo => $lo, hi => $hi, end => $end, answer => $answer, pid => $pid };
	}
	return (\@ev, $ends // 0);
}

# Check one round.  %o: events (burst and sweep, see events_from_rows),
# items (the bank's item texts), holdings ({dedup_id => item} held for good
# after the round, before the sweep).  Returns { violations, messages,
# counts }.
sub check_round
{
	my (%o) = @_;
	my @ev = @{ $o{events} };
	my %is_item = map { $_ => 1 } @{ $o{items} };
	my %final = %{ $o{holdings} };
	my (@msg, %count);
	my $bad = sub { $count{violations}++; push @msg, join('', @_) if @msg < 30; };
	my $desc = sub {
		my ($e) = @_;
		return "$e->{kind}$e->{mode} $e->{dedup} -> " . ($e->{answer} // 'NULL')
		  . " (client $e->{client} call $e->{seq}, [$e->{lo}, $e->{hi}]"
		  . (defined $e->{pid} ? ", pid $e->{pid}" : '') . ")";
	};

	my (%by_dedup, %by_item);
	for my $e (@ev)
	{
		$count{calls}++;
		$count{"calls_$e->{kind}$e->{mode}"}++;
		push @{ $by_dedup{ $e->{dedup} } }, $e;
		next unless defined $e->{answer};
		$bad->("answer is not an item of the bank: " . $desc->($e)) unless $is_item{ $e->{answer} };
		push @{ $by_item{ $e->{answer} } }, $e;
	}
	my $committed = sub { $_[0]{mode} ne 'r' };

	# For one id: its holds (committed, answered) and its releases that
	# released something.
	my (%holds_of, %releases_of);
	for my $e (@ev)
	{
		next unless defined $e->{answer} && $committed->($e);
		push @{ $holds_of{ $e->{dedup} } }, $e if $e->{kind} eq 'H';
		push @{ $releases_of{ $e->{dedup} } }, $e if $e->{kind} eq 'R';
	}

	# --- no item held by two ids ---
	for my $item (sort keys %by_item)
	{
		my (%permanent, %may_lose);
		for my $e (@{ $by_item{$item} })
		{
			next unless $committed->($e);
			$permanent{ $e->{dedup} } = $e if $e->{kind} eq 'F';
			$may_lose{ $e->{dedup} } = 1 if $e->{kind} eq 'H' || $e->{kind} eq 'R';
		}
		my @firm = sort grep { !$may_lose{$_} } keys %permanent;
		$bad->("item $item went for good to two ids: " . join(' and ', map { $desc->($permanent{$_}) } @firm))
		  if @firm > 1;

		my %released_by = map { $_->{dedup} => 1 }
		  grep { $committed->($_) && $_->{kind} eq 'R' } @{ $by_item{$item} };
		my @holds = grep { $committed->($_) && $_->{kind} eq 'H' } @{ $by_item{$item} };

		# A hold answer certainly began its hold only if no other answer of
		# the same id for this item may have been live then: a repeat (from
		# another connection of the same id, say) returns a live hold
		# without extending it, so its window began earlier.  A hold that
		# began during the call [lo, hi] is certainly live over
		# [hi, lo + HOLD].
		my $began = sub {
			my ($a) = @_;
			for my $o (@holds)
			{
				next if $o == $a || $o->{dedup} ne $a->{dedup};
				return 0 if $o->{lo} < $a->{hi} && $o->{hi} + $HOLD_US >= $a->{lo};
			}
			return 1;
		};
		for my $i (0 .. $#holds)
		{
			for my $j ($i + 1 .. $#holds)
			{
				my ($a, $b) = ($holds[$i], $holds[$j]);
				next if $a->{dedup} eq $b->{dedup};
				next if $released_by{ $a->{dedup} } || $released_by{ $b->{dedup} };
				next unless $began->($a) && $began->($b);
				$count{hold_pairs}++;
				my $from = $a->{hi} > $b->{hi} ? $a->{hi} : $b->{hi};
				my $to = $a->{lo} < $b->{lo} ? $a->{lo} + $HOLD_US : $b->{lo} + $HOLD_US;
				$bad->("item $item held live by two ids at once: " . $desc->($a) . " and " . $desc->($b))
				  if $from < $to;
			}
		}
	}

	# --- one item per id, and committed answers stay ---
	for my $d (sort keys %by_dedup)
	{
		my @mine = @{ $by_dedup{$d} };
		my @rel  = @{ $releases_of{$d} // [] };
		my @hold = @{ $holds_of{$d} // [] };
		for my $e (@mine)
		{
			next unless $e->{kind} eq 'F' && $committed->($e) && defined $e->{answer} && $e->{mode} ne 's';
			# may be the repeat of a hold live at the time
			next if grep { $_->{lo} < $e->{hi} && $e->{lo} < $_->{hi} + $HOLD_US } @hold;
			# an item released after it
			next if grep { $_->{end} > $e->{lo} } @rel;
			$count{answers_checked_against_db}++;
			$bad->("dedup_id $d was answered $e->{answer} (" . $desc->($e)
				  . ") but holds " . ($final{$d} // 'nothing') . " after the round")
			  if ($final{$d} // '') ne $e->{answer};
		}
		for my $n (@mine)
		{
			next if defined $n->{answer} || $n->{kind} eq 'R';
			for my $e (@mine)
			{
				next unless $e->{kind} eq 'F' && $committed->($e) && defined $e->{answer};
				next unless $e->{end} <= $n->{lo};
				next if grep { $_->{lo} < $e->{hi} } @hold;
				next if grep { $_->{lo} < $n->{hi} && $_->{end} > $e->{lo} } @rel;
				$bad->("NULL answered to an id that held an item for good: " . $desc->($n)
					  . " after " . $desc->($e));
				last;
			}
		}
	}
	for my $d (sort keys %final)
	{
		$count{holdings}++;
		$bad->("dedup_id $d holds $final{$d} after the round, which no committed fetch answered it")
		  unless grep { $_->{kind} eq 'F' && $committed->($_) && ($_->{answer} // '') eq $final{$d} }
		  @{ $by_dedup{$d} // [] };
	}

	# --- NULL only when sold out ---
	# The union of the intervals in which each item was possibly held.
	my %held;
	for my $item (keys %is_item)
	{
		my @iv;
		for my $e (@{ $by_item{$item} // [] })
		{
			next if $e->{kind} eq 'R';
			my $end;
			if ($e->{mode} eq 'r')
			{
				$end = $e->{end};
			}
			elsif ($e->{kind} eq 'H')
			{
				$end = $e->{hi} + $HOLD_US;
			}
			else
			{
				# a release that began after the call ended released this
				# claim (or a later one); one that overlapped the call may
				# have released an earlier claim, the call claiming after it
				my ($r) = sort { $a->{lo} <=> $b->{lo} }
				  grep { ($_->{answer} // '') eq $item && $_->{lo} >= $e->{hi} }
				  @{ $releases_of{ $e->{dedup} } // [] };
				$end = $r ? $r->{end} : $INF;
			}
			push @iv, [ $e->{lo}, $end ];
		}
		my @u;
		for my $iv (sort { $a->[0] <=> $b->[0] } @iv)
		{
			if (@u && $iv->[0] <= $u[-1][1])
			{
				$u[-1][1] = $iv->[1] if $iv->[1] > $u[-1][1];
			}
			else
			{
				push @u, [@$iv];
			}
		}
		$held{$item} = \@u;
	}
	# Whether an item was possibly held by nobody during all of [lo, hi].
	my $free_throughout = sub {
		my ($u, $lo, $hi) = @_;
		for my $iv (@$u)
		{
			return 0 if $iv->[0] <= $hi && $iv->[1] >= $lo;
			last if $iv->[0] > $hi;
		}
		return 1;
	};
	for my $n (@ev)
	{
		next if defined $n->{answer} || $n->{kind} eq 'R';
		$count{nulls_checked}++;
		$count{"nulls_$n->{mode}"}++;
		my @free = grep { $free_throughout->($held{$_}, $n->{lo}, $n->{hi}) } sort keys %held;
		next unless @free;
		$count{nulls_not_sold_out}++;
		$bad->("NULL answered while " . scalar(@free) . " item(s) were free throughout the call ("
			  . join(', ', @free[ 0 .. ($#free < 4 ? $#free : 4) ]) . "): " . $desc->($n))
		  if $count{nulls_not_sold_out} <= 10;
	}

	$count{violations} //= 0;
	return { violations => $count{violations}, messages => \@msg, counts => \%count };
}

# The counts of a result as one line.
sub summary
{
	my ($result) = @_;
	my $c = $result->{counts};
	return join(' ', map { "$_=" . ($c->{$_} // 0) } sort keys %$c);
}

1;
