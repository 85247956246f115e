
# StorageboxCycle: checks the hand-out order of wrapping dispensers across
# crashes.
#
# The rule.  Put a dispenser's numbers on a circle in hand-out order (min up
# to max for forward, max down to min for reverse) and unroll it into a line
# of positions: position p holds the number at offset p mod R from the start
# of the lap, R = max - min + 1.  A correct dispenser hands out numbers at
# strictly increasing positions, one after the other, except that a crash
# may skip at most G positions (G from the dispenser's log-ahead, less than
# R).  Hence a number is handed out again exactly R positions after its
# previous hand-out, and every other number of the range was handed out or
# skipped by a crash gap in between: no number repeats before its range has
# been used up.
#
# What the clients log.  Several clients run at once, so the server's order
# is not visible directly; but between two crashes the numbers handed out
# form one contiguous stretch of positions starting at the dispenser's
# next_value, which the test reads before each phase.  check_phases replays
# each phase from that start: given how many times each offset came back, the
# shortest stretch that holds them all is fixed, and the numbers it holds but
# no client received must be explained by calls that got no answer (the
# clients cut off by the crash).  The crash gap is then the distance from the
# end of the stretch to the next phase's start.
#
# Copyright (c) storagebox authors; PostgreSQL License.

package StorageboxCycle;

use strict;
use warnings;

# Offset of number $x from the start of the lap of dispenser $d
# ({min, max, dir}); native integers: ranges must stay far from 2^62.
sub offset
{
	my ($d, $x) = @_;
	return $d->{dir} eq 'forward' ? $x - $d->{min} : $d->{max} - $x;
}

# The log-ahead cap of seq_run.c: a crash skips at most this many numbers.
sub gap_bound
{
	my ($d, $max_count) = @_;
	my $r = $d->{max} - $d->{min} + 1;
	my $by_range = int(($r - 1) / 16);
	my $by_count = 1024 * ($max_count < 100 ? $max_count : 100);
	return $by_range < $by_count ? $by_range : $by_count;
}

# %o: dispenser => {min, max, dir}, max_count => largest count used,
# phases => [ { start => next_value before the phase,
#               runs => [ [numbers of one answer], ... ],
#               lost => numbers of calls that may have run but got no answer,
#               crashed => 1 if the phase ended with a crash } ... ],
# end => next_value after the last phase (which must end cleanly).
# Returns { checked => numbers checked, laps => positions covered / R,
#           gaps => [...], messages => [...] }.
sub check_phases
{
	my (%o) = @_;
	my $d = $o{dispenser};
	my $r = $d->{max} - $d->{min} + 1;
	my $bound = gap_bound($d, $o{max_count});
	my (@msg, @gaps);
	my ($checked, $positions) = (0, 0);
	my @phases = @{ $o{phases} };

	for my $k (0 .. $#phases)
	{
		my $ph = $phases[$k];
		my $start = offset($d, $ph->{start});
		my (%count, $received);
		for my $run (@{ $ph->{runs} })
		{
			for my $i (0 .. $#$run)
			{
				my $x = $run->[$i];
				if ($x < $d->{min} || $x > $d->{max})
				{
					push @msg, "phase " . ($k + 1) . ": $x is outside the range";
					next;
				}
				if ($i > 0 && (offset($d, $x) - offset($d, $run->[ $i - 1 ])) % $r != 1)
				{
					push @msg, "phase " . ($k + 1) . ": answer not contiguous: @$run";
					last;
				}
				$count{ (offset($d, $x) - $start) % $r }++;
				$received++;
			}
		}
		$received //= 0;

		# the shortest stretch from the start holding every received number
		my $len = 0;
		for my $off (keys %count)
		{
			my $need = ($count{$off} - 1) * $r + $off + 1;
			$len = $need if $need > $len;
		}
		my $unreceived = $len - $received;
		if ($unreceived > $ph->{lost})
		{
			push @msg, "phase " . ($k + 1) . ": $received numbers need a stretch of $len positions from"
			  . " $ph->{start}: $unreceived never received, but at most $ph->{lost}"
			  . " were taken by calls that got no answer (a number came back before its turn)";
		}
		$checked   += $received;
		$positions += $len;

		my $end_off = ($start + $len) % $r;
		if ($k < $#phases)
		{
			# the crash gap: from the end of the stretch to the next start
			my $next = offset($d, $phases[ $k + 1 ]{start});
			my $gap = ($next - $end_off) % $r;
			my $slack = $ph->{lost} - $unreceived;
			$slack = 0 if $slack < 0;
			push @gaps, $gap;
			push @msg, "phase " . ($k + 1) . ": resumed at $phases[$k + 1]{start}, $gap positions"
			  . " after the last number received (or " . ($r - $gap) . " before it): allowed"
			  . " are a crash gap of $bound and $slack numbers of unanswered calls"
			  . ($ph->{crashed} ? '' : ' (no crash: no gap)')
			  if $gap > ($ph->{crashed} ? $bound : 0) + $slack;
		}
		else
		{
			push @msg, "last phase: ended at offset $end_off but next_value is $o{end}"
			  if $end_off != offset($d, $o{end}) || $unreceived != 0;
		}
	}
	return {
		checked  => $checked,
		laps     => $positions / $r,
		gaps     => \@gaps,
		bound    => $bound,
		messages => \@msg,
	};
}

1;
