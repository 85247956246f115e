/*-------------------------------------------------------------------------
 *
 * probe.c
 *	  Direct index probes of storagebox_data tables for the fetch path.
 *
 * Locking: AccessShareLock on the table and index for the scan, released
 * at end of transaction as for any read.  No scan here ever waits.
 *
 * The design, the lock protocol and the global lock order:
 * docs/design.md, "Direct probes and dirty-snapshot scans".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/nbtree.h"
#include "access/multixact.h"
#include "access/xact.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "executor/tuptable.h"
#include "storage/bufmgr.h"
#include "storage/procarray.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "bank/probe.h"
#include "citus/placement.h"
#include "pg_compat.h"

static const char *const relation_names[SB_NUM_RELS] = {
	[SB_BANK] = "bank",
	[SB_BANK_NAME_KEY] = "bank_name_key",
	[SB_BANK_PKEY] = "bank_pkey",
	[SB_PROGRESS] = "bank_progress",
	[SB_PROGRESS_UPTO] = "bank_progress_upto",
	[SB_ITEM] = "item",
	[SB_ITEM_PKEY] = "item_pkey",
	[SB_ITEM_UNIQUE] = "item_unique",
	[SB_CLAIM] = "claim",
	[SB_CLAIM_PKEY] = "claim_pkey",
	[SB_CLAIM_HOLDER_KEY] = "claim_holder_key",
	[SB_CLAIM_FREE] = "claim_free",
	[SB_CLAIM_HELD] = "claim_held",
};

/* Each column: its table, its name, and whether an older schema lacks it. */
static const struct
{
	SbRelation	rel;
	const char *name;
	bool		optional;
}			column_defs[SB_NUM_COLS] = {
	[SB_COL_BANK_BANK_ID] = {SB_BANK, "bank_id", false},
	[SB_COL_BANK_SCOPE_ID] = {SB_BANK, "scope_id", false},
	[SB_COL_BANK_CURSOR_SEQ] = {SB_BANK, "cursor_seq", false},
	[SB_COL_BANK_ITEMS_TOTAL] = {SB_BANK, "items_total", false},
	[SB_COL_BANK_NAME] = {SB_BANK, "bank_name", false},
	[SB_COL_PROGRESS_BANK_ID] = {SB_PROGRESS, "bank_id", false},
	[SB_COL_PROGRESS_SETTLED] = {SB_PROGRESS, "settled_upto", false},
	[SB_COL_ITEM_ITEM] = {SB_ITEM, "item", false},
	[SB_COL_CLAIM_BANK_ID] = {SB_CLAIM, "bank_id", false},
	[SB_COL_CLAIM_SLOT] = {SB_CLAIM, "slot", false},
	[SB_COL_CLAIM_SCOPE_ID] = {SB_CLAIM, "scope_id", false},
	[SB_COL_CLAIM_DEDUP_ID] = {SB_CLAIM, "dedup_id", false},
	[SB_COL_CLAIM_ITEM] = {SB_CLAIM, "item", true},
	[SB_COL_CLAIM_HELD_SINCE] = {SB_CLAIM, "held_since", true},
	[SB_COL_CLAIM_HOLD_EXPIRES] = {SB_CLAIM, "hold_expires", true},
};

static Oid	data_namespace;
static Oid	data_owner;
static Oid	relation_oids[SB_NUM_RELS];
static AttrNumber column_attnums[SB_NUM_COLS];
static bool relation_oids_valid = false;
static bool callback_registered = false;

/* Forget the OIDs when one of our relations (or all relations) changes. */
static void
relation_oids_callback(Datum arg, Oid relid)
{
	if (!relation_oids_valid)
		return;
	if (!OidIsValid(relid))
	{
		relation_oids_valid = false;
		return;
	}
	for (int i = 0; i < SB_NUM_RELS; i++)
		if (relation_oids[i] == relid)
			relation_oids_valid = false;
}

static Oid
relation_owner(Oid relid)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}

/* Look up the OIDs and column numbers, if an invalidation forgot them. */
static void
ensure_relation_oids(void)
{
	if (!relation_oids_valid)
	{
		Oid			nsp = get_namespace_oid("storagebox_data", false);

		data_namespace = nsp;
		if (!callback_registered)
		{
			CacheRegisterRelcacheCallback(relation_oids_callback, (Datum) 0);
			callback_registered = true;
		}
		for (int i = 0; i < SB_NUM_RELS; i++)
		{
			relation_oids[i] = get_relname_relid(relation_names[i], nsp);
			/* before ALTER EXTENSION UPDATE to 1.2: the index of 1.0 */
			if (!OidIsValid(relation_oids[i]) && i == SB_PROGRESS_UPTO)
				relation_oids[i] = get_relname_relid("bank_progress_pkey", nsp);
			/* before ALTER EXTENSION UPDATE to 1.4 there are no holds */
			if (!OidIsValid(relation_oids[i]) && i != SB_CLAIM_HELD)
				elog(ERROR, "storagebox_data.%s is missing", relation_names[i]);
		}
		for (int i = 0; i < SB_NUM_COLS; i++)
		{
			column_attnums[i] = get_attnum(relation_oids[column_defs[i].rel],
										   column_defs[i].name);
			if (column_attnums[i] == InvalidAttrNumber && !column_defs[i].optional)
				elog(ERROR, "storagebox_data.%s.%s is missing",
					 relation_names[column_defs[i].rel], column_defs[i].name);
		}
		data_owner = relation_owner(relation_oids[SB_CLAIM]);
		relation_oids_valid = true;
	}
}

/*
 * The OID of one of the storagebox_data relations: in the Citus layout,
 * of the shard that stands for it (the placement seam).
 */
Oid
sb_relation_oid(SbRelation rel)
{
	ensure_relation_oids();
	return sb_placement_relation(rel, relation_oids[rel]);
}

/* The attribute number of a column, or InvalidAttrNumber (optional ones). */
AttrNumber
sb_column(SbColumn col)
{
	ensure_relation_oids();
	return column_attnums[col];
}

/*
 * The role that owns the storagebox_data tables: internal statements run as
 * that role, never as the caller (see sb_run_plan_as_owner in bank/owner_sql.c).
 */
Oid
sb_data_owner(void)
{
	ensure_relation_oids();
	return data_owner;
}

/*
 * Whether the schema has holds (1.4): before ALTER EXTENSION UPDATE the
 * library runs an older schema, where every claim is permanent.
 */
bool
sb_schema_has_holds(void)
{
	return OidIsValid(sb_relation_oid(SB_CLAIM_HELD)) &&
		sb_column(SB_COL_CLAIM_HOLD_EXPIRES) != InvalidAttrNumber &&
		sb_column(SB_COL_CLAIM_HELD_SINCE) != InvalidAttrNumber;
}

/* The OID of the storagebox_data schema. */
Oid
sb_data_namespace(void)
{
	ensure_relation_oids();
	return data_namespace;
}

/*
 * Open a probe of table rel through its index idx with nkeys equality keys
 * (a prefix of the index columns), under snapshot, to be run any number of
 * times with sb_probe_scan_find: a batch pays for opening the relations and
 * starting the scan once.  A dirty snapshot is reported into by every
 * find; re-initialize it before each.
 */
void
sb_probe_scan_open(SbProbeScan *ps, SbRelation rel, SbRelation idx, int nkeys,
				   Snapshot snapshot)
{
	Assert(nkeys <= SB_PROBE_MAX_KEYS);
	ps->cxt = CurrentMemoryContext;
	ps->heap = table_open(sb_relation_oid(rel), AccessShareLock);
	ps->index = index_open(sb_relation_oid(idx), AccessShareLock);
	ps->nkeys = nkeys;
	ps->slot = table_slot_create(ps->heap, NULL);
	ps->scan = sb_index_beginscan(ps->heap, ps->index, snapshot, nkeys, 0);
}

/*
 * Find the first row, in index order dir, whose index entry matches keys,
 * visible to the probe's snapshot.  On success copies the attributes
 * attnums[0..natts-1] into values/isnull (by-reference values are copied
 * into CurrentMemoryContext) and returns true.
 */
bool
sb_probe_scan_find(SbProbeScan *ps, const SbProbeKey *keys, ScanDirection dir,
				   int natts, const AttrNumber *attnums, Datum *values, bool *isnull)
{
	ScanKeyData scankeys[SB_PROBE_MAX_KEYS];
	bool		found;
	MemoryContext caller_cxt;

	/*
	 * The scan allocates some of its state as it goes (a btree scan its
	 * array of killed items): in the context it was opened in, which
	 * lives as long as the scan, not in the caller's, which a batch resets
	 * between probes.
	 */
	caller_cxt = MemoryContextSwitchTo(ps->cxt);
	for (int i = 0; i < ps->nkeys; i++)
		ScanKeyEntryInitialize(&scankeys[i], 0, i + 1, BTEqualStrategyNumber,
							   InvalidOid, ps->index->rd_indcollation[i],
							   keys[i].eqproc, keys[i].value);
	index_rescan(ps->scan, scankeys, ps->nkeys, NULL, 0);
	found = index_getnext_slot(ps->scan, dir, ps->slot);
	MemoryContextSwitchTo(caller_cxt);
	if (found)
	{
		TupleDesc	desc = RelationGetDescr(ps->heap);

		for (int i = 0; i < natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, attnums[i] - 1);
			Datum		value = slot_getattr(ps->slot, attnums[i], &isnull[i]);

			values[i] = isnull[i] ? (Datum) 0 :
				datumCopy(value, att->attbyval, att->attlen);
		}
	}
	ExecClearTuple(ps->slot);
	return found;
}

void
sb_probe_scan_close(SbProbeScan *ps)
{
	index_endscan(ps->scan);
	ExecDropSingleTupleTableSlot(ps->slot);
	index_close(ps->index, NoLock);
	table_close(ps->heap, NoLock);
}

/*
 * One probe: the first row, in index order dir, of table rel whose index
 * idx matches the nkeys equality keys, visible to snapshot; see
 * sb_probe_scan_find.
 */
bool
sb_probe(SbRelation rel, SbRelation idx, int nkeys, const SbProbeKey *keys,
		 ScanDirection dir, Snapshot snapshot, int natts,
		 const AttrNumber *attnums, Datum *values, bool *isnull)
{
	SbProbeScan ps;
	bool		found;

	sb_probe_scan_open(&ps, rel, idx, nkeys, snapshot);
	found = sb_probe_scan_find(&ps, keys, dir, natts, attnums, values, isnull);
	sb_probe_scan_close(&ps);
	return found;
}

/*
 * Start a dirty-snapshot scan of bank_id's claim rows with slot >=
 * first_slot, in slot order, through idx (the primary key, or the partial
 * index of free rows; both lead with bank_id, slot); or all of bank_id's
 * holds through the partial index of holds, in order of expiry (first_slot
 * is then ignored).
 */
void
sb_claim_scan_begin(SbClaimScan *cs, SbRelation idx, int32 bank_id,
					int64 first_slot)
{
	ScanKeyData keys[2];
	int			nkeys = idx == SB_CLAIM_HELD ? 1 : 2;

	Assert(idx == SB_CLAIM_PKEY || idx == SB_CLAIM_FREE || idx == SB_CLAIM_HELD);
	cs->heap = table_open(sb_relation_oid(SB_CLAIM), AccessShareLock);
	cs->index = index_open(sb_relation_oid(idx), AccessShareLock);
	ScanKeyEntryInitialize(&keys[0], 0, 1, BTEqualStrategyNumber, InvalidOid,
						   InvalidOid, F_INT4EQ, Int32GetDatum(bank_id));
	ScanKeyEntryInitialize(&keys[1], 0, 2, BTGreaterEqualStrategyNumber,
						   InvalidOid, InvalidOid, F_INT8GE,
						   Int64GetDatum(first_slot));
	InitDirtySnapshot(cs->dirty);
	cs->slot = table_slot_create(cs->heap, NULL);
	cs->scan = sb_index_beginscan(cs->heap, cs->index, &cs->dirty, nkeys, 0);
	index_rescan(cs->scan, keys, nkeys, NULL, 0);
}

/*
 * The next row version of the scan, or false at the end.  Every version
 * that is committed, or being inserted or deleted by any transaction, is
 * returned; versions that are dead for everybody are not.
 */
bool
sb_claim_scan_next(SbClaimScan *cs, SbClaimVersion *version)
{
	HeapTuple	tuple;
	bool		isnull;

	if (!index_getnext_slot(cs->scan, ForwardScanDirection, cs->slot))
		return false;

	/* HeapTupleSatisfiesDirty leaves the in-progress xids in the snapshot */
	version->inserting = cs->dirty.xmin;
	version->deleting = cs->dirty.xmax;
	version->spec_token = cs->dirty.speculativeToken;
	version->slot = DatumGetInt64(slot_getattr(cs->slot, sb_column(SB_COL_CLAIM_SLOT),
											  &isnull));
	(void) slot_getattr(cs->slot, sb_column(SB_COL_CLAIM_DEDUP_ID), &version->free);
	tuple = ExecFetchSlotHeapTuple(cs->slot, false, NULL);
	version->own = TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tuple->t_data));
	return true;
}

/*
 * The transaction, other than ours and still running, that holds a row lock
 * on the version sb_claim_scan_next returned last, without having changed
 * it (FOR UPDATE and the like); InvalidTransactionId if there is none.  A
 * dirty read reports changes in flight (SbClaimVersion.deleting) but not
 * such locks; a takeover holds one between picking its row (FOR UPDATE SKIP
 * LOCKED) and updating it.  Reads the tuple header under a share lock on
 * its buffer.  Of several lockers (a MultiXact), the first one running.
 */
TransactionId
sb_claim_scan_locker(SbClaimScan *cs)
{
	BufferHeapTupleTableSlot *bslot = (BufferHeapTupleTableSlot *) cs->slot;
	HeapTupleHeader header;
	TransactionId xmax;
	uint16		infomask;
	TransactionId locker = InvalidTransactionId;

	Assert(TTS_IS_BUFFERTUPLE(cs->slot));
	Assert(BufferIsValid(bslot->buffer));
	LockBuffer(bslot->buffer, BUFFER_LOCK_SHARE);
	header = bslot->base.tuple->t_data;
	infomask = header->t_infomask;
	xmax = HeapTupleHeaderGetRawXmax(header);
	LockBuffer(bslot->buffer, BUFFER_LOCK_UNLOCK);

	if ((infomask & HEAP_XMAX_INVALID) || !HEAP_XMAX_IS_LOCKED_ONLY(infomask))
		return InvalidTransactionId;
	if (infomask & HEAP_XMAX_IS_MULTI)
	{
		MultiXactMember *members;
		int			n = GetMultiXactIdMembers(xmax, &members, false, true);

		for (int i = 0; i < n && !TransactionIdIsValid(locker); i++)
			if (!TransactionIdIsCurrentTransactionId(members[i].xid) &&
				TransactionIdIsInProgress(members[i].xid))
				locker = members[i].xid;
		if (n > 0)
			pfree(members);
		return locker;
	}
	if (!TransactionIdIsCurrentTransactionId(xmax) &&
		TransactionIdIsInProgress(xmax))
		locker = xmax;
	return locker;
}

void
sb_claim_scan_end(SbClaimScan *cs)
{
	index_endscan(cs->scan);
	ExecDropSingleTupleTableSlot(cs->slot);
	index_close(cs->index, NoLock);
	table_close(cs->heap, NoLock);
}
