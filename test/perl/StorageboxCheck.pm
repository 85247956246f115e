
# StorageboxCheck: proves storagebox handed nothing out twice and lost
# nothing, from the database alone or together with client logs.
#
# It needs no test framework: give it a function that runs a query and
# returns psql -XAt output ('|'-separated), and optionally the client logs
# written by StorageboxLoad (format documented there).  tools/sb_check.pl
# runs it against any database.
#
# Database checks (always):
#   - no item (bank, slot) held by two claims; no item text held twice in a
#     bank
#   - no dedup_id holding two items in a scope
#   - every held claim is in the scope of its bank (scopes honoured)
#   - every claim has its item; slots within 1..items_total; the copy of
#     the item a claim row carries (1.3) is the item of its slot
#   - counts conserved: items_total = count of items = items_left +
#     items_handed_out (sb_banks), items_handed_out = held claims,
#     items_left >= 0; every slot up to the settle watermark has a claim row
#   - dispensers: next_value within [min_value, max_value]
#
# Log checks (when logs are given).  An answer's time is bracketed by its own
# statement_timestamp (lo) and the next statement's of the same client after
# its COMMIT (hi); a release "may lie between" two answers when its bracket
# overlaps theirs.  For each (scope, dedup_id):
#   - two committed non-NULL fetch answers with no release that may lie
#     between are the same item; a committed NULL answer certainly after a
#     committed item, with no release between, is a violation
#   - a committed fetch answer matches what the database records now unless
#     a release may have come after it (acknowledged commits are durable)
#   - the item returned belongs to a bank of the scope asked
#   - what the database records was some fetch's answer (committed or
#     unknown): rolled-back answers are not recorded unless the id got that
#     item again later, and no claim appears from nowhere
#   - an item answered to k different holders was released >= k-1 times
#   - a release that returned an item returned one the id had been given
# Dispensers: no number received twice (whatever became of the transaction:
# numbers are not transactional; for the SQL flavour, SB_FLAVOR=sql, only
# numbers of committed transactions, see the README), sb_next(d, n) answers
# are contiguous, and every number received lies behind next_value (so will
# not come again, assuming no wrap).
#
# Copyright (c) storagebox authors; PostgreSQL License.

package StorageboxCheck;

use strict;
use warnings;

my $INF = 9**9**9;

sub rows
{
	my ($query, $sql) = @_;
	my $out = $query->($sql);
	return map { [ split /\|/, $_, -1 ] } grep { length } split /\n/, $out;
}

# Parse client logs into events.  Each event: kind, client, txn, mode, name,
# id, lo, hi, answer (undef for NULL), status (committed, rolled_back,
# unknown).  Also returns whether each log reached its end line.
sub parse_logs
{
	my (@files) = @_;
	my (@events, $incomplete);
	my $client = 0;
	for my $file (@files)
	{
		$client = $file =~ m{([^/]+/[^/]+?)(?:\.log)?$} ? $1 : ++$client;
		open(my $fh, '<', $file) or die "cannot read $file: $!";
		my @lines;
		while (my $l = <$fh>)
		{
			chomp $l;
			next unless length $l;
			my @f = split /\|/, $l, 7;
			die "$file: malformed line: $l" unless @f == 7 && $f[1] =~ /^\d+$/;
			push @lines, \@f;
		}
		close($fh);
		$incomplete++ unless @lines && $lines[-1][0] eq 'E';

		# hi of a txn: ts of the first line of the next txn (txn numbers
		# only grow within a log, and one txn's lines are consecutive)
		my %hi;
		for my $i (1 .. $#lines)
		{
			my ($prev, $f) = ($lines[ $i - 1 ][1], $lines[$i][1]);
			$hi{$prev} = $lines[$i][5] if $f > $prev && !exists $hi{$prev};
		}

		for my $f (@lines)
		{
			my ($kind, $txn, $mode, $name, $id, $ts, $answer) = @$f;
			next if $kind eq 'E';
			my $status =
				$mode eq 'r'        ? 'rolled_back'
			  : defined $hi{$txn} ? 'committed'
			  :                     'unknown';
			push @events, {
				kind   => $kind,
				client => $client,
				txn    => $txn,
				name   => $name,
				id     => $id,
				lo     => $ts,
				hi     => $status eq 'committed' ? $hi{$txn} : $INF,
				answer => $answer eq '~' ? undef : $answer,
				status => $status,
			};
		}
	}
	return (\@events, $incomplete // 0);
}

# Run all checks.  %o: query => sub($sql) returning psql -XAt output,
# events => from parse_logs (optional), dispenser_names => [...] to limit
# dispenser checks.  Returns { violations => n, messages => [...],
# counts => {...} }.
sub check
{
	my (%o) = @_;
	my $q = $o{query};
	my (@msg, %count);
	my $bad = sub { push @msg, join('', @_); };

	# --- database state ---
	my %bank;    # name -> {id, scope_id, scope, total}
	my %bank_by_id;
	for my $r (rows($q,
			"SELECT b.bank_id, b.bank_name, b.scope_id, b.items_total,"
		  . " (SELECT count(*) FROM storagebox_data.item i WHERE i.bank_id = b.bank_id),"
		  . " p.settled_upto,"
		  . " (SELECT count(*) FROM storagebox_data.claim c WHERE c.bank_id = b.bank_id"
		  . "    AND c.slot <= p.settled_upto),"
		  . " (SELECT count(*) FROM storagebox_data.claim c WHERE c.bank_id = b.bank_id"
		  . "    AND c.dedup_id IS NOT NULL),"
		  . " (SELECT count(*) FROM storagebox_data.claim c WHERE c.bank_id = b.bank_id"
		  . "    AND (c.slot < 1 OR c.slot > b.items_total)),"
		  . " v.items_total, v.items_handed_out, v.items_left"
		  . " FROM storagebox_data.bank b"
		  . " JOIN (SELECT bank_id, max(settled_upto) AS settled_upto"
		  . "         FROM storagebox_data.bank_progress GROUP BY bank_id) p USING (bank_id)"
		  . " JOIN sb_banks v ON v.bank = b.bank_name ORDER BY b.bank_name"))
	{
		my ($id, $name, $scope_id, $total, $items, $settled, $below, $held,
			$outside, $v_total, $v_out, $v_left) = @$r;
		$bank{$name} = { id => $id, scope_id => $scope_id, total => $total };
		$bank_by_id{$id} = $name;
		$count{banks}++;
		$count{items_total}      += $v_total;
		$count{items_handed_out} += $v_out;
		$count{items_left}       += $v_left;
		$bad->("bank $name: items_total $total but $items items") if $total != $items;
		$bad->("bank $name: sb_banks items_total $v_total != items_left $v_left + items_handed_out $v_out")
		  if $v_total != $v_left + $v_out || $v_total != $total;
		$bad->("bank $name: sb_banks items_handed_out $v_out but $held claims hold an item")
		  if $v_out != $held;
		$bad->("bank $name: items_left $v_left < 0") if $v_left < 0;
		$bad->("bank $name: settled_upto $settled but only $below claim rows at or below it")
		  if $settled > $total || $below != $settled;
		$bad->("bank $name: $outside claims outside slots 1..$total") if $outside;
	}

	for my $r (rows($q,
			"SELECT c.bank_id, c.slot, count(*) FROM storagebox_data.claim c"
		  . " GROUP BY 1, 2 HAVING count(*) > 1"))
	{
		$bad->("item slot $r->[1] of bank $r->[0] has $r->[2] claims");
	}
	for my $r (rows($q,
			"SELECT c.scope_id, c.dedup_id, count(*), string_agg(i.item, ',')"
		  . " FROM storagebox_data.claim c LEFT JOIN storagebox_data.item i USING (bank_id, slot)"
		  . " WHERE c.dedup_id IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1"))
	{
		$bad->("dedup_id $r->[1] holds $r->[2] items in scope $r->[0]: $r->[3]");
	}

	# held claims: (scope_id, dedup_id) -> item
	my (%holds, %holder_of);
	for my $r (rows($q,
			"SELECT c.bank_id, c.slot, c.scope_id, c.dedup_id, coalesce(i.item, '~'),"
		  . " b.scope_id FROM storagebox_data.claim c"
		  . " JOIN storagebox_data.bank b USING (bank_id)"
		  . " LEFT JOIN storagebox_data.item i USING (bank_id, slot)"
		  . " WHERE c.dedup_id IS NOT NULL"))
	{
		my ($bank_id, $slot, $scope_id, $dedup, $item, $bank_scope) = @$r;
		$count{claims_held}++;
		$bad->("claim of slot $slot in bank $bank_id has no item") if $item eq '~';
		$bad->("claim of $dedup in bank $bank_id is in scope $scope_id, the bank's is $bank_scope")
		  if $scope_id != $bank_scope;
		my $key = "$bank_id/$item";
		$bad->("item $item of bank $bank_id held by $holder_of{$key} and $scope_id/$dedup")
		  if exists $holder_of{$key};
		$holder_of{$key} = "$scope_id/$dedup";
		$holds{"$scope_id/$dedup"} = $item;
	}

	# the item carried by claim rows (from 1.3 on) is the slot's item
	my ($has_item_copy) = rows($q,
		"SELECT count(*) FROM pg_attribute WHERE attrelid = 'storagebox_data.claim'::regclass"
	  . " AND attname = 'item' AND NOT attisdropped");
	if ($has_item_copy->[0])
	{
		for my $r (rows($q,
				"SELECT c.bank_id, c.slot, c.item, i.item FROM storagebox_data.claim c"
			  . " JOIN storagebox_data.item i USING (bank_id, slot)"
			  . " WHERE c.item IS DISTINCT FROM i.item AND c.item IS NOT NULL"))
		{
			$bad->("claim of slot $r->[1] in bank $r->[0] carries item $r->[2], the slot's is $r->[3]");
		}
	}

	my %disp;
	for my $r (rows($q,
			"SELECT dispenser, direction, min_value, max_value, next_value FROM sb_dispensers"))
	{
		my ($name, $dir, $min, $max, $next) = @$r;
		$disp{$name} = { dir => $dir, min => $min, max => $max, next => $next };
		$bad->("dispenser $name: next_value $next outside [$min, $max]")
		  if $next < $min || $next > $max;
	}

	# --- client logs ---
	if ($o{events})
	{
		check_logs($o{events}, \%bank, \%holds, \%disp, $bad, \%count);
	}

	$count{violations} = scalar @msg;
	return { violations => scalar @msg, messages => \@msg, counts => \%count };
}

sub check_logs
{
	my ($events, $bank, $holds, $disp, $bad, $count) = @_;
	my (%fetches, %releases, %answered, %holders_of_item, %released_item);
	my %bank_of_item_prefix;

	for my $e (@$events)
	{
		if ($e->{kind} eq 'N')
		{
			next;
		}
		my $b = $bank->{ $e->{name} };
		if (!$b)
		{
			$bad->("log names bank $e->{name}, which does not exist");
			next;
		}
		my $key = "$b->{scope_id}/$e->{id}";
		if ($e->{kind} eq 'F')
		{
			$count->{"fetch_$e->{status}"}++;
			$count->{fetch_calls}++;
			$count->{null_answers}++ unless defined $e->{answer};
			push @{ $fetches{$key} }, $e;
			if (defined $e->{answer})
			{
				$answered{$key}{ $e->{answer} } = 1 if $e->{status} ne 'rolled_back';
				# the item must come from a bank of the scope asked
				my ($ibank) = $e->{answer} =~ /^(.*):/;
				if (defined $ibank && $bank->{$ibank}
					&& $bank->{$ibank}{scope_id} != $b->{scope_id})
				{
					$bad->("fetch of $e->{id} from $e->{name} (client $e->{client}) got $e->{answer},"
						  . " from a bank of another scope");
				}
				$holders_of_item{ $e->{answer} }{$key} = 1 if $e->{status} eq 'committed';
			}
		}
		elsif ($e->{kind} eq 'R')
		{
			$count->{"release_$e->{status}"}++;
			next unless defined $e->{answer};    # released nothing: no effect
			$count->{releases_effective}++;
			push @{ $releases{$key} }, $e;
			$released_item{ $e->{answer} }++;
		}
	}

	for my $key (keys %releases)
	{
		for my $r (@{ $releases{$key} })
		{
			$bad->("release of $key (client $r->{client}) returned $r->{answer},"
				  . " which no fetch of that id ever answered")
			  unless $answered{$key}{ $r->{answer} };
		}
	}

	for my $key (keys %fetches)
	{
		my @c = sort { $a->{lo} <=> $b->{lo} }
		  grep { $_->{status} eq 'committed' } @{ $fetches{$key} };
		my @rel = @{ $releases{$key} // [] };
		my $between = sub {
			my ($lo, $hi) = @_;
			for my $r (@rel)
			{
				return 1 if $r->{hi} > $lo && $r->{lo} < $hi;
			}
			return 0;
		};

		# pairs of committed answers
		for my $i (0 .. $#c)
		{
			my $x = $c[$i];
			for my $j ($i + 1 .. $#c)
			{
				my $y = $c[$j];
				my ($ax, $ay) = ($x->{answer}, $y->{answer});
				$count->{concurrent_pairs}++
				  if $x->{client} ne $y->{client} && $x->{hi} > $y->{lo} && $y->{hi} > $x->{lo};
				next if !defined $ax && !defined $ay;
				my $lo = $x->{lo} < $y->{lo} ? $x->{lo} : $y->{lo};
				my $hi = $x->{hi} > $y->{hi} ? $x->{hi} : $y->{hi};
				if (defined $ax && defined $ay)
				{
					next if $ax eq $ay || $between->($lo, $hi);
				}
				else
				{
					# NULL certainly after an item, no release between
					my ($item, $null) = defined $ax ? ($x, $y) : ($y, $x);
					next unless $item->{hi} <= $null->{lo};
					next if $between->($item->{lo}, $null->{hi});
				}
				$count->{pair_violations}++;
				$bad->("dedup_id $key got " . ($ax // 'NULL') . " (client $x->{client} txn $x->{txn})"
					  . " and " . ($ay // 'NULL') . " (client $y->{client} txn $y->{txn})"
					  . " with no release between")
				  if $count->{pair_violations} <= 20;
			}
		}

		# committed answers against the database now
		for my $x (@c)
		{
			next unless defined $x->{answer};
			next if grep { $_->{hi} > $x->{lo} } @rel;    # may have been released since
			$count->{committed_answers_checked}++;
			my $now = $holds->{$key};
			$bad->("dedup_id $key was answered $x->{answer} (client $x->{client} txn $x->{txn},"
				  . " commit acknowledged) but the database records " . ($now // 'nothing'))
			  if !defined $now || $now ne $x->{answer};
		}
	}

	# what the database records was answered to that id
	for my $key (keys %$holds)
	{
		next unless $fetches{$key};    # not part of this load
		$bad->("dedup_id $key holds $holds->{$key}, which no fetch of it answered"
			  . " (except in rolled-back transactions)")
		  unless $answered{$key}{ $holds->{$key} };
	}

	for my $item (keys %holders_of_item)
	{
		my $n = keys %{ $holders_of_item{$item} };
		my $rel = $released_item{$item} // 0;
		$bad->("item $item was answered to $n holders ("
			  . join(', ', sort keys %{ $holders_of_item{$item} })
			  . ") but released only $rel times")
		  if $n > 1 + $rel;
	}

	# dispensers
	my %seen;
	for my $e (grep { $_->{kind} eq 'N' } @$events)
	{
		$count->{dispense_calls}++;
		my $d = $disp->{ $e->{name} };
		if (!$d)
		{
			$bad->("log names dispenser $e->{name}, which does not exist");
			next;
		}
		my @n = split /,/, $e->{answer} // '';
		my $step = $d->{dir} eq 'forward' ? 1 : -1;
		for my $i (1 .. $#n)
		{
			if ($n[$i] != $n[ $i - 1 ] + $step)
			{
				$bad->("sb_next($e->{name}, " . scalar(@n) . ") (client $e->{client}) not contiguous: $e->{answer}");
				last;
			}
		}
		for my $n (@n)
		{
			$count->{numbers_dispensed}++;
			$count->{"numbers_$e->{status}"}++;
			# The SQL flavour makes a number crash-safe at its transaction's
			# commit, not before it returns it (README): numbers of
			# transactions not known to have committed may come again.
			if ($ENV{SB_FLAVOR} && $ENV{SB_FLAVOR} eq 'sql' && $e->{status} ne 'committed')
			{
				$count->{numbers_not_held}++;
				next;
			}
			if ($seen{ $e->{name} }{$n}++)
			{
				$count->{number_repeats}++;
				$bad->("dispenser $e->{name} handed out $n twice (client $e->{client}, $e->{status})")
				  if $count->{number_repeats} <= 20;
			}
			my $ahead = $d->{dir} eq 'forward' ? $n >= $d->{next} : $n <= $d->{next};
			$bad->("dispenser $e->{name} handed out $n but next_value is $d->{next}: it would come again")
			  if $ahead;
		}
	}
}

# One line of figures, violations last.
sub summary
{
	my ($result) = @_;
	my $c = $result->{counts};
	my @order = qw(fetch_calls fetch_committed fetch_rolled_back fetch_unknown
	  null_answers concurrent_pairs committed_answers_checked release_committed release_unknown
	  releases_effective dispense_calls numbers_dispensed banks items_total
	  items_handed_out items_left claims_held);
	return join(' ', (map { "$_=" . ($c->{$_} // 0) } @order),
		"violations=$result->{violations}");
}

# Check the parsed client logs against a database, print the figures as one
# "# name: ..." line (with number_repeats) and any violation messages, and
# return the result.  $query runs one SQL query and returns psql output.
sub check_and_report
{
	my ($name, $query, $events) = @_;
	my $result = check(query => $query, events => $events);
	Test::More::diag("$name: " . summary($result)
		  . " number_repeats=" . ($result->{counts}{number_repeats} // 0));
	Test::More::diag($_) for @{ $result->{messages} };
	return $result;
}

1;
