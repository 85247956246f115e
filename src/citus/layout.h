/*-------------------------------------------------------------------------
 *
 * layout.h
 *	  storagebox's distributed layout on Citus: which shard of a dedup
 *	  scope is where, and calls routed to it (layout.c).  Reached only
 *	  through the placement seam (placement.h) and delegate.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_CITUS_LAYOUT_H
#define SB_CITUS_LAYOUT_H

#include "postgres.h"

#include "fmgr.h"

#include "citus/placement.h"

/* Whether the storagebox tables in Citus metadata form the supported layout. */
extern bool sb_layout_matches(void);

/* Forget what was read of Citus metadata (any relcache invalidation). */
extern void sb_layout_forget(void);

/* The relation that stands for rel in the layout: a shard, or shell itself. */
extern Oid	sb_layout_relation(SbRelation rel, Oid shell);

/* The bank's cursor sequence on this node. */
extern Oid	sb_layout_cursor(int32 bank_id);

/*
 * Make scope_id the scope whose shards the fetch path reads and writes.
 * Returns false when they are not placed on this node.  Where the call
 * arrived (not at the far end of a routed call), the shard lock that keeps
 * a move of the scope out is taken either way and held to the end of the
 * transaction.
 */
extern bool sb_layout_enter_scope(int32 scope_id);

/*
 * Answer a call whose dedup scope is placed on another node by running it
 * there.  Raises an error where the call cannot go further (it was routed
 * here already).
 */
extern Datum sb_layout_route(FunctionCallInfo fcinfo, int32 scope_id);

/* Refuse to write while a non-blocking move copies the current scope. */
extern void sb_layout_require_no_logical_move(void);

#endif							/* SB_CITUS_LAYOUT_H */
