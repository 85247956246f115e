#!/usr/bin/perl
#
# sb_check.pl: check a storagebox database for items held twice, dedup_ids
# holding two items, scopes not honoured and counts not conserved; with
# client logs (written by test/perl/StorageboxLoad.pm, format documented
# there), also check every answer the clients received against the database.
#
#   tools/sb_check.pl [-d CONNINFO] [LOGFILE ...]
#
# Connects with psql (libpq environment variables apply: PGHOST, PGPORT,
# PGDATABASE, PGUSER ...).  The role must be able to read storagebox_data
# (the extension owner or a superuser).  Prints the counts and violations=N;
# exits 1 if N > 0, 2 on error.
#
# Copyright (c) storagebox authors; PostgreSQL License.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../test/perl";
use Getopt::Long;
use IPC::Open3;
use StorageboxCheck;

my $conninfo = '';
my $verbose  = 0;
GetOptions('d|dbname=s' => \$conninfo, 'v|verbose' => \$verbose)
  or die "usage: $0 [-d CONNINFO] [-v] [LOGFILE ...]\n";

sub query
{
	my ($sql) = @_;
	my @cmd = ('psql', '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1',
		(length $conninfo ? ('-d', $conninfo) : ()), '-c', $sql);
	my $pid = open3(my $in, my $out, undef, @cmd);
	close($in);
	local $/;
	my $text = <$out>;
	waitpid($pid, 0);
	if ($? != 0)
	{
		print STDERR "sb_check: query failed: $sql\n";
		exit 2;
	}
	return $text // '';
}

my $events;
if (@ARGV)
{
	my $incomplete;
	($events, $incomplete) = StorageboxCheck::parse_logs(@ARGV);
	print "logs=" . scalar(@ARGV) . " incomplete_logs=$incomplete\n";
}

my $result = StorageboxCheck::check(query => \&query, events => $events);
print "$_\n" for @{ $result->{messages} };
print StorageboxCheck::summary($result), "\n";
exit($result->{violations} ? 1 : 0);
