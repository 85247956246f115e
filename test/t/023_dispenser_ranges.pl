
# Dispensers of every range size across crash, restart, dump/restore and
# standby promotion (issue 9).  One session takes numbers, so the hand-out
# order is known exactly; ranges 1..10 and 1..50000 both ways, the whole of
# bigint, and the built-in forward and reverse (1..2^63-1), the large ones
# started near their wrap point so that they wrap during the test.
#
# The rule checked on every step of the order, in positions round the range
# (StorageboxCycle explains them): the next number is the one after the last
# (step 1), except after a crash or a promotion, where at most the documented
# gap is skipped; after a clean restart and after pg_dump/pg_restore nothing
# is skipped.  A step of 0 or more than a lap would be a repeat.

use strict;
use warnings;
use StorageboxFlavour;

use Math::BigInt;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use StorageboxLoad;

my $MAXB = '9223372036854775807';
my $MINB = '-9223372036854775808';

# name => direction, min, max, RESTART WITH (or undef), counts of the calls
# each phase makes
my %disp = (
	ten_up     => [ 'forward', 1, 10, undef, [ 1, 3, 10, 4, 1 ] ],
	ten_down   => [ 'reverse', 1, 10, undef, [ 2, 9, 1, 10 ] ],
	r50k_up    => [ 'forward', 1, 50000, 48500, [ (100) x 8, 1, 37 ] ],
	r50k_down  => [ 'reverse', 1, 50000, 1500, [ 1, (100) x 8, 55 ] ],
	all_bigint => [ 'forward', $MINB, $MAXB, '9223372036854775500', [ 1, 100, 5 ] ],
	forward    => [ 'forward', 1, $MAXB, '9223372036854775500', [ 100, 1, 7 ] ],
	reverse    => [ 'reverse', 1, $MAXB, 150, [ 3, 100, 1 ] ],
);
my @names = sort keys %disp;

my $primary = PostgreSQL::Test::Cluster->new('ranges');
$primary->init(allows_streaming => 1);
$primary->start;
my $setup = "CREATE EXTENSION $sb_extension;\n";
for my $d (@names)
{
	my ($dir, $min, $max, $restart) = @{ $disp{$d} };
	$setup .= "SELECT sb_create_dispenser('$d', '$dir', $min, $max);\n"
	  unless $d eq 'forward' || $d eq 'reverse';
	$setup .= "SELECT pg_catalog.setval(seq, $restart, false) FROM storagebox_data.dispenser"
	  . " WHERE dispenser_name = '$d';\n" if defined $restart;
}
$primary->safe_psql('postgres', $setup);
$primary->backup('b1');
my $standby = PostgreSQL::Test::Cluster->new('ranges_standby');
$standby->init_from_backup($primary, 'b1', has_streaming => 1);
$standby->start;

# history{name} = [ { after => event, numbers => [...] }, ... ]
my %history = map { $_ => [] } @names;

# One phase of calls on every dispenser in one session of $node/$db.
sub take
{
	my ($node, $db, $after, $hist) = @_;
	$hist //= \%history;
	my @sql;
	for my $d (@names)
	{
		push @sql, map { "SELECT '$d', array_to_string(sb_next('$d', $_), ',');" } @{ $disp{$d}[4] };
	}
	my %got = map { $_ => [] } @names;
	for my $line (split /\n/, $node->safe_psql($db, join("\n", @sql)))
	{
		my ($d, $list) = split /\|/, $line;
		push @{ $got{$d} }, split /,/, $list;
	}
	push @{ $hist->{$_} }, { after => $after, numbers => $got{$_} } for @names;
}

# Check a history: returns (numbers checked, messages).
sub check_history
{
	my ($d, $segments) = @_;
	my ($dir, $min, $max) = @{ $disp{$d} };
	my $r = Math::BigInt->new($max) - Math::BigInt->new($min) + 1;
	my $by_range = ($r - 1) / 16;    # BigInt division truncates
	my $bound = Math::BigInt->new(102400);
	$bound = $by_range if $by_range < $bound;
	my $off = sub {
		my $x = Math::BigInt->new($_[0]);
		return $dir eq 'forward' ? $x - $min : Math::BigInt->new($max) - $x;
	};
	my ($prev, @msg);
	my ($n, $wraps) = (0, 0);
	for my $seg (@$segments)
	{
		my $first = 1;
		for my $x (@{ $seg->{numbers} })
		{
			$n++;
			my $o = $off->($x);
			push @msg, "$d: $x is outside the range" if $o < 0 || $o >= $r;
			if (defined $prev)
			{
				my $step = ($o - $prev) % $r;    # 0 .. R-1; 0 is a repeat
				my $allowed =
				    !$first ? 0
				  : $seg->{after} =~ /^(crash|promotion)/ ? $bound
				  : 0;
				push @msg, "$d: after $seg->{after}, $x is " . $step
				  . " positions after the previous number; allowed 1 to " . ($allowed + 1)
				  if $step < 1 || $step > $allowed + 1;
			}
			$wraps++ if defined $prev && $o < $prev;
			$prev = $o;
			$first = 0;
		}
	}
	return ($n, $bound, $wraps, @msg);
}

take($primary, 'postgres', 'start');

$primary->stop('immediate');
$primary->start;
take($primary, 'postgres', 'crash (immediate stop)');

my @children = StorageboxLoad::child_pids($primary->{_pid});
$primary->kill9;
ok(StorageboxLoad::wait_pids_gone(120, @children), 'backends of the killed postmaster are gone');
$primary->start;
take($primary, 'postgres', 'crash (SIGKILL of the postmaster)');

$primary->restart;
take($primary, 'postgres', 'clean restart');

# pg_dump/pg_restore: the restored database goes on exactly where the dump
# was, and keeps the per-dispenser rights (a user dispenser's and a built-in's)
$primary->safe_psql('postgres',
	"CREATE ROLE regress_app; SELECT sb_grant_dispenser('ten_up', 'regress_app');"
	  . " SELECT sb_grant_dispenser('forward', 'regress_app');");
# (the right is USAGE on the sequence in the C flavour, SELECT in the SQL
# flavour, whose nextval must go through the dispenser lock)
my $right = $sb_flavour eq 'sql' ? 'SELECT' : 'USAGE';
my $rights = "SELECT string_agg(dispenser_name || '=' || has_sequence_privilege('regress_app', seq, '$right'), ','"
  . " ORDER BY dispenser_name) FROM storagebox_data.dispenser WHERE dispenser_name IN ('forward', 'reverse', 'ten_up')";
my $tmp = $PostgreSQL::Test::Utils::tmp_check;
$primary->command_ok([ 'pg_dump', '-Fc', '-f', "$tmp/ranges.dump", '-d', 'postgres' ], 'pg_dump -Fc');
$primary->command_ok([ 'createdb', 'restored' ], 'createdb');
$primary->command_ok([ 'pg_restore', '-d', 'restored', "$tmp/ranges.dump" ], 'pg_restore');
my %restored = map { $_ => [ @{ $history{$_} } ] } @names;
take($primary, 'restored', 'pg_dump and pg_restore', \%restored);
is($primary->safe_psql('restored', $rights), 'forward=true,reverse=false,ten_up=true',
	'the restored database keeps the per-dispenser rights');

# promotion of a standby that has replayed everything the primary flushed
take($primary, 'postgres', 'more on the primary');
my $lsn = $primary->safe_psql('postgres', 'SELECT pg_current_wal_flush_lsn()');
$standby->poll_query_until('postgres', "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn")
  or die 'standby did not catch up';
$primary->stop('immediate');
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'standby did not leave recovery';
take($standby, 'postgres', 'promotion of the standby');

my $total = 0;
for my $d (@names)
{
	for my $h ([ 'crashes, restart, promotion', $history{$d} ], [ 'dump and restore', $restored{$d} ])
	{
		my ($n, $bound, $wraps, @msg) = check_history($d, $h->[1]);
		# the restored history shares its start with the main one
		$total += $h->[0] =~ /crashes/ ? $n : scalar @{ $h->[1][-1]{numbers} };
		diag($_) for @msg[ 0 .. ($#msg < 9 ? $#msg : 9) ];
		is(scalar @msg, 0, "$d ($h->[0]): $n numbers in order, crash gaps within $bound");
		cmp_ok($wraps, '>', 0, "$d ($h->[0]): wrapped") if $h->[0] =~ /crashes/;
	}
}
diag("023_dispenser_ranges: $total numbers checked");

$standby->stop;
done_testing();
