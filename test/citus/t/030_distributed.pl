
# storagebox's distributed layout on Citus (issue 13): a coordinator and two
# workers on loopback, started by tools/citus_cluster.sh, converted with
# sql/citus/sb_distribute.sql.  Skipped, and counted as skipped, where Citus
# is not installed.  The layout is the C flavour's; for the SQL flavour the
# test shows that the procedure refuses.
#
# What it shows (C flavour):
#  - the procedure converts an installation that already holds banks,
#    claims and per-bank rights, and refuses to run twice;
#  - while a non-blocking move copies a scope's shard (its shard is in a
#    publication), fetches of that scope refuse with 55000 and change
#    nothing; lookups still answer;
#  - 16 clients, 8 on the coordinator and 4 on each worker, over 4 banks in
#    4 scopes plus 2 banks sharing one scope, while the shards of two
#    scopes move to the other worker with block_writes (single-fetch
#    transactions); then a
#    worker crashes (immediate stop) and restarts, and 16 clients run again
#    (with transactions of several fetches); citus_drain_node moves every
#    shard off that worker, and 16 clients run once more (clients of the
#    drained worker are routed); the exactly-once checker
#    finds 0 violations over all three runs (on a copy of the cluster's rows in a
#    plain server, where its queries run);
#  - sb_hold_item and sb_confirm on every node (routed where the scope is
#    not), the confirmed hold seen from another node;
#  - on the coordinator, a fetch that is a statement of its own is
#    delegated by Citus to the node of its scope (EXPLAIN shows it),
#    prepared ones too; it answers as the other paths do, rolls back with
#    its transaction, and is checked for rights where it runs; half the
#    fetches of the loads are such statements;
#  - a load of 16 clients on the coordinator, most of whose fetches Citus
#    delegates, while a scope moves;
#  - per-bank rights and EXECUTE hold on every node, routed or not, for
#    banks made before the conversion and after it (created, granted,
#    revoked and dropped on the coordinator);
#  - a function that is not routed refuses on the wrong node, and
#    dispensers run on the coordinator only: numbers are unique.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes;

use StorageboxCheck;
use StorageboxCitus;
use StorageboxFlavour;
use StorageboxLoad;

my $port  = StorageboxCitus::start();
my @ports = ($port, $port + 1, $port + 2);
my $bindir = $ENV{PG_BINDIR};
my $procedure = StorageboxCitus::source_file('sql/citus/sb_distribute.sql');

# Run the conversion procedure on the coordinator: (exit status, stderr).
sub distribute
{
	my ($out, $err);
	IPC::Run::run([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', connstr($port),
			'-f', $procedure ], '<', \undef, '>', \$out, '2>', \$err);
	return ($? >> 8, $err);
}

if ($sb_extension ne 'storagebox')
{
	query($port, "CREATE EXTENSION $sb_extension");
	my ($rc, $err) = distribute();
	ok($rc != 0 && $err =~ /extension storagebox is not installed in this database/
		  && $err =~ /storagebox_sql runs on the coordinator only/,
		'the SQL flavour: the procedure refuses, and says why')
	  or diag($err);
	is(query($port, "SELECT count(*) FROM pg_dist_partition"), '0', 'nothing was distributed');
	done_testing();
	exit;
}

# Half the fetches are statements of their own, which Citus delegates.
my $cfg = StorageboxLoad::config(calls => 40000, clients => 16, p_dispense => 0, p_whole => 0.5);
$cfg->{banks} = [
	(map { { bank => "solo_$_", scope => undef, items => int(0.15 * $cfg->{id_range}) } } 1 .. 4),
	{ bank => 'pair_a', scope => 'pair', items => int(0.20 * $cfg->{id_range}) },
	{ bank => 'pair_b', scope => 'pair', items => int(0.15 * $cfg->{id_range}) },
];
query($port, StorageboxLoad::setup_sql($cfg));

# --- an installation in use, with rights, converted ------------------------
query($port, q{
	CREATE ROLE app LOGIN;
	GRANT EXECUTE ON FUNCTION sb_fetch_item(text, text), sb_lookup(text, text) TO app;
	SELECT sb_create_bank('closed');
	SELECT sb_add_items('closed', array['c1', 'c2']);
	SELECT sb_create_bank('open_to_app');
	SELECT sb_add_items('open_to_app', array['o1', 'o2', 'o3', 'o4']);
	SELECT sb_grant('closed', 'postgres', 'fetch');
	SELECT sb_grant('open_to_app', 'app', 'fetch');
	SELECT sb_fetch_item('solo_1', 'before');
	SELECT sb_fetch_item('pair_a', 'before');
	SELECT sb_fetch_item('solo_2', 'released');
	SELECT sb_release('solo_2', 'released');
});
my $before = query($port, "SELECT sb_fetch_item('solo_1', 'before') || ',' || sb_fetch_item('pair_b', 'before')");

my ($rc, $err) = distribute();
is($rc, 0, 'sb_distribute.sql converts the installation') or diag($err);
is(query($port, "SELECT string_agg(logicalrelid::text || ':' || partmethod::text, ',' ORDER BY logicalrelid::text)"
	  . " FROM pg_dist_partition"),
	'storagebox_data.bank:n,storagebox_data.claim:h,storagebox_data.item:h,storagebox_data.scope:n',
	'scope and bank are reference tables, claim and item distributed');
($rc, $err) = distribute();
ok($rc != 0 && $err =~ /storagebox tables are in Citus metadata already/, 'a second run refuses');

for my $p (@ports)
{
	is(query($p, "SELECT sb_fetch_item('solo_1', 'before') || ',' || sb_fetch_item('pair_b', 'before')"),
		$before, "node $p: the claims made before answer the same");
}

# --- rights on every node ---------------------------------------------------
my $app = "host=127.0.0.1 user=app dbname=postgres port=";
for my $p (@ports)
{
	my ($out, $e);
	IPC::Run::run([ 'psql', '-X', '-A', '-t', '-d', "$app$p", '-c',
			"SELECT sb_fetch_item('open_to_app', 'a$p')" ], '<', \undef, '>', \$out, '2>', \$e);
	like($out, qr/^o[1-4]$/, "node $p: app fetches from the bank granted to it") or diag($e);
	IPC::Run::run([ 'psql', '-X', '-A', '-t', '-v', 'VERBOSITY=verbose', '-d', "$app$p", '-c',
			"SELECT sb_fetch_item('closed', 'a$p')" ], '<', \undef, '>', \$out, '2>', \$e);
	like($e, qr/42501: permission denied for bank "closed"/, "node $p: app is refused the closed bank");
	IPC::Run::run([ 'psql', '-X', '-A', '-t', '-v', 'VERBOSITY=verbose', '-d', "$app$p", '-c',
			"SELECT sb_release('open_to_app', 'a$p')" ], '<', \undef, '>', \$out, '2>', \$e);
	like($e, qr/42501: permission denied for function sb_release/,
		"node $p: EXECUTE is checked as on the coordinator");
	IPC::Run::run([ 'psql', '-X', '-A', '-t', '-v', 'VERBOSITY=verbose', '-d', "$app$p", '-c',
			"SELECT storagebox_data.route_call(1, 'public.sb_fetch_item(text,text)', array['closed', 'x'], 'postgres')" ],
		'<', \undef, '>', \$out, '2>', \$e);
	like($e, qr/42501: permission denied for (schema storagebox_data|function route_call)/,
		"node $p: app cannot call route_call");
}

# --- a bank made, granted, revoked and dropped after the conversion ------
query($port, q{
	SELECT sb_create_bank('late', 'late_scope');
	SELECT sb_add_items('late', array['l1', 'l2', 'l3', 'l4']);
	SELECT sb_grant('late', 'app', 'fetch');
});
for my $p (@ports)
{
	my ($out, $e);
	IPC::Run::run([ 'psql', '-X', '-A', '-t', '-d', "$app$p", '-c',
			"SELECT sb_fetch_item('late', 'late$p')" ], '<', \undef, '>', \$out, '2>', \$e);
	like($out, qr/^l[1-4]$/, "node $p: a bank made after the conversion serves the role granted") or diag($e);
}
query($port, "SELECT sb_revoke('late', 'app', 'fetch')");
for my $p (@ports)
{
	my ($out, $e);
	IPC::Run::run([ 'psql', '-X', '-A', '-t', '-v', 'VERBOSITY=verbose', '-d', "$app$p", '-c',
			"SELECT sb_fetch_item('late', 'late$p')" ], '<', \undef, '>', \$out, '2>', \$e);
	like($e, qr/42501: permission denied for bank "late"/, "node $p: after sb_revoke the role is refused");
}
query($port, "SELECT sb_drop_bank('late')");
for my $p (@ports)
{
	my ($rc, $out, $e) = run_sql($p, "SELECT sb_fetch_item('late', 'x')");
	ok($rc != 0 && $e =~ /42704: bank "late" does not exist/, "node $p: the dropped bank is gone")
	  or diag($e);
}
is(query($port, "SELECT count(*) FROM storagebox_data.claim c WHERE c.bank_id NOT IN (SELECT bank_id FROM storagebox_data.bank)")
	  . '|' . query($port, "SELECT count(*) FROM storagebox_data.item i WHERE i.bank_id NOT IN (SELECT bank_id FROM storagebox_data.bank)"),
	'0|0', 'sb_drop_bank removed its claims and items from the shards');

# the shard of a scope, and the port of the worker that holds it
sub placement
{
	my ($scope_name_sql) = @_;
	my $shard = query($port, "SELECT get_shard_id_for_distribution_column('storagebox_data.claim',"
		  . " (SELECT scope_id FROM storagebox_data.scope WHERE $scope_name_sql))");
	my $at = query($port, "SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)"
		  . " WHERE p.shardid = $shard");
	return ($shard, $at);
}

# --- holds, routed or not ----------------------------------------------------
# on each node a hold in the pair scope, confirmed, then looked up everywhere
for my $p (@ports)
{
	my $held_item = query($p, "SELECT sb_hold_item('pair_b', 'hold$p', '1 hour')");
	like($held_item, qr/^pair_[ab]:\d+$/, "node $p: sb_hold_item answers");
	is(query($p, "SELECT sb_confirm('pair_b', 'hold$p')"), $held_item, "node $p: sb_confirm confirms it");
	is(query($ports[ ($p - $ports[0] + 1) % 3 ], "SELECT sb_lookup('pair_a', 'hold$p')"), $held_item,
		"node $p: another node finds the confirmed hold in the shared scope");
	is(query($port, "SELECT count(*) FROM storagebox_data.claim WHERE dedup_id = 'hold$p'"
		  . " AND hold_expires IS NULL"), '1', "node $p: one permanent claim");
}

# --- a function that is not routed, and the dispensers ---------------------
my ($pair_shard, $pair_at) = placement("scope_name = 'pair'");
my $elsewhere = $pair_at == $ports[1] ? $ports[2] : $ports[1];
all_refuse($elsewhere, 'bank "pair_a" is served by another node of the Citus cluster',
	"worker $elsewhere", "* FROM sb_fetch_items('pair_a', array['x'])",
	"* FROM sb_holders('pair_a')");
my $taken = query($port, "SELECT count(*), count(DISTINCT n) FROM"
	  . " (SELECT unnest(sb_next('tickets', 100)) n FROM generate_series(1, 50)) s");
is($taken, '5000|5000', 'the coordinator hands out 5000 distinct numbers');
for my $w (@ports[ 1, 2 ])
{
	all_refuse($w, 'this storagebox function runs on the Citus coordinator, not on a worker node',
		"worker $w", "sb_next('tickets')", "sb_create_bank('on_worker')",
		"sb_add_items('solo_1', array['x'])");
}

# --- Citus delegates a fetch that is a statement of its own ---------------
# The library loads at a session's first storagebox call (the sb_lookup that
# starts each session here); from then on its planner hook on the
# coordinator has Citus send a whole-statement fetch to the node of its
# scope, as sb_fetch_item_in_scope.
my $pair_scope = query($port, "SELECT scope_id FROM storagebox_data.scope WHERE scope_name = 'pair'");
my $load_lib = "SELECT sb_lookup('pair_a', 'nobody') IS NULL;";
my $explain = "$load_lib EXPLAIN (VERBOSE, COSTS OFF) SELECT sb_fetch_item('pair_a', 'whole')";
my $delegated_plan = qr/Custom Scan \(Citus Adaptive\).*Query: SELECT \w+\.sb_fetch_item_in_scope\($pair_scope, 'pair_a'::text, 'whole'::text\) AS sb_fetch_item\n\s*Node: host=127\.0\.0\.1 port=$pair_at /s;
like(query($port, $explain), $delegated_plan,
	'coordinator: a whole-statement fetch is delegated to the node of its scope');
for my $p ($elsewhere, $pair_at)
{
	unlike(query($p, $explain), qr/sb_fetch_item_in_scope|Citus Adaptive/,
		"worker $p: a fetch runs where it arrives (and is routed from there)");
}
unlike(query($port, "SET storagebox.delegate_fetch = off; $explain"), qr/sb_fetch_item_in_scope|Citus Adaptive/,
	'with storagebox.delegate_fetch off, the coordinator does not delegate');
unlike(query($port, "$load_lib EXPLAIN (VERBOSE, COSTS OFF) SELECT sb_fetch_item('pair_a', 'whole'), 1"),
	qr/sb_fetch_item_in_scope/, 'a fetch inside a larger statement is left alone');

# the same answer through every path, on every node
sub last_line { my @l = split /\n/, $_[0]; return $l[-1] // ''; }
my $whole = last_line(query($port, "$load_lib SELECT sb_fetch_item('pair_a', 'whole')"));
like($whole, qr/^pair_[ab]:\d+$/, 'the coordinator answers a delegated fetch');
for my $p (@ports)
{
	is(last_line(query($p, "$load_lib SELECT sb_fetch_item('pair_b', 'whole')")), $whole,
		"node $p: a repeat in the shared scope answers the same item");
	is(query($p, "SET storagebox.delegate_fetch = off; SELECT sb_fetch_item('pair_a', 'whole')"), $whole,
		"node $p: so does a repeat that is not delegated");
}

# a statement prepared before the session loaded the library: its first
# execution loads it, which makes the session's plans again
my @early = split /\n/, query($port, "PREPARE early AS SELECT sb_fetch_item('pair_a', 'early');"
	  . " EXECUTE early; EXECUTE early; EXPLAIN (VERBOSE, COSTS OFF) EXECUTE early;");
like($early[0], qr/^pair_[ab]:\d+$/, 'a statement prepared before the library was loaded answers');
is($early[1], $early[0], 'and answers the same item again');
like(join("\n", @early), qr/Query: SELECT \w+\.sb_fetch_item_in_scope\($pair_scope, 'pair_a'::text, 'early'::text\)/,
	'and is delegated once the library is loaded');

# a prepared fetch: its custom plans are delegated (the generic plan, which
# cannot know the bank, is made to look expensive on the coordinator)
my $prepared = query($port, "$load_lib PREPARE f(text, text) AS SELECT sb_fetch_item(\$1, \$2);"
	  . join('', map { " EXECUTE f('pair_a', 'prep$_');" } 1 .. 7)
	  . " EXPLAIN (VERBOSE, COSTS OFF) EXECUTE f('pair_a', 'prep8');"
	  . " EXECUTE f('pair_a', 'prep1');");
my @answers = split /\n/, $prepared;
like($prepared, qr/Query: SELECT \w+\.sb_fetch_item_in_scope\($pair_scope, 'pair_a'::text, 'prep8'::text\)/,
	'the eighth execution of a prepared fetch is still delegated');
is(scalar(grep { /^pair_[ab]:\d+$/ } @answers[ 1 .. 7 ]), 7, 'seven prepared fetches answer');
is($answers[-1], $answers[1], 'a prepared repeat answers the same item');
is(query($elsewhere, "SELECT count(DISTINCT sb_lookup('pair_a', 'prep' || g)) FROM generate_series(1, 7) g"),
	'7', 'another node finds the seven claims, all different');

# rolled back inside a transaction block: nothing remains, on any node
query($port, "$load_lib BEGIN; SELECT sb_fetch_item('pair_a', 'rolled_back'); ROLLBACK;");
for my $p (@ports)
{
	is(query($p, "SELECT sb_lookup('pair_a', 'rolled_back') IS NULL"), 't',
		"node $p: a delegated fetch rolled back with its transaction holds nothing");
}

# a read-only transaction on the coordinator fetches nothing elsewhere
($rc, my $ro_out, $err) = run_sql($port, "BEGIN; SET TRANSACTION READ ONLY; $load_lib"
	  . " SELECT sb_fetch_item('pair_a', 'read_only'); COMMIT;");
ok($rc != 0 && $err =~ /25006: cannot execute sb_fetch_item\(\) in a read-only transaction/,
	'coordinator: a delegated fetch in a read-only transaction refuses with 25006') or diag($err);
is(query($pair_at, "SELECT sb_lookup('pair_a', 'read_only') IS NULL"), 't', 'and holds nothing');

# rights, checked where the delegated call runs
sub stderr_of_as
{
	my ($conninfo, $sql) = @_;
	my ($out, $e);
	IPC::Run::run([ 'psql', '-X', '-A', '-t', '-v', 'VERBOSITY=verbose', '-d', $conninfo, '-c', $sql ],
		'<', \undef, '>', \$out, '2>', \$e);
	return $e;
}
like(stderr_of_as("$app$port",
		"SELECT sb_lookup('open_to_app', 'nobody') IS NULL; SELECT sb_fetch_item('closed', 'delegated')"),
	qr/42501: permission denied for bank "closed"/,
	'coordinator: app is refused the closed bank through a delegated fetch');
query($port, "CREATE ROLE stranger LOGIN");
my $stranger = "host=127.0.0.1 user=stranger dbname=postgres port=$port";
like(stderr_of_as($stranger, "SELECT sb_fetch_item_in_scope($pair_scope, 'pair_a', 'stranger')"),
	qr/42501: permission denied for function sb_fetch_item\b/,
	'a role without EXECUTE on sb_fetch_item cannot fetch through sb_fetch_item_in_scope');
is(query($port, "SELECT sb_lookup('pair_a', 'stranger') IS NULL"), 't', 'and holds nothing');

# --- the other functions of one scope are delegated the same way ----------
# sb_hold_item, sb_confirm, sb_lookup and sb_release, each as its _in_scope
# form, with the same column name
for my $call ([ 'sb_hold_item', "'pair_a', 'held', '1 hour'", "'pair_a'::text, 'held'::text, '01:00:00'::interval" ],
	[ 'sb_confirm', "'pair_a', 'held'", "'pair_a'::text, 'held'::text" ],
	[ 'sb_lookup',  "'pair_a', 'held'", "'pair_a'::text, 'held'::text" ],
	[ 'sb_release', "'pair_a', 'held'", "'pair_a'::text, 'held'::text" ])
{
	my ($fn, $args, $shown) = @$call;
	like(query($port, "$load_lib EXPLAIN (VERBOSE, COSTS OFF) SELECT $fn($args)"),
		qr/Custom Scan \(Citus Adaptive\).*Query: SELECT \w+\.${fn}_in_scope\($pair_scope, \Q$shown\E\) AS $fn\n\s*Node: host=127\.0\.0\.1 port=$pair_at /s,
		"coordinator: a whole-statement $fn is delegated to the node of its scope");
}
my $delegated_hold = last_line(query($port, "$load_lib SELECT sb_hold_item('pair_a', 'held', '1 hour')"));
like($delegated_hold, qr/^pair_[ab]:\d+$/, 'a delegated hold answers');
is(query($elsewhere, "SELECT sb_hold_item('pair_b', 'held', '1 hour')"), $delegated_hold,
	'a routed repeat in the shared scope answers the same item');
is(last_line(query($port, "$load_lib SELECT sb_lookup('pair_a', 'held')")), $delegated_hold,
	'a delegated lookup finds the held item');
is(last_line(query($port, "$load_lib SELECT sb_confirm('pair_a', 'held')")), $delegated_hold,
	'a delegated confirm answers the held item');
is(query($pair_at, "SELECT count(*) FROM sb_holders('pair_a') h WHERE h.dedup_id = 'held' AND h.hold_expires IS NULL"),
	'1', 'and the hold is permanent where the scope is');

# read-only: a lookup is delegated and answers; a release refuses
is(last_line(query($port, "BEGIN; SET TRANSACTION READ ONLY; $load_lib SELECT sb_lookup('pair_a', 'held'); COMMIT;")),
	$delegated_hold, 'coordinator: a delegated lookup answers in a read-only transaction');
($rc, $ro_out, $err) = run_sql($port, "BEGIN; SET TRANSACTION READ ONLY; $load_lib SELECT sb_release('pair_a', 'held'); COMMIT;");
ok($rc != 0 && $err =~ /25006: cannot execute sb_release\(\) in a read-only transaction/,
	'coordinator: a delegated release in a read-only transaction refuses with 25006') or diag($err);
like(stderr_of_as($stranger, "SELECT sb_release_in_scope($pair_scope, 'pair_a', 'held')"),
	qr/42501: permission denied for function sb_release\b/,
	'a role without EXECUTE on sb_release cannot release through sb_release_in_scope');
is(query($pair_at, "SELECT sb_lookup('pair_a', 'held')"), $delegated_hold, 'both leave the item held');
is(last_line(query($port, "$load_lib SELECT sb_release('pair_a', 'held')")), $delegated_hold,
	'a delegated release answers the item it gives back');
for my $p (@ports)
{
	is(query($p, "SELECT sb_lookup('pair_a', 'held') IS NULL"), 't', "node $p: and nothing is held after it");
}
($rc, $ro_out, $err) = run_sql($port, "CREATE FUNCTION public.sb_other_in_scope(integer, text, text) RETURNS text"
	  . " LANGUAGE c AS '\$libdir/storagebox', 'sb_call_in_scope'; SELECT public.sb_other_in_scope(1, 'a', 'b');");
ok($rc != 0 && $err =~ /42P13/ && $err =~ /is not a delegated form of a storagebox function/,
	'the C function of the _in_scope forms refuses to be anything else') or diag($err);
query($port, "DROP FUNCTION IF EXISTS public.sb_other_in_scope(integer, text, text)");

# --- a non-blocking move: writers of the scope refuse while it copies ----
# Citus's non-blocking move publishes the shard on its node; that is what
# the library looks for.  The publication is made by hand here, so that the
# refusal is seen deterministically.
my ($solo2_shard, $solo2_at) = placement("scope_id = (SELECT scope_id FROM storagebox_data.bank WHERE bank_name = 'solo_2')");
my $held2 = query($port, "SELECT sb_fetch_item('solo_2', 'held2')");
my $held = query($port, "SELECT count(*), count(dedup_id) FROM storagebox_data.claim");
query($solo2_at, "SET citus.enable_ddl_propagation TO off;"
	  . " CREATE PUBLICATION sb_test_move FOR TABLE storagebox_data.claim_$solo2_shard");
for my $p (@ports)
{
	($rc, my $out, $err) = run_sql($p, "SELECT sb_fetch_item('solo_2', 'during_move')");
	ok($rc != 0 && $err =~ /55000: the shard of dedup scope \d+ is being moved with logical replication/
		  && $err =~ /HINT:  Move storagebox's shards with shard_transfer_mode 'block_writes'/,
		"node $p: a fetch from a scope in a non-blocking move refuses with 55000")
	  or diag("rc=$rc err=$err");
	is(query($p, "SELECT sb_lookup('solo_2', 'held2')"), $held2, "node $p: a lookup still answers");
}
is(query($port, "SELECT count(*), count(dedup_id) FROM storagebox_data.claim"), $held,
	'the refused fetches changed no claim');
query($solo2_at, "SET citus.enable_ddl_propagation TO off; DROP PUBLICATION sb_test_move");
like(query($ports[1], "SELECT sb_fetch_item('solo_2', 'after_move')"), qr/^solo_2:\d+$/,
	'once the publication is gone, the fetch answers');

# --- exactly once: clients on every node, shards moving, a worker crash ---
sub load
{
	my ($tag, $seed, $calls, $load_cfg, $parts) = @_;
	my @parts = $parts ? @$parts : ([ $ports[0], 8 ], [ $ports[1], 4 ], [ $ports[2], 4 ]);
	my @loads;
	for my $i (0 .. $#parts)
	{
		push @loads, StorageboxLoad::start_load(
			connstr => connstr($parts[$i][0]),
			dir     => "$PostgreSQL::Test::Utils::tmp_check/load_${tag}_$i",
			cfg     => $load_cfg,
			clients => $parts[$i][1],
			calls   => int($calls * $parts[$i][1] / 16),
			seed    => $seed + $i);
	}
	return \@loads;
}

sub progress
{
	my ($loads) = @_;
	my $n = 0;
	for my $l (@$loads) { $n += StorageboxLoad::progress($l); }
	return $n;
}

sub finish
{
	my ($loads, $what) = @_;
	my (@logs, $failed, $stderr);
	($failed, $stderr) = (0, '');
	for my $l (@$loads)
	{
		my $res = StorageboxLoad::wait_load($l);
		push @logs, @{ $res->{logs} };
		$failed += $res->{failed};
		$stderr .= $res->{stderr};
	}
	is($failed, 0, "$what: every client ran its script to the end");
	is($stderr, '', "$what: no client saw an error") or diag(substr($stderr, 0, 2000));
	return @logs;
}

# During the moves every transaction fetches once: a transaction that has
# claimed and then needs the shard lock of a moving scope can be the victim
# of a deadlock with the move (README, "Scaling out with Citus").
# Count the calls of sb_fetch_item_in_scope on the workers: the delegated
# fetches of the coordinator's clients.
for my $p (@ports[ 1, 2 ])
{
	query($p, "ALTER SYSTEM SET track_functions = 'all'");
	query($p, "SELECT pg_reload_conf(); SELECT pg_stat_reset();");
}
sub delegated_calls
{
	my $n = 0;
	for my $p (@ports[ 1, 2 ])
	{
		$n += query($p, "SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions"
			  . " WHERE funcname = 'sb_fetch_item_in_scope'");
	}
	return $n;
}
my $loads = load('moves', 30, 40000, { %$cfg, p_txn => 0 });
my $deadline = time() + 180;
Time::HiRes::sleep(0.05) while progress($loads) < 500 && time() < $deadline;
my ($solo_shard, $solo_at) = placement("scope_id = (SELECT scope_id FROM storagebox_data.bank WHERE bank_name = 'solo_1')");
for my $move ([ 'pair', $pair_shard, $pair_at ], [ 'solo_1', $solo_shard, $solo_at ])
{
	my ($name, $shard, $from) = @$move;
	my $to = $from == $ports[1] ? $ports[2] : $ports[1];
	my $at_move = progress($loads);
	($rc, my $out, $err) = run_sql($port,
		"SELECT citus_move_shard_placement($shard, '127.0.0.1', $from, '127.0.0.1', $to,"
		  . " shard_transfer_mode := 'block_writes')");
	is($rc, 0, "the shards of scope $name move from $from to $to during the load") or diag($err);
	is((placement($name eq 'pair' ? "scope_name = 'pair'"
		: "scope_id = (SELECT scope_id FROM storagebox_data.bank WHERE bank_name = 'solo_1')"))[1],
		$to, "scope $name is now on $to");
	note("move of $name: " . (progress($loads) - $at_move) . ' answers logged meanwhile');
}
my $at_moves_done = progress($loads);
my @logs = finish($loads, 'load with moves');
cmp_ok(progress($loads), '>', $at_moves_done, 'the clients went on answering after the moves');
# The coordinator's 8 clients made half of the 40,000 calls, half of those
# as statements of their own (their first in each session is not
# delegated).  Statistics reach the view when the workers' backends end.
my $delegated = 0;
$deadline = time() + 30;
while (($delegated = delegated_calls()) < 9000 && time() < $deadline) { Time::HiRes::sleep(0.5); }
cmp_ok($delegated, '>=', 9000, "the workers ran $delegated delegated fetches of the coordinator's clients");

# exactly once with delegated calls: 16 clients on the coordinator, most
# fetches statements of their own (which Citus delegates), while the pair
# scope's shards move; the banks, which the loads before emptied, get 300
# items more each
for my $b (@{ $cfg->{banks} })
{
	query($port, "SELECT sb_add_items('$b->{bank}', array(SELECT '$b->{bank}:' || g"
		  . " FROM generate_series($b->{items} + 1, $b->{items} + 300) g))");
	$b->{items} += 300;
}
$loads = load('delegated', 35, 16000, { %$cfg, p_whole => 0.7 }, [ [ $ports[0], 16 ] ]);
Time::HiRes::sleep(0.05) while progress($loads) < 300;
($pair_shard, $pair_at) = placement("scope_name = 'pair'");
my $pair_to = $pair_at == $ports[1] ? $ports[2] : $ports[1];
($rc, my $move_out, $err) = run_sql($port,
	"SELECT citus_move_shard_placement($pair_shard, '127.0.0.1', $pair_at, '127.0.0.1', $pair_to,"
	  . " shard_transfer_mode := 'block_writes')");
is($rc, 0, "the pair scope moves from $pair_at to $pair_to during the delegated load") or diag($err);
push @logs, finish($loads, 'load with delegated calls');

# a worker crashes, with nothing running, and restarts
my $node2 = StorageboxCitus::node_dir(2);
is(system("'$bindir/pg_ctl' -D '$node2' -m immediate -w stop >/dev/null"), 0, 'worker 2 crashes (immediate stop)');
is(system("'$bindir/pg_ctl' -D '$node2' -w start -l '$node2.log' >/dev/null"), 0, 'worker 2 restarts');
$loads = load('after_crash', 40, 16000, $cfg);
push @logs, finish($loads, 'load after the crash');

# the rebalancer's way of moving everything off a node, then a short load
($rc, my $drain_out, $err) = run_sql($port,
	"SELECT citus_drain_node('127.0.0.1', $ports[2], shard_transfer_mode := 'block_writes')");
is($rc, 0, 'citus_drain_node moves every shard off worker 2') or diag($err);
is(query($port, "SELECT count(*) FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)"
	  . " WHERE n.nodeport = $ports[2] AND p.shardid IN (SELECT shardid FROM pg_dist_shard"
	  . "  WHERE logicalrelid = 'storagebox_data.claim'::regclass)"), '0', 'worker 2 holds no claim shard');
$loads = load('after_drain', 50, 8000, $cfg);
push @logs, finish($loads, 'load after the drain');

# --- the checker, on a copy of the cluster's rows in a plain server -------
my $copy = PostgreSQL::Test::Cluster->new('copy');
$copy->init;
$copy->start;
$copy->safe_psql('postgres', "CREATE EXTENSION $sb_extension");
my $n = 0;
sub copy_rows
{
	my ($select, $target) = @_;
	my $file = "$PostgreSQL::Test::Utils::tmp_check/copy_" . ++$n . '.dat';
	my $data = query($port, "COPY ($select) TO STDOUT");
	open(my $fh, '>', $file) or die "cannot write $file: $!";
	print $fh $data, (length $data ? "\n" : '');
	close($fh);
	$copy->safe_psql('postgres', "COPY $target FROM '$file'");
}
$copy->safe_psql('postgres', join('', map { "CREATE SEQUENCE storagebox_data.bank_cursor_$_;" }
		split /\n/, query($port, 'SELECT bank_id FROM storagebox_data.bank')));
copy_rows('SELECT scope_id, scope_name FROM storagebox_data.scope', 'storagebox_data.scope (scope_id, scope_name)');
copy_rows('SELECT bank_id, bank_name, scope_id, cursor_seq, items_total, created_at FROM storagebox_data.bank',
	'storagebox_data.bank (bank_id, bank_name, scope_id, cursor_seq, items_total, created_at)');
copy_rows('SELECT bank_id, slot, item FROM storagebox_data.item', 'storagebox_data.item (bank_id, slot, item)');
copy_rows('SELECT bank_id, slot, scope_id, dedup_id, item, held_since, hold_expires FROM storagebox_data.claim',
	'storagebox_data.claim (bank_id, slot, scope_id, dedup_id, item, held_since, hold_expires)');
# each node's watermark is a lower bound of its banks' settled claims; the
# copy gets the highest
my %settled;
for my $p (@ports)
{
	for my $line (split /\n/, query($p, 'SELECT bank_id, max(settled_upto) FROM storagebox_data.bank_progress GROUP BY 1'))
	{
		my ($bank, $upto) = split /\|/, $line;
		$settled{$bank} = $upto if !defined $settled{$bank} || $upto > $settled{$bank};
	}
}
$copy->safe_psql('postgres', 'DELETE FROM storagebox_data.bank_progress; INSERT INTO storagebox_data.bank_progress VALUES '
	  . join(',', map { "($_, $settled{$_})" } sort keys %settled));

my ($events, $incomplete) = StorageboxCheck::parse_logs(@logs);
is($incomplete, 0, 'every client log is complete');
my $result = StorageboxCheck::check(
	query  => sub { $copy->safe_psql('postgres', $_[0]) },
	events => $events);
diag('030_distributed: ' . StorageboxCheck::summary($result));
diag($_) for @{ $result->{messages} };
cmp_ok($result->{counts}{fetch_calls}, '>=', 64000, 'at least 64000 fetch calls logged');
cmp_ok($result->{counts}{null_answers}, '>', 0, 'the banks ran out during the run');
cmp_ok($result->{counts}{committed_answers_checked}, '>', 1000, 'more than 1000 committed answers checked');
is($result->{violations}, 0, 'checker: violations=0');

done_testing();
