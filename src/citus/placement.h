/*-------------------------------------------------------------------------
 *
 * placement.h
 *	  The placement seam: which relations hold a dedup scope's rows on this
 *	  node, or that a call must be routed to the node that holds them.
 *	  The bank and dispenser code asks only this; everything that depends
 *	  on Citus lives behind it, in src/citus/ (docs/design.md, "The
 *	  placement seam").
 *
 *	  Without Citus every answer is the local one: the local tables, no
 *	  routing, nothing refused, and each call costs a test of a flag.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_PLACEMENT_H
#define SB_PLACEMENT_H

#include "postgres.h"

#include "fmgr.h"

/* The relations the bank code reads and writes itself. */
typedef enum SbRelation
{
	SB_BANK,
	SB_BANK_NAME_KEY,
	SB_BANK_PKEY,
	SB_PROGRESS,
	SB_PROGRESS_UPTO,
	SB_ITEM,
	SB_ITEM_PKEY,
	SB_ITEM_UNIQUE,
	SB_CLAIM,
	SB_CLAIM_PKEY,
	SB_CLAIM_HOLDER_KEY,
	SB_CLAIM_FREE,
	SB_CLAIM_HELD,				/* 1.4; InvalidOid before */
	SB_NUM_RELS
} SbRelation;

/* The dedup scope of a bank, by name; false for an unknown bank. */
typedef bool (*SbBankScopeLookup) (text *bank, int32 *scope_id);

/* From _PG_init: the settings and hooks of the Citus side. */
extern void sb_placement_init(SbBankScopeLookup bank_scope);

/*
 * Raise 0A000 unless this node may answer: bank functions (fetch, hold,
 * confirm, lookup, release, the batch and the export), or the rest
 * (dispensers and bank management).  Call before anything is read.
 */
extern void sb_placement_require_bank_node(void);
extern void sb_placement_require_local_node(void);

/*
 * Make scope_id the scope whose rows the call reads and writes.  False:
 * they are on another node, and the call must be routed there
 * (sb_placement_route).  Always true without Citus.
 */
extern bool sb_placement_enter_scope(int32 scope_id);

/* The same, raising 0A000 where they are elsewhere (bank names the call's bank). */
extern void sb_placement_require_scope_here(int32 scope_id, const char *bank);

/* Whether sb_placement_enter_scope is needed at all (a distributed layout). */
extern bool sb_placement_is_distributed(void);

/* The relation that holds rel's rows for the current scope: local, or a shard. */
extern Oid	sb_placement_relation(SbRelation rel, Oid local);

/* The cursor sequence of a bank, given the OID stored in its row. */
extern Oid	sb_placement_cursor(int32 bank_id, Oid stored);

/*
 * Whether claim and item rows carry their scope for good: a released claim
 * keeps its scope_id, and a new item row is given one (the scope is the
 * column the rows are distributed by).
 */
extern bool sb_placement_rows_keep_scope(void);

/* Answer the call of fcinfo on the node that holds scope_id's rows. */
extern Datum sb_placement_route(FunctionCallInfo fcinfo, int32 scope_id);

/* Raise 55000 while the current scope's rows cannot take writes. */
extern void sb_placement_require_writable(void);

#endif							/* SB_PLACEMENT_H */
