# Concurrent batches from one dispenser never interleave: 8 clients draw
# runs at the same time; every run is contiguous, no number is handed out
# twice between wraps, and on a small range that wraps the numbers still
# come out in one cyclic order.
use strict;
use warnings;
use StorageboxFlavour;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('dispenser_concurrency');
$node->init;
$node->start;
$node->safe_psql('postgres', "CREATE EXTENSION $sb_extension");

# Run $sql in $clients concurrent psql sessions; return each one's output lines.
sub run_clients
{
	my ($clients, $sql) = @_;
	my (@handles, @out);
	for my $i (0 .. $clients - 1)
	{
		$out[$i] = '';
		push @handles,
		  IPC::Run::start(
			[ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'), '-c', $sql ],
			'>', \$out[$i], '2>', \my $err);
	}
	$_->finish for @handles;
	return map { [ split /\n/, $_ ] } @out;
}

# Whether @$run goes up (or down) by one at a time, wrapping from max to min.
sub contiguous
{
	my ($run, $dir, $min, $max) = @_;
	for my $i (1 .. $#$run)
	{
		my $want = $run->[ $i - 1 ] + $dir;
		$want = $min if $dir > 0 && $want > $max;
		$want = $max if $dir < 0 && $want < $min;
		return 0 if $run->[$i] != $want;
	}
	return 1;
}

# 1. A large range: 8 clients x 400 batches of 7, mixed with single numbers.
$node->safe_psql('postgres', "SELECT sb_create_dispenser('big', 'forward')");
my $clients = 8;
my $calls   = 400;
my @outputs = run_clients($clients,
	"SELECT array_to_string(CASE WHEN g % 5 = 0 THEN ARRAY[sb_next('big')] ELSE sb_next('big', 7) END, ',') "
	  . "FROM generate_series(1, $calls) g");

my (%seen, $runs, $broken, $repeats);
for my $lines (@outputs)
{
	for my $line (@$lines)
	{
		my @run = split /,/, $line;
		$runs++;
		$broken++ unless contiguous(\@run, 1, 1, 9223372036854775807);
		$repeats += $seen{$_}++ ? 1 : 0 for @run;
	}
}
my $expected = $clients * ($calls / 5 + $calls * 4 / 5 * 7);
is($runs, $clients * $calls, "every client got all its $calls answers");
is($broken // 0, 0, 'every batch is one contiguous run');
is($repeats // 0, 0, 'no number handed out twice');
is(scalar(keys %seen), $expected, "$expected distinct numbers");
my @sorted = sort { $a <=> $b } keys %seen;
is_deeply([ $sorted[0], $sorted[-1] ], [ 1, $expected ], 'together they are exactly 1..N: no gap, no interleaving loss');

# 2. A small reverse range that wraps several times: 8 x 60 batches of 9 over 1..500.
$node->safe_psql('postgres', "SELECT sb_create_dispenser('small', 'reverse', 1, 500)");
@outputs = run_clients($clients,
	"SELECT array_to_string(sb_next('small', 9), ',') FROM generate_series(1, 60)");
my %count;
$broken = 0;
for my $lines (@outputs)
{
	for my $line (@$lines)
	{
		my @run = split /,/, $line;
		$broken++ unless contiguous(\@run, -1, 1, 500);
		$count{$_}++ for @run;
	}
}
my $total = $clients * 60 * 9;    # 4320 = 8 full turns + 320
is($broken, 0, 'every batch is contiguous across the wrap');
my $turns = int($total / 500);
my $rest  = $total % 500;
my @extra = grep { $count{$_} == $turns + 1 } keys %count;
my @wrong = grep { $count{$_} != $turns && $count{$_} != $turns + 1 } 1 .. 500;
is(scalar(@wrong), 0, "every number handed out $turns or " . ($turns + 1) . ' times');
is(scalar(@extra), $rest, "$rest numbers handed out once more");
is_deeply([ sort { $a <=> $b } @extra ], [ 500 - $rest + 1 .. 500 ],
	'the extra ones are the top of the countdown: one cyclic order, no interleaving');

$node->stop;
done_testing();
