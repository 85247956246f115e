
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

		push @events, in_flight($file, $client, \@lines) unless @lines && $lines[-1][0] eq 'E';

		for my $f (@lines)
		{
			my ($kind, $txn, $mode, $name, $id, $ts, $answer) = @$f;
			next if $kind eq 'E' || $kind eq 'r';
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

# The autocommit statement a client cut off by a crash may have had in
# flight, which may have committed although its answer never arrived (see
# StorageboxLoad): a release that announced itself (a last line of kind r),
# or a fetch whose statement follows the last line in the client's script
# (CLIENT.sql next to CLIENT.log).  Returned as events of status "unseen"
# with no answer; the id of a fetch is undef when the script computes it on
# the server (a hot id).  A statement in an open block cannot have
# committed: psql sends COMMIT only after the block's answers arrived.
sub in_flight
{
	my ($file, $client, $lines) = @_;
	my ($last_txn, $last_ts) = (0, 0);
	if (@$lines)
	{
		my $l = $lines->[-1];
		return () if $l->[2] ne 'a';
		if ($l->[0] eq 'r')
		{
			return { kind => 'R', client => $client, txn => $l->[1], name => $l->[3],
				id => $l->[4], lo => $l->[5], hi => $INF, answer => undef,
				status => 'unseen' };
		}
		($last_txn, $last_ts) = ($l->[1], $l->[5]);
	}
	(my $script = $file) =~ s/\.log$/.sql/;
	open(my $fh, '<', $script) or return ();
	my $next = $last_txn + 1;
	while (my $l = <$fh>)
	{
		next unless $l =~ /^SELECT 'F', $next, 'a', '([^']*)', h\.id, .* FROM \(SELECT (.+) AS id\) h;$/;
		my ($bank, $expr) = ($1, $2);
		close($fh);
		return { kind => 'F', client => $client, txn => $next, name => $bank,
			id => ($expr =~ /^'([^']*)'$/ ? $1 : undef), lo => $last_ts, hi => $INF,
			answer => undef, status => 'unseen' };
	}
	close($fh);
	return ();
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
	# From 1.4 a claim may be a hold (hold_expires not NULL): a live hold
	# holds its item like a fetch; an expired one holds nothing (its row
	# keeps the dedup_id until somebody takes it over or releases it).
	my ($has_holds) = rows($q,
		"SELECT count(*) FROM pg_attribute WHERE attrelid = 'storagebox_data.claim'::regclass"
	  . " AND attname = 'hold_expires' AND NOT attisdropped");
	$has_holds = $has_holds->[0];
	my $holding = $has_holds
	  ? "c.dedup_id IS NOT NULL AND (c.hold_expires IS NULL OR c.hold_expires > clock_timestamp())"
	  : "c.dedup_id IS NOT NULL";
	my %bank;    # name -> {id, scope_id, scope, total}
	my %bank_by_id;
	for my $r (rows($q,
			"SELECT b.bank_id, b.bank_name, b.scope_id, b.items_total,"
		  . " (SELECT count(*) FROM storagebox_data.item i WHERE i.bank_id = b.bank_id),"
		  . " p.settled_upto,"
		  . " (SELECT count(*) FROM storagebox_data.claim c WHERE c.bank_id = b.bank_id"
		  . "    AND c.slot <= p.settled_upto),"
		  . " (SELECT count(*) FROM storagebox_data.claim c WHERE c.bank_id = b.bank_id"
		  . "    AND $holding),"
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
		  . " WHERE $holding"))
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

	# hold columns: a released row has neither; a hold has both, and
	# expires after it began
	if ($has_holds)
	{
		for my $r (rows($q,
				"SELECT c.bank_id, c.slot, coalesce(c.dedup_id, '~'), coalesce(c.held_since::text, '~'),"
			  . " coalesce(c.hold_expires::text, '~') FROM storagebox_data.claim c"
			  . " WHERE (c.dedup_id IS NULL AND (c.held_since IS NOT NULL OR c.hold_expires IS NOT NULL))"
			  . "    OR (c.hold_expires IS NOT NULL AND (c.dedup_id IS NULL OR c.held_since IS NULL"
			  . "        OR c.hold_expires <= c.held_since))"))
		{
			$bad->("claim of slot $r->[1] in bank $r->[0]: dedup_id $r->[2] held_since $r->[3]"
				  . " hold_expires $r->[4] do not fit together");
		}
		my ($live) = rows($q,
			"SELECT count(*) FILTER (WHERE c.hold_expires > clock_timestamp()),"
		  . " count(*) FILTER (WHERE c.hold_expires <= clock_timestamp() AND c.dedup_id IS NOT NULL)"
		  . " FROM storagebox_data.claim c");
		$count{live_holds}    = $live->[0];
		$count{expired_holds} = $live->[1];
		for my $r (rows($q,
				"SELECT v.bank, v.items_held, (SELECT count(*) FROM storagebox_data.claim c"
			  . "   JOIN storagebox_data.bank b USING (bank_id)"
			  . "  WHERE b.bank_name = v.bank AND c.hold_expires > clock_timestamp())"
			  . " FROM sb_banks v"))
		{
			$bad->("bank $r->[0]: sb_banks items_held $r->[1] but $r->[2] live holds")
			  if $r->[1] != $r->[2];
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
	my (%unseen_fetch, %unseen_hot_fetches, @unseen_release);

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
		if ($e->{status} eq 'unseen')
		{
			# in flight at a crash: it may have committed, answer unknown
			$count->{"unseen_$e->{kind}"}++;
			if ($e->{kind} eq 'R')
			{
				push @{ $releases{"$b->{scope_id}/$e->{id}"} }, $e;
				push @unseen_release, "$b->{scope_id}/$e->{id}";
			}
			elsif (defined $e->{id})
			{
				$unseen_fetch{"$b->{scope_id}/$e->{id}"} = 1;
			}
			else
			{
				$unseen_hot_fetches{ $b->{scope_id} }++;
			}
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

	# a release in flight at a crash released whatever its id held then
	for my $key (@unseen_release)
	{
		$released_item{$_}++ for keys %{ $answered{$key} // {} };
	}

	for my $key (keys %releases)
	{
		for my $r (grep { $_->{status} ne 'unseen' } @{ $releases{$key} })
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
		next if $answered{$key}{ $holds->{$key} };
		# a fetch in flight at a crash may have claimed it unseen: one of
		# that id, or one whose id the server computed, in the same scope
		my ($scope) = $key =~ m{^(\d+)/};
		if ($unseen_fetch{$key})
		{
			$count->{held_by_unseen_fetch}++;
			next;
		}
		if ($unseen_hot_fetches{$scope})
		{
			$unseen_hot_fetches{$scope}--;
			$count->{held_by_unseen_fetch}++;
			next;
		}
		$bad->("dedup_id $key holds $holds->{$key}, which no fetch of it answered"
			  . " (except in rolled-back transactions)");
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
	  items_handed_out items_left claims_held unseen_F unseen_R held_by_unseen_fetch);
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

# --- holds (1.4) ---
#
# Logs of a hold load (test/t/070_holds_load.pl), one line per answer:
#
#   kind|txn|mode|bank|dedup_id|lo|hi|hold_us|answer
#
# kind    H sb_hold_item of an id that holds nothing live as far as the
#         client knows (a new id, or after its confirm answered NULL);
#         h sb_hold_item again while the client's hold may still be live;
#         F sb_fetch_item of the client's own held id; C sb_confirm;
#         R sb_release; E end of log
# mode    a autocommit (the statement returned: committed), c a block that
#         committed, r a block that rolled back (or failed)
# lo, hi  statement_timestamp() and clock_timestamp() after the call, in
#         microseconds: the call happened between them
# hold_us hold_for of H and h, in microseconds; 0 otherwise
# answer  the item, ~ for NULL
#
# A hold answered at [lo, hi] with hold_for d expires at some moment in
# [lo + d, hi + d] (clock_timestamp() at the claim plus d).

sub parse_hold_logs
{
	my (@files) = @_;
	my (@events, $incomplete);
	for my $file (@files)
	{
		my ($client) = $file =~ m{([^/]+?)(?:\.log)?$};
		open(my $fh, '<', $file) or die "cannot read $file: $!";
		my $ended = 0;
		while (my $l = <$fh>)
		{
			chomp $l;
			next unless length $l;
			my @f = split /\|/, $l, 9;
			die "$file: malformed line: $l" unless @f == 9 && $f[1] =~ /^\d+$/;
			my ($kind, $txn, $mode, $bank, $id, $lo, $hi, $hold, $answer) = @f;
			if ($kind eq 'E') { $ended = 1; next; }
			push @events, {
				kind   => $kind,
				client => $client,
				txn    => $txn,
				bank   => $bank,
				id     => $id,
				lo     => $lo,
				hi     => $hi,
				hold   => $hold,
				answer => $answer eq '~' ? undef : $answer,
				status => $mode eq 'r' ? 'rolled_back' : 'committed',
			};
		}
		close($fh);
		$incomplete++ unless $ended;
	}
	return (\@events, $incomplete // 0);
}

# Check the logs of a hold load against the database.  Run it once every
# hold of the load has expired.  Returns { violations, messages, counts }.
sub check_holds
{
	my (%o) = @_;
	my ($q, $events) = ($o{query}, $o{events});
	my (@msg, %count);
	my $bad = sub { push @msg, join('', @_) if @msg < 50; $count{violations}++; };

	my %scope_of = map { $_->[0] => $_->[1] }
	  rows($q, "SELECT bank_name, scope_id FROM storagebox_data.bank");

	# the database now: key -> {item, permanent}, for rows holding something
	my %db;
	for my $r (rows($q,
			"SELECT c.scope_id, c.dedup_id, i.item, c.hold_expires IS NULL,"
		  . " coalesce(c.hold_expires > clock_timestamp(), false)"
		  . " FROM storagebox_data.claim c JOIN storagebox_data.item i USING (bank_id, slot)"
		  . " WHERE c.dedup_id IS NOT NULL"))
	{
		my ($scope, $id, $item, $perm, $live) = @$r;
		next unless $perm eq 't' || $live eq 't';
		$db{"$scope/$id"} = { item => $item, permanent => $perm eq 't' };
		$count{db_live_holds}++ if $live eq 't';
		$count{db_permanent}++ if $perm eq 't';
	}

	my (%by_key, %by_item);
	for my $e (@$events)
	{
		my $scope = $scope_of{ $e->{bank} };
		if (!defined $scope)
		{
			$bad->("log names bank $e->{bank}, which does not exist");
			next;
		}
		$e->{key} = "$scope/$e->{id}";
		$count{"calls_$e->{kind}"}++;
		$count{"nulls_$e->{kind}"}++ unless defined $e->{answer};
		$count{rolled_back}++ if $e->{status} eq 'rolled_back';
		next if $e->{status} ne 'committed';
		push @{ $by_key{ $e->{key} } }, $e;
		push @{ $by_item{ $e->{answer} } }, $e if defined $e->{answer} && $e->{kind} =~ /^[HCR]$/;
	}
	for my $key (keys %by_key)
	{
		@{ $by_key{$key} } = sort { $a->{lo} <=> $b->{lo} } @{ $by_key{$key} };
	}

	# a release by the key that may lie in [lo, hi]
	my $released_between = sub {
		my ($key, $lo, $hi) = @_;
		for my $r (@{ $by_key{$key} })
		{
			return 1 if $r->{kind} eq 'R' && defined $r->{answer} && $r->{hi} > $lo && $r->{lo} < $hi;
		}
		return 0;
	};
	my $desc = sub { my ($e) = @_; "$e->{kind} $e->{key} -> " . ($e->{answer} // 'NULL') . " ($e->{client} txn $e->{txn})" };

	for my $key (sort keys %by_key)
	{
		my @ev = @{ $by_key{$key} };
		my %confirmed;
		my (@fresh, $made_permanent);
		for my $e (@ev)
		{
			if ($e->{kind} eq 'H')
			{
				push @fresh, $e;
			}
			elsif ($e->{kind} eq 'h' || $e->{kind} eq 'F')
			{
				# a repeat while the hold is certainly live answers its item
				my ($h) = grep { $_->{lo} < $e->{lo} } reverse @fresh;
				if ($h && defined $h->{answer} && $e->{hi} < $h->{lo} + $h->{hold}
					&& !$released_between->($key, $h->{lo}, $e->{hi}))
				{
					$count{repeats_checked_live}++;
					$bad->("repeat while the hold was live: " . $desc->($e) . " after " . $desc->($h))
					  if ($e->{answer} // '~') ne $h->{answer};
				}
				$made_permanent = 1 if $e->{kind} eq 'F' && defined $e->{answer};
			}
			elsif ($e->{kind} eq 'C')
			{
				my ($h) = grep { $_->{lo} < $e->{lo} && $_->{kind} =~ /^[Hh]$/ } reverse @ev;
				if (defined $e->{answer})
				{
					$count{confirmed}++;
					$confirmed{ $e->{answer} } = $e;
					# the item confirmed was one the id was given
					$bad->("confirm answered an item the id was never given: " . $desc->($e))
					  unless grep { $_->{kind} =~ /^[HhF]$/ && ($_->{answer} // '~') eq $e->{answer}
						  && $_->{lo} < $e->{lo} } @ev;
					# and its hold was not certainly expired
					if ($h && !$made_permanent
						&& !grep { $_->{kind} eq 'C' && defined $_->{answer} && $_->{lo} < $e->{lo} } @ev)
					{
						$count{confirms_checked_in_time}++;
						$bad->("confirm answered an item after its hold had certainly expired: "
							  . $desc->($e) . " after " . $desc->($h))
						  if $e->{lo} > $h->{hi} + $h->{hold};
					}
				}
				else
				{
					$count{confirm_nulls}++;
					my ($f) = grep { $_->{lo} < $e->{lo} } reverse @fresh;
					if ($f && defined $f->{answer} && $e->{hi} < $f->{lo} + $f->{hold}
						&& !$released_between->($key, $f->{lo}, $e->{hi}))
					{
						$bad->("confirm answered NULL while the hold was certainly live: "
							  . $desc->($e) . " after " . $desc->($f));
					}
					$count{confirm_nulls_after_expiry}++
					  if $f && defined $f->{answer} && $e->{lo} > $f->{hi} + $f->{hold};
				}
			}
		}
		$bad->("dedup_id $key confirmed two items: " . join(', ', sort keys %confirmed))
		  if keys %confirmed > 1;

		# every confirmed answer is still held, permanently, by the id
		for my $item (sort keys %confirmed)
		{
			my $c = $confirmed{$item};
			next if grep { $_->{kind} eq 'R' && defined $_->{answer} && $_->{hi} > $c->{lo} } @ev;
			$count{confirmed_checked_in_db}++;
			my $d = $db{$key};
			$bad->("confirmed " . $desc->($c) . " but the database records "
				  . ($d ? "$d->{item}" . ($d->{permanent} ? '' : ' (a hold)') : 'nothing'))
			  unless $d && $d->{item} eq $item && $d->{permanent};
		}
	}

	# every item the database holds permanently was confirmed (or fetched)
	# by its holder, and nothing is held that the load did not hand out
	for my $key (sort keys %db)
	{
		my $d = $db{$key};
		my @ev = @{ $by_key{$key} // [] };
		if (!@ev)
		{
			$bad->("dedup_id $key holds $d->{item}, but no committed call of it is logged");
			next;
		}
		if ($d->{permanent})
		{
			$count{permanent_checked}++;
			$bad->("dedup_id $key holds $d->{item} permanently, but no committed confirm or fetch answered it")
			  unless grep { $_->{kind} =~ /^[CF]$/ && ($_->{answer} // '~') eq $d->{item} } @ev;
		}
	}

	# no item held by two live claims: two fresh holds (or a hold after a
	# confirm) of one item by different ids are a violation when each
	# certainly came before the other could have expired (whichever came
	# first, the other took a live claim), unless one was released between
	for my $item (sort keys %by_item)
	{
		my @ev = sort { $a->{lo} <=> $b->{lo} } grep { $_->{kind} =~ /^[HC]$/ } @{ $by_item{$item} };
		my %keys = map { $_->{key} => 1 } grep { $_->{kind} eq 'H' } @ev;
		$count{items_rehanded}++ if keys %keys > 1;
		for my $i (0 .. $#ev)
		{
			for my $j ($i + 1 .. $#ev)
			{
				my ($a, $b) = ($ev[$i], $ev[$j]);
				next if $a->{key} eq $b->{key};
				my ($lo, $hi) = ($a->{lo}, $a->{hi} > $b->{hi} ? $a->{hi} : $b->{hi});
				next if $released_between->($a->{key}, $lo, $hi) || $released_between->($b->{key}, $lo, $hi);
				if ($a->{kind} eq 'H' && $b->{kind} eq 'H')
				{
					$count{hold_pairs_checked}++;
					$count{rehanded_after_expiry}++ if $b->{lo} > $a->{hi} + $a->{hold};
					$bad->("item $item held live by two: " . $desc->($a) . " and " . $desc->($b))
					  if $b->{hi} < $a->{lo} + $a->{hold} && $a->{hi} < $b->{lo} + $b->{hold};
				}
				elsif ($a->{kind} eq 'H' && $b->{kind} eq 'C')
				{
					# another id held the item before this confirm: its
					# hold expired (or was released) first
					$count{confirm_pairs_checked}++;
				}
				elsif ($a->{kind} eq 'C' && $b->{kind} eq 'H')
				{
					$count{confirm_pairs_checked}++;
					$bad->("item $item handed out after it was confirmed: " . $desc->($a) . " then " . $desc->($b))
					  if $b->{lo} > $a->{hi};
				}
				elsif ($a->{kind} eq 'C' && $b->{kind} eq 'C')
				{
					$bad->("item $item confirmed by two ids: " . $desc->($a) . " and " . $desc->($b));
				}
			}
		}
	}

	$count{violations} //= 0;
	return { violations => $count{violations}, messages => \@msg, counts => \%count };
}

sub hold_summary
{
	my ($result) = @_;
	my $c = $result->{counts};
	return join(' ', map { "$_=" . ($c->{$_} // 0) } sort keys %$c);
}

1;
