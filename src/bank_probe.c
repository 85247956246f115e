/*-------------------------------------------------------------------------
 *
 * bank_probe.c
 *	  Direct index probes of storagebox_data tables for the fetch path.
 *
 * A repeat fetch, a sold-out answer and the checks before a claim are each
 * a few unique-index lookups.  Running them through SPI costs an executor
 * start-up and shutdown per query, several times the lookup itself, so the
 * fetch path reads these rows the way PostgreSQL's own catalog code does:
 * index_beginscan on the unique index, one index_getnext_slot, attributes
 * copied out.  Visibility is decided by the snapshot the caller passes
 * (normally the active snapshot).  Writes still go through SPI, where
 * INSERT ... ON CONFLICT gives the arbitration the guarantees rest on.
 *
 * The OIDs of the tables and indexes are looked up by name once per backend
 * and forgotten on any relcache invalidation of one of them (DROP EXTENSION,
 * a new CREATE EXTENSION), so a backend survives the extension being
 * re-created.
 *
 * Locking: AccessShareLock on the table and index for the scan, released
 * at end of transaction as for any read.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "executor/tuptable.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "bank_probe.h"

static const char *const relation_names[SB_NUM_RELS] = {
	[SB_BANK] = "bank",
	[SB_BANK_NAME_KEY] = "bank_name_key",
	[SB_BANK_PKEY] = "bank_pkey",
	[SB_PROGRESS] = "bank_progress",
	[SB_PROGRESS_PKEY] = "bank_progress_pkey",
	[SB_ITEM] = "item",
	[SB_ITEM_PKEY] = "item_pkey",
	[SB_ITEM_UNIQUE] = "item_unique",
	[SB_CLAIM] = "claim",
	[SB_CLAIM_HOLDER_KEY] = "claim_holder_key",
	[SB_CLAIM_FREE] = "claim_free",
};

static Oid	data_namespace;
static Oid	relation_oids[SB_NUM_RELS];
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

/* The OID of one of the storagebox_data relations. */
Oid
sb_relation_oid(SbRelation rel)
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
			if (!OidIsValid(relation_oids[i]))
				elog(ERROR, "storagebox_data.%s is missing", relation_names[i]);
		}
		relation_oids_valid = true;
	}
	return relation_oids[rel];
}

/* The OID of the storagebox_data schema. */
Oid
sb_data_namespace(void)
{
	(void) sb_relation_oid(SB_BANK);
	return data_namespace;
}

/*
 * Find the first row, in index order dir, of table rel whose index idx
 * matches the nkeys equality keys (a prefix of the index columns), visible
 * to snapshot.  On success copies the attributes
 * attnums[0..natts-1] into values/isnull (by-reference values are copied
 * into CurrentMemoryContext) and returns true.
 */
bool
sb_probe(SbRelation rel, SbRelation idx, int nkeys, const SbProbeKey *keys,
		 ScanDirection dir, Snapshot snapshot, int natts,
		 const AttrNumber *attnums, Datum *values, bool *isnull)
{
	Relation	heap = table_open(sb_relation_oid(rel), AccessShareLock);
	Relation	index = index_open(sb_relation_oid(idx), AccessShareLock);
	ScanKeyData scankeys[SB_PROBE_MAX_KEYS];
	IndexScanDesc scan;
	TupleTableSlot *slot;
	bool		found;

	Assert(nkeys <= SB_PROBE_MAX_KEYS);
	for (int i = 0; i < nkeys; i++)
		ScanKeyEntryInitialize(&scankeys[i], 0, i + 1, BTEqualStrategyNumber,
							   InvalidOid, index->rd_indcollation[i],
							   keys[i].eqproc, keys[i].value);

	slot = table_slot_create(heap, NULL);
	scan = index_beginscan(heap, index, snapshot, nkeys, 0);
	index_rescan(scan, scankeys, nkeys, NULL, 0);
	found = index_getnext_slot(scan, dir, slot);
	if (found)
	{
		TupleDesc	desc = RelationGetDescr(heap);

		for (int i = 0; i < natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, attnums[i] - 1);
			Datum		value = slot_getattr(slot, attnums[i], &isnull[i]);

			values[i] = isnull[i] ? (Datum) 0 :
				datumCopy(value, att->attbyval, att->attlen);
		}
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, NoLock);
	table_close(heap, NoLock);
	return found;
}
