/*-------------------------------------------------------------------------
 *
 * bank_probe.h
 *	  Direct index probes of storagebox_data tables (bank_probe.c).
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

/* The relations the fetch path reads directly. */
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
	SB_NUM_RELS
} SbRelation;

/* Attribute numbers, as created by the install script. */
#define Anum_bank_bank_id		1
#define Anum_bank_scope_id		3
#define Anum_bank_cursor_seq	4
#define Anum_bank_items_total	5
#define Anum_progress_settled	2
#define Anum_item_item			3
#define Anum_claim_bank_id		1
#define Anum_claim_slot			2
#define Anum_claim_dedup_id		4

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
extern Oid	sb_data_namespace(void);
extern bool sb_probe(SbRelation rel, SbRelation idx, int nkeys,
					 const SbProbeKey *keys, ScanDirection dir,
					 Snapshot snapshot, int natts,
					 const AttrNumber *attnums, Datum *values, bool *isnull);

extern void sb_claim_scan_begin(SbClaimScan *cs, SbRelation idx, int32 bank_id,
								int64 first_slot);
extern bool sb_claim_scan_next(SbClaimScan *cs, SbClaimVersion *version);
extern void sb_claim_scan_end(SbClaimScan *cs);

#endif							/* BANK_PROBE_H */
