
# Queries that describe what a database holds, for comparing two copies
# (dump/restore, primary/standby).
#
# Copyright (c) storagebox authors; PostgreSQL License.

package StorageboxCompare;

use strict;
use warnings;

our %QUERIES = (
	banks => "SELECT bank, coalesce(dedup_scope, '-'), items_total, items_handed_out,"
	  . " items_left FROM sb_banks ORDER BY bank",
	holders => "SELECT b.bank_name, c.dedup_id, i.item FROM storagebox_data.claim c"
	  . " JOIN storagebox_data.bank b USING (bank_id)"
	  . " JOIN storagebox_data.item i USING (bank_id, slot)"
	  . " WHERE c.dedup_id IS NOT NULL ORDER BY 1, 2",
	items => "SELECT b.bank_name, count(*), min(i.item), max(i.item)"
	  . " FROM storagebox_data.item i JOIN storagebox_data.bank b USING (bank_id)"
	  . " GROUP BY 1 ORDER BY 1",
	dispensers => "SELECT dispenser, direction, min_value, max_value, next_value"
	  . " FROM sb_dispensers ORDER BY dispenser",
);

# { name => psql output } for a node and database.
sub snapshot
{
	my ($node, $db) = @_;
	return { map { $_ => $node->safe_psql($db, $QUERIES{$_}) } keys %QUERIES };
}

1;
