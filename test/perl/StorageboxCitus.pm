
# StorageboxCitus: a throwaway Citus cluster for the tests in test/citus.
#
# start() skips the whole test file (Test::More's skip_all, which
# test/run_tests.sh counts as skipped) where Citus is not installed, else
# starts a coordinator and two workers on 127.0.0.1 with
# tools/citus_cluster.sh and stops them when the test ends.  The other
# functions run SQL on one node, by port, with psql.
#
# Copyright (c) storagebox authors; PostgreSQL License.

package StorageboxCitus;

use strict;
use warnings;

use Exporter 'import';
our @EXPORT = qw(connstr run_sql query all_refuse);

use File::Basename qw(basename dirname);
use File::Path;
use File::Spec;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;

use StorageboxLoad;

# the source tree: two levels above test/perl/
my $top = dirname(dirname(dirname(File::Spec->rel2abs(__FILE__))));
my $cluster_sh = "$top/tools/citus_cluster.sh";
my $dir;

# Start the cluster, or skip the test file.  %o: add_workers (how many of
# the two workers join the cluster at start; default 2).  Returns the
# coordinator's port; the workers are on the next two ports.
sub start
{
	my (%o) = @_;
	my $bindir = `pg_config --bindir`;
	chomp $bindir;
	$ENV{PG_BINDIR} = $bindir;
	plan skip_all => 'Citus is not installed' if system("$cluster_sh available") != 0;

	my $port = StorageboxLoad::env_int('SB_CITUS_PORT', 5650);
	# a fresh cluster for each test file
	$dir = "$PostgreSQL::Test::Utils::tmp_check/citus_" . basename($0, '.pl');
	File::Path::rmtree($dir);
	local $ENV{SB_CITUS_ADD_WORKERS} = $o{add_workers} // 2;
	system($cluster_sh, 'start', $dir, $port) == 0
	  or BAIL_OUT('cannot start the Citus cluster');
	return $port;
}

END
{
	local $?;    # keep the test's exit status
	system($cluster_sh, 'stop', $dir) if defined $dir && -d $dir;
}

# A file of the source tree, by its path there.
sub source_file { return "$top/$_[0]"; }

# The data directory of node $i (0 the coordinator, 1 and 2 the workers).
sub node_dir { return "$dir/node$_[0]"; }

sub connstr { return "host=127.0.0.1 port=$_[0] user=postgres dbname=postgres"; }

# Run SQL on the node at port $p: (exit status, stdout, stderr); errors
# carry their SQLSTATE (VERBOSITY verbose).
sub run_sql
{
	my ($p, $sql) = @_;
	my ($out, $err);
	IPC::Run::run([ 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
			'-v', 'VERBOSITY=verbose', '-d', connstr($p), '-c', $sql ],
		'<', \undef, '>', \$out, '2>', \$err);
	chomp $out;
	return ($? >> 8, $out, $err);
}

# The output of SQL that must succeed on the node at port $p.
sub query
{
	my ($p, $sql) = @_;
	my ($rc, $out, $err) = run_sql($p, $sql);
	die "query failed on port $p: $sql\n$err" if $rc != 0;
	return $out;
}

# Every "SELECT $call" in @calls fails on port $p with SQLSTATE 0A000 and a
# message matching $re: one test each.
sub all_refuse
{
	my ($p, $re, $what, @calls) = @_;
	for my $call (@calls)
	{
		my ($rc, $out, $err) = run_sql($p, "SELECT $call");
		ok($rc != 0 && $err =~ /ERROR:  0A000: $re/, "$what: $call refuses with 0A000")
		  or diag("rc=$rc out=$out err=$err");
	}
}

1;
