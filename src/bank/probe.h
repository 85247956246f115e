/*-------------------------------------------------------------------------
 *
 * probe.h
 *	  Direct index probes of storagebox_data tables (bank/probe.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef BANK_PROBE_H
#define BANK_PROBE_H

#include "postgres.h"

#include "access/attnum.h"
#include "access/sdir.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"

#include "citus/placement.h"


/*
 * The columns the C code reads or writes.  Their attribute numbers are
 * looked up by name in the catalog, together with the relation OIDs, so
 * the C code never depends on the column order of the install scripts.
 * Columns marked optional in bank/probe.c appeared in a later version and
 * are InvalidAttrNumber until ALTER EXTENSION UPDATE has run.
 */
typedef enum SbColumn
{
	SB_COL_BANK_BANK_ID,
	SB_COL_BANK_SCOPE_ID,
	SB_COL_BANK_CURSOR_SEQ,
	SB_COL_BANK_ITEMS_TOTAL,
	SB_COL_BANK_NAME,
	SB_COL_PROGRESS_BANK_ID,
	SB_COL_PROGRESS_SETTLED,
	SB_COL_ITEM_ITEM,
	SB_COL_CLAIM_BANK_ID,
	SB_COL_CLAIM_SLOT,
	SB_COL_CLAIM_SCOPE_ID,
	SB_COL_CLAIM_DEDUP_ID,
	SB_COL_CLAIM_ITEM,			/* 1.3 */
	SB_COL_CLAIM_HELD_SINCE,	/* 1.4 */
	SB_COL_CLAIM_HOLD_EXPIRES,	/* 1.4 */
	SB_NUM_COLS
} SbColumn;

#define SB_PROBE_MAX_KEYS	2

/* One equality key of a probe: the operator's function and the value. */
typedef struct SbProbeKey
{
	RegProcedure eqproc;
	Datum		value;
} SbProbeKey;

/*
 * One version of a claim row, as a dirty-snapshot scan sees it: committed
 * rows, and rows that another transaction is inserting or deleting right
 * now.  Rows our own transaction inserted are seen too (own = true).
 */
typedef struct SbClaimVersion
{
	int64		slot;
	bool		free;			/* dedup_id IS NULL: a released item */
	bool		own;			/* inserted by our own transaction */
	TransactionId inserting;	/* another transaction inserting it, or invalid */
	uint32		spec_token;		/* its speculative-insertion token, if any */
	TransactionId deleting;		/* another transaction deleting or updating it */
} SbClaimVersion;

/* A dirty-snapshot range scan of one bank's claim rows, in slot order. */
typedef struct SbClaimScan
{
	Relation	heap;
	Relation	index;
	struct IndexScanDescData *scan;
	struct TupleTableSlot *slot;
	SnapshotData dirty;
} SbClaimScan;

extern Oid	sb_relation_oid(SbRelation rel);
extern AttrNumber sb_column(SbColumn col);
extern Oid	sb_data_owner(void);
extern bool sb_schema_has_holds(void);
extern Oid	sb_data_namespace(void);
/* A probe opened once and run many times (a batch). */
typedef struct SbProbeScan
{
	Relation	heap;
	Relation	index;
	struct IndexScanDescData *scan;
	struct TupleTableSlot *slot;
	int			nkeys;
	MemoryContext cxt;			/* where it was opened */
} SbProbeScan;

extern void sb_probe_scan_open(SbProbeScan *ps, SbRelation rel, SbRelation idx,
							   int nkeys, Snapshot snapshot);
extern bool sb_probe_scan_find(SbProbeScan *ps, const SbProbeKey *keys,
							   ScanDirection dir, int natts,
							   const AttrNumber *attnums, Datum *values,
							   bool *isnull);
extern void sb_probe_scan_close(SbProbeScan *ps);
extern bool sb_probe(SbRelation rel, SbRelation idx, int nkeys,
					 const SbProbeKey *keys, ScanDirection dir,
					 Snapshot snapshot, int natts,
					 const AttrNumber *attnums, Datum *values, bool *isnull);

extern void sb_claim_scan_begin(SbClaimScan *cs, SbRelation idx, int32 bank_id,
								int64 first_slot);
extern bool sb_claim_scan_next(SbClaimScan *cs, SbClaimVersion *version);
extern TransactionId sb_claim_scan_locker(SbClaimScan *cs);
extern void sb_claim_scan_end(SbClaimScan *cs);

#endif							/* BANK_PROBE_H */
