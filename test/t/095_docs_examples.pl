
# Every command and SQL example of README.md runs, and its shown results
# are checked.
#
# - Each ```sql block, in the order of the README, in one session of a
#   superuser in a fresh database "shop" (CREATE EXTENSION storagebox
#   becomes storagebox_sql for the SQL flavour; a block after the comment
#   "<!-- docs-test: C flavour only -->" runs for the C flavour only).  A
#   statement whose line ends in "-- → RESULT" must give RESULT (columns
#   joined by " | ", rows by "; ", NULL as NULL), or with "-- → ERROR
#   SQLSTATE" fail with that SQLSTATE; one followed by a psql table in
#   comment lines must give those rows.  Any other error fails.
# - The ```python, ```js and ```java blocks are written to the file named
#   on their first line, and the README's commands that run them (python3,
#   node, java) run as given, as the application's role shop_app, twice:
#   each prints the item sb_lookup finds for that user, both times.  A
#   language whose runtime is not installed is skipped (tools/install_deps.sh
#   installs Python's and Java's; .ci/run installs Node.js on the host).
# - The ```sh commands: tools/playground.sh (start, a query, stop) and
#   "make installcheck REGRESS=name ISOLATION=" run here; every other
#   command must be in %ELSEWHERE, which names the CI step that runs it, so
#   a new command in the README fails this test until it is placed.
# The counts of blocks, statements and results checked are asserted.

use strict;
use warnings;
use StorageboxFlavour;

use Cwd qw(getcwd);
use DBI;
use File::Temp qw(tempdir);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $top = getcwd();    # make prove_installcheck runs in the top directory
my $readme = "$top/README.md";

# The README's commands that CI runs elsewhere, and where.
my %ELSEWHERE = (
	'sudo apt-get install debhelper postgresql-server-dev-all' =>
	  'test/chroot.sh package (CI, 17): apt-get install debhelper postgresql-server-dev-all postgresql-all',
	'dpkg-buildpackage -us -uc -b' => 'test/chroot.sh package (CI, 17)',
	'sudo dpkg -i ../postgresql-15-storagebox_*.deb' =>
	  'test/chroot.sh package (CI): dpkg -i of the postgresql-17-storagebox it built',
	'sudo apt-get install postgresql-server-dev-17 build-essential libpq-dev' =>
	  'tools/install_deps.sh 17 (CI, in the trixie chroot) installs these',
	'make PG_CONFIG=/usr/lib/postgresql/17/bin/pg_config' =>
	  'test/run_tests.sh --pg 17 (CI, trixie chroot) builds so',
	'sudo make install PG_CONFIG=/usr/lib/postgresql/17/bin/pg_config' =>
	  'test/run_tests.sh --pg 17 (CI, trixie chroot) installs so',
	'tools/install_deps.sh' => 'test/run_tests.sh and test/chroot.sh run it (CI)',
	'test/run_tests.sh' => '.ci/run runs it for 15, and in the chroots for 17, 18 and 19',
	'make installcheck' =>
	  'test/run_tests.sh: the regress and isolation tiers (make installcheck FLAVOR=... with ISOLATION= and REGRESS=)',
	'make prove_installcheck PROVE_TESTS=test/t/023_dispenser_ranges.pl' =>
	  'test/run_tests.sh, tap tier: make prove_installcheck PROVE_TESTS=... (CI: 17 and 19 name files so)',
);

# ---- the README's fenced blocks
open(my $fh, '<', $readme) or die "$readme: $!";
my @lines = <$fh>;
close $fh;
my (@blocks, $cur, $last_text);
for my $i (0 .. $#lines)
{
	my $l = $lines[$i];
	if (!$cur && $l =~ /^```(\w*)\s*$/)
	{
		my $lang = $1;
		$cur = {
			lang => $lang,
			line => $i + 1,
			text => '',
			c_only => (($last_text // '') =~ /<!-- docs-test: C flavour only -->/) ? 1 : 0
		};
	}
	elsif ($cur && $l =~ /^```\s*$/)
	{
		push @blocks, $cur;
		undef $cur;
	}
	elsif ($cur)
	{
		$cur->{text} .= $l;
	}
	$last_text = $l if $l =~ /\S/;
}
die "README.md: unterminated block at line $cur->{line}" if $cur;
my %by_lang;
push @{ $by_lang{ $_->{lang} } }, $_ for @blocks;
note sprintf('README.md: %d fenced blocks (%s)',
	scalar @blocks, join(', ', map { "$_ " . scalar @{ $by_lang{$_} } } sort keys %by_lang));
my @unknown = grep { $_->{lang} !~ /^(sql|sh|python|js|java)$/ } @blocks;
is(scalar @unknown, 0, 'every fenced block is sql, sh, python, js or java')
  or diag join("\n", map { "line $_->{line}: ```$_->{lang}" } @unknown);

# ---- the server: Unix socket and 127.0.0.1 (JDBC connects over TCP)
my $node = PostgreSQL::Test::Cluster->new('docs');
$node->init;
$node->append_conf('postgresql.conf', "listen_addresses = '127.0.0.1'");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE shop');
my $dbh = DBI->connect('dbi:Pg:host=' . $node->host . ';port=' . $node->port . ';dbname=shop',
	'', '', { AutoCommit => 1, RaiseError => 0, PrintError => 0, pg_bool_tf => 1,
		pg_expand_array => 0, pg_server_prepare => 0, pg_enable_utf8 => 0 })
  or die "connect: $DBI::errstr";
$dbh->{pg_placeholder_nocolons} = 1;
$dbh->do("SET client_min_messages = warning");
# The first block installs the extension; the test makes sure of it.

# ---- the sql blocks
sub flavoured
{
	my ($sql) = @_;
	$sql =~ s/\bEXTENSION storagebox\b/EXTENSION $sb_extension/g;
	$sql =~ s/extname = 'storagebox'/extname = '$sb_extension'/g;
	return $sql;
}

# statements of a block: [ sql, line, expected ] with expected
# { value => '...' } or { error => 'SQLSTATE' } or { rows => [[...], ...] }
sub statements
{
	my ($b) = @_;
	my (@st, $buf, $buf_line, $in_table, $table_rows);
	my $n = $b->{line};
	for my $l (split /\n/, $b->{text})
	{
		$n++;
		if ($l =~ /^\s*--(.*)$/)
		{
			my $c = $1;
			next unless @st;
			# a psql table after a statement: header, separator, rows
			if (!$in_table && $c =~ /\|/ && !defined $st[-1][2])
			{
				$in_table = 1;
				$st[-1][2] = { rows => [], header => 1 };
				next;
			}
			if ($in_table)
			{
				if ($c =~ /^\s*-+(\+-+)*\s*$/) { next; }
				if ($c =~ /\|/ || $c =~ /^\s+\S/)
				{
					push @{ $st[-1][2]{rows} }, [ map { s/^\s+|\s+$//gr } split /\|/, $c, -1 ];
					next;
				}
				$in_table = 0;
			}
			next;
		}
		$in_table = 0;
		next unless $l =~ /\S/ || defined $buf;
		$buf_line //= $n;
		my ($code, $expect) = ($l, undef);
		if ($l =~ /^(.*?;)\s*--\s*→\s*(.*?)\s*$/)
		{
			($code, $expect) = ($1, $2);
		}
		elsif ($l =~ /^(.*?;)\s*(--.*)?$/)
		{
			$code = $1;
		}
		$buf = defined $buf ? "$buf\n$code" : $code;
		if ($code =~ /;\s*$/)
		{
			my $e;
			if (defined $expect)
			{
				$e = $expect =~ /^ERROR (\w{5})$/ ? { error => $1 } : { value => $expect };
			}
			push @st, [ $buf, $buf_line, $e ];
			undef $buf;
			undef $buf_line;
		}
	}
	die "README.md line $b->{line}: a statement without its ';'" if defined $buf;
	return @st;
}

my ($sql_blocks, $sql_run, $statements, $checked, $expected_checks) = (0, 0, 0, 0, 0);
for my $b (@{ $by_lang{sql} || [] })
{
	$sql_blocks++;
	if ($b->{c_only} && $sb_flavour ne 'c')
	{
		note "README.md line $b->{line}: for the C flavour only, left out";
		next;
	}
	$sql_run++;
	for my $s (statements($b))
	{
		my ($sql, $line, $e) = @$s;
		$sql = flavoured($sql);
		$statements++;
		$expected_checks++ if $e;
		my $sth = $dbh->prepare($sql);
		my $ok = $sth && $sth->execute;
		my $where = "README.md line $line";
		if (!$ok)
		{
			my ($state, $err) = ($dbh->state, $dbh->errstr);
			if ($e && defined $e->{error})
			{
				is($state, $e->{error}, "$where: fails with $e->{error}") and $checked++;
				note "  $err";
			}
			else
			{
				fail("$where: $sql");
				diag "  $state: $err";
			}
			next;
		}
		my $rows = $sth->{NUM_OF_FIELDS} ? $sth->fetchall_arrayref : [];
		next unless $e;
		if (defined $e->{error})
		{
			fail("$where: should fail with $e->{error}: $sql");
		}
		elsif (defined $e->{value})
		{
			my $got = join('; ', map { join(' | ', map { $_ // 'NULL' } @$_) } @$rows);
			is($got, $e->{value}, "$where: $sql → $e->{value}") and $checked++;
		}
		else
		{
			my $got = join("\n", map { join(' | ', map { $_ // '' } @$_) } @$rows);
			my @want = @{ $e->{rows} };
			my $want = join("\n", map { join(' | ', @$_) } @want);
			is($got, $want, "$where: $sql → the rows shown") and $checked++;
		}
	}
}
ok(scalar(@{ $by_lang{sql} || [] }) >= 20, "README.md has $sql_blocks sql blocks (at least 20)");
is($sql_run, $sql_blocks - ($sb_flavour eq 'c' ? 0 : scalar grep { $_->{c_only} } @{ $by_lang{sql} }),
	"every sql block ran ($sql_run, $statements statements)");
is($checked, $expected_checks, "every shown result checked ($checked)");
cmp_ok($checked, '>=', 28, 'at least 28 shown results');

# ---- the programs
my $work = tempdir(CLEANUP => 1);
my %files;
for my $lang (qw(python js java))
{
	for my $b (@{ $by_lang{$lang} || [] })
	{
		my ($name) = $b->{text} =~ m{^\s*(?:#|//)\s*(\S+)};
		ok($name, "README.md line $b->{line}: the $lang block names its file") or next;
		open(my $out, '>', "$work/$name") or die "$work/$name: $!";
		print $out $b->{text};
		close $out;
		$files{$name} = $lang;
	}
}
is(scalar keys %files, 3, 'one program each in Python, Node.js and Java');

my $app_env = join(' ',
	'PGHOST=' . $node->host,
	'PGPORT=' . $node->port,
	'PGDATABASE=shop', 'PGUSER=shop_app',
	'JDBC_URL=jdbc:postgresql://127.0.0.1:' . $node->port . '/shop?user=shop_app');

# The runtime a program needs, or why it is missing.
sub missing_runtime
{
	my ($cmd) = @_;
	if ($cmd =~ /^python3 /)
	{
		return system("python3 -c 'import psycopg' >/dev/null 2>&1") == 0
		  ? undef : 'python3 with psycopg (Debian: python3-psycopg)';
	}
	if ($cmd =~ /^node /)
	{
		return 'node' if system('command -v node >/dev/null 2>&1') != 0;
		my $mods = "$top/examples/voucher-http/node_modules";
		if (!-d "$mods/pg")
		{
			return 'npm' if system('command -v npm >/dev/null 2>&1') != 0;
			# the package the HTTP examples pin (examples/voucher-http's lock)
			my $rc = system("cd '$top/examples/voucher-http' && npm ci --prefer-offline --no-audit"
				  . " --no-fund --loglevel=error >'$work/npm.log' 2>&1");
			ok($rc == 0, 'npm ci in examples/voucher-http, for the pg package')
			  or diag slurp_file("$work/npm.log");
		}
		$ENV{NODE_PATH} = $mods;
		return undef;
	}
	if ($cmd =~ /^java /)
	{
		my ($jar) = $cmd =~ /-cp (\S+)/;
		return 'java' if system('command -v java >/dev/null 2>&1') != 0;
		return "$jar (Debian: libpostgresql-jdbc-java)" unless -f $jar;
		return undef;
	}
	return undef;
}

my ($ran_here, $elsewhere, $programs_run, $no_runtime) = (0, 0, 0, 0);
my @unplaced;
for my $b (@{ $by_lang{sh} || [] })
{
	my $n = $b->{line};
	for my $l (split /\n/, $b->{text})
	{
		$n++;
		(my $cmd = $l) =~ s/\s+#.*$//;
		$cmd =~ s/^\s+|\s+$//g;
		next if $cmd eq '';
		my $where = "README.md line $n";
		if ($cmd =~ /^(python3|node|java) /)
		{
			my ($user) = $cmd =~ /(\S+@\S+)$/;
			my ($file) = $cmd =~ /(\S+\.(?:py|js|java))/;
			ok($files{$file}, "$where: $file is a block of the README");
			if (my $why = missing_runtime($cmd))
			{
				SKIP: { skip "$where: $why is not installed", 3; }
				$no_runtime++;
				next;
			}
			my @out;
			for my $try (1, 2)
			{
				my $out = `cd '$work' && env $app_env $cmd 2>&1`;
				my $rc = $?;
				chomp $out;
				ok($rc == 0, "$where ($try): $cmd") or diag $out;
				push @out, $out;
			}
			my ($held) = $dbh->selectrow_array(q{SELECT sb_lookup('spring_sale', ?)}, undef, $user);
			ok(defined $held && $out[0] eq $held && $out[1] eq $held,
				"$where: printed the item $user holds, twice ($out[0], $out[1]; sb_lookup: "
				  . ($held // 'NULL') . ')');
			$programs_run++;
			$ran_here++;
		}
		elsif ($cmd eq 'tools/playground.sh')
		{
			my $dir = "$work/playground";
			my $port = PostgreSQL::Test::Cluster::get_free_port();
			my $arg = $sb_flavour eq 'sql' ? ' --sql' : '';
			my $out = `echo "SELECT sb_forward();" | PLAYGROUND_DIR='$dir' PLAYGROUND_PORT=$port '$top/tools/playground.sh'$arg 2>&1`;
			ok($? == 0 && $out =~ /^\s*1\s*$/m && $out =~ /extension $sb_extension\b/,
				"$where: $cmd$arg starts a server, psql runs in it") or diag $out;
			ok(-f "$dir/data/postmaster.pid", "$where: the playground server is still running after psql");
			$ran_here++;
		}
		elsif ($cmd eq 'tools/playground.sh stop')
		{
			my $dir = "$work/playground";
			my $out = `PLAYGROUND_DIR='$dir' '$top/tools/playground.sh' stop 2>&1`;
			ok($? == 0 && !-e $dir, "$where: $cmd stops the server and removes it") or diag $out;
			$ran_here++;
		}
		elsif ($cmd =~ /^make installcheck REGRESS=(\w+) ISOLATION=( FLAVOR=(\w+))?$/)
		{
			my $for = $3 // 'c';
			if ($for ne $sb_flavour)
			{
				note "$where: for the $for flavour, left out";
				$ran_here++;
				next;
			}
			my $su = $node->safe_psql('postgres', 'SELECT current_user');
			my $out = `PGHOST='${\$node->host}' PGPORT=${\$node->port} PGUSER='$su' $cmd 2>&1`;
			ok($? == 0 && $out =~ /\b1 tests? passed|^ok 1 /m, "$where: $cmd") or diag $out;
			$ran_here++;
		}
		elsif ($ELSEWHERE{$cmd})
		{
			note "$where: $cmd: run by $ELSEWHERE{$cmd}";
			$elsewhere++;
		}
		else
		{
			push @unplaced, "$where: $cmd";
		}
	}
}
is(scalar @unplaced, 0, 'every command of the README runs here or is placed in %ELSEWHERE')
  or diag join("\n", @unplaced);
note "commands: $ran_here run here, $elsewhere run by CI elsewhere; programs run: $programs_run";
# 7 commands (the playground's, one-test make installcheck and the three
# programs); a program whose runtime is missing (the chroots of CI have no
# Node.js, psycopg or JDK) is skipped above, not run
cmp_ok($ran_here + $no_runtime, '>=', 7,
	"at least 7 commands of the README run here or are skipped for a missing runtime ($no_runtime)");
cmp_ok($ran_here, '>=', 4, 'at least 4 commands of the README run here');

$dbh->disconnect;
$node->stop;
done_testing();
