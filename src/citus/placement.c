/*-------------------------------------------------------------------------
 *
 * placement.c
 *	  The placement seam (placement.h): the local answer, or Citus's
 *	  layout (layout.c) where guard.c finds it.
 *
 * Each function answers the plain server with one test of guard.c's
 * cached node kind, and asks layout.c only in the distributed layout.
 * Design, lock order and the deadlock and liveness arguments:
 * docs/design.md.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/lsyscache.h"

#include "citus/delegate.h"
#include "citus/guard.h"
#include "citus/layout.h"
#include "citus/placement.h"

void
sb_placement_init(SbBankScopeLookup bank_scope)
{
	sb_delegation_init(bank_scope);
}

void
sb_placement_require_bank_node(void)
{
	sb_require_bank_node();
}

void
sb_placement_require_local_node(void)
{
	sb_require_local_node();
}

bool
sb_placement_is_distributed(void)
{
	return sb_in_citus_layout();
}

bool
sb_placement_enter_scope(int32 scope_id)
{
	if (!sb_in_citus_layout())
		return true;
	return sb_layout_enter_scope(scope_id);
}

void
sb_placement_require_scope_here(int32 scope_id, const char *bank)
{
	if (!sb_in_citus_layout() || sb_layout_enter_scope(scope_id))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("bank \"%s\" is served by another node of the Citus cluster", bank),
			 errdetail("This function runs only on the node that holds the shard of the bank's dedup scope."),
			 errhint("Call it on that node: citus_shards lists where the shards of storagebox_data.claim are.")));
}

Oid
sb_placement_relation(SbRelation rel, Oid local)
{
	if (!sb_in_citus_layout())
		return local;
	return sb_layout_relation(rel, local);
}

Oid
sb_placement_cursor(int32 bank_id, Oid stored)
{
	if (!sb_in_citus_layout())
		return stored;
	return sb_layout_cursor(bank_id);
}

bool
sb_placement_rows_keep_scope(void)
{
	return sb_in_citus_layout();
}

Datum
sb_placement_route(FunctionCallInfo fcinfo, int32 scope_id)
{
	return sb_layout_route(fcinfo, scope_id);
}

void
sb_placement_require_writable(void)
{
	if (sb_in_citus_layout())
		sb_layout_require_no_logical_move();
}
