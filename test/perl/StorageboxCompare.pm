
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
	# 1.4: holds (held_since, hold_expires of every claim row that has
	# them) and the per-bank rights (the ACL of each bank's cursor)
	holds => "SELECT b.bank_name, c.slot, coalesce(c.dedup_id, '-'), c.held_since, c.hold_expires"
	  . " FROM storagebox_data.claim c JOIN storagebox_data.bank b USING (bank_id)"
	  . " WHERE c.held_since IS NOT NULL OR c.hold_expires IS NOT NULL ORDER BY 1, 2",
	bank_rights => "SELECT b.bank_name, coalesce(s.relacl::text, '-')"
	  . " FROM storagebox_data.bank b JOIN pg_class s ON s.oid = b.cursor_seq ORDER BY 1",
	banks_held => "SELECT bank, items_held FROM sb_banks ORDER BY bank",
);

# { name => psql output } for a node and database.
sub snapshot
{
	my ($node, $db) = @_;
	return { map { $_ => $node->safe_psql($db, $QUERIES{$_}) } keys %QUERIES };
}

1;
