/*-------------------------------------------------------------------------
 *
 * citus_direct.h
 *	  Direct calls: a whole-statement call on the coordinator sent over
 *	  storagebox's own connection to the node of its dedup scope
 *	  (citus_direct.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CITUS_DIRECT_H
#define CITUS_DIRECT_H

#include "postgres.h"

#include "fmgr.h"
#include "nodes/plannodes.h"

/* From _PG_init: the storagebox.citus_direct setting and the executor hooks. */
extern void sb_direct_init(void);

/*
 * Whether a whole-statement call being planned now is to be made direct:
 * the setting is on, and the statement is a client's own, outside a
 * transaction block.
 */
extern bool sb_direct_wanted(void);

/* Mark plan as one whose call may be made direct when it runs. */
extern void sb_direct_mark_plan(PlannedStmt *plan);

/*
 * Whether the call now being routed is the whole of a marked plan that the
 * executor runs for a client at the top level, outside a transaction block.
 */
extern bool sb_direct_allowed(void);

/*
 * Run the call of fcinfo on the node host:port (Citus's nodeid node_id)
 * over a direct connection,
 * setting *result (and fcinfo->isnull).  Returns false, having sent
 * nothing, when no connection to that node can be had: the caller routes
 * the call as it would have.  Raises the node's error as its own.
 */
extern bool sb_direct_call(FunctionCallInfo fcinfo, const char *host, int port,
						   int32 node_id, Datum *result);

#endif							/* CITUS_DIRECT_H */
