
# Crash: a number received in autocommit is never handed out again, even
# when the WAL that would cover it was written by a transaction that had
# not committed (both flavours).
#
# Before the SQL flavour's 1.6, a single number from a range of more than
# 512 came from nextval, which WAL-logs the sequence 32 numbers ahead and
# then nothing for the next 31.  A transaction that took one of those 31
# wrote no WAL of its own, so PostgreSQL committed it without flushing WAL
# (an xid is not enough), and its answer reached the client.  If the
# transaction whose nextval wrote the look-ahead had not committed, a crash
# lost that record, and the dispenser handed the number out again
# (022_crash_dispenser_wrap.pl caught it once in about 76 CI runs).  Here it
# is made certain: session A takes a number in a transaction it leaves
# open; session B takes numbers in autocommit; the WAL writer is held off
# (wal_writer_delay 10s) and the server is crashed at once.  After the
# restart, the next number must come after B's.  The C flavour flushes the
# WAL that covers a run before it returns it (src/dispenser/seq_run.c).

use strict;
use warnings;
use StorageboxFlavour;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use StorageboxLoad;

my $node = PostgreSQL::Test::Cluster->new('crash_lookahead');
$node->init;
$node->append_conf('postgresql.conf', "restart_after_crash = off\nwal_writer_delay = '10s'\n");
$node->start;
$node->safe_psql('postgres', "CREATE EXTENSION $sb_extension;"
	  . " SELECT sb_create_dispenser('long_fwd', 'forward', 1, 1000000);"
	  . " SELECT sb_create_dispenser('long_rev', 'reverse', 1, 1000000);");

my $open = $node->background_psql('postgres');
$open->query_safe('BEGIN');
my %open_took = map { $_ => $open->query_safe("SELECT sb_next('$_')") } qw(long_fwd long_rev);
my %received;
for my $d (qw(long_fwd long_rev))
{
	$received{$d} = [ map { $node->safe_psql('postgres', "SELECT sb_next('$d')") } 1 .. 3 ];
}
is("$open_took{long_fwd} @{ $received{long_fwd} }", '1 2 3 4',
	'forward: the open transaction took 1, autocommit calls received 2, 3 and 4');
is("$open_took{long_rev} @{ $received{long_rev} }", '1000000 999999 999998 999997',
	'reverse: the open transaction took 1000000, autocommit calls received 999999 to 999997');

$node->stop('immediate');
$open->{run}->kill_kill;
if (StorageboxLoad::restart_after_crash($node, 'look-ahead'))
{
	my $fwd = $node->safe_psql('postgres', "SELECT sb_next('long_fwd')");
	cmp_ok($fwd, '>', 4, "forward: after the crash the next number ($fwd) comes after the ones received");
	my $rev = $node->safe_psql('postgres', "SELECT sb_next('long_rev')");
	cmp_ok($rev, '<', 999997, "reverse: after the crash the next number ($rev) comes after the ones received");
}

$node->stop;
done_testing();
