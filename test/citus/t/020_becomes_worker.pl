
# A node where storagebox was in use joins a Citus cluster as a worker: a
# session that was open all along refuses from its very next call (issue
# 13).  The C flavour keeps the answer of its Citus check until the next
# relcache invalidation (src/citus/guard.c); Citus sends one when the node
# list changes, which is what this proves.  The SQL flavour checks on every
# call.  Skipped where Citus is not installed.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;

use StorageboxCitus;
use StorageboxFlavour;

# the coordinator and one worker form the cluster; the third node is alone
my $port = StorageboxCitus::start(add_workers => 1);
my $lone = $port + 2;

query($lone, "CREATE EXTENSION $sb_extension");
query($lone, "SELECT sb_create_bank('lone_bank')");
query($lone, "SELECT sb_add_items('lone_bank', ARRAY['a', 'b'])");

# one session, open from start to end
my ($in, $out, $err) = ('', '', '');
my $timer = IPC::Run::timeout(60);
my $session = IPC::Run::start(
	[ 'psql', '-X', '-q', '-A', '-t', '-v', 'VERBOSITY=verbose', '-d', connstr($lone) ],
	'<', \$in, '>', \$out, '2>', \$err, $timer);

# Run $sql in the open session: (stdout, stderr) of that statement.
sub in_session
{
	my ($sql) = @_;
	($out, $err) = ('', '');
	$in .= "$sql\n\\echo __done__\n";
	$session->pump until $out =~ /__done__/ || $timer->is_expired;
	$out =~ s/__done__\n?//;
	chomp $out;
	return ($out, $err);
}

my ($o, $e) = in_session("SELECT sb_next('forward');");
is($o, '1', 'alone, the node hands out numbers');
($o, $e) = in_session("SELECT sb_fetch_item('lone_bank', 'u1');");
is($o, 'a', 'alone, the node hands out items');

query($port, "SELECT citus_add_node('127.0.0.1', $lone)");
is(query($lone, 'SELECT groupid <> 0 FROM pg_dist_local_group'), 't', 'the node is now a worker');

for my $call ("sb_next('forward')", "sb_fetch_item('lone_bank', 'u2')",
	"sb_lookup('lone_bank', 'u1')", "sb_create_bank('late_bank')")
{
	($o, $e) = in_session("SELECT $call;");
	like($e, qr/ERROR:  0A000: storagebox runs on the Citus coordinator, not on a worker node/,
		"the session open since before refuses $call");
}
is(query($lone, "SELECT count(*) FROM storagebox_data.claim"), '1', 'no claim was made after the join');

$in .= "\\q\n";
$session->finish;
done_testing();
