/*-------------------------------------------------------------------------
 *
 * export.c
 *	  sb_holders(bank): who holds which item of a bank, for export.
 *
 * Lock order: AccessShareLock on the claim table, its primary key and the
 * item table, as any read; nothing is waited for.
 *
 * The design, the lock protocol and the global lock order:
 * docs/design.md, "The holder export".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "bank/cache.h"
#include "bank/hold_expiry.h"
#include "bank/holder_read.h"
#include "bank/probe.h"
#include "common/common.h"

PG_FUNCTION_INFO_V1(sb_holders);

/* The columns sb_holders reads, in the order of these attnums. */
enum
{
	COL_SLOT,
	COL_DEDUP_ID,
	COL_ITEM,
	COL_HELD_SINCE,
	COL_HOLD_EXPIRES,
	NUM_COLS
};

/* Append the holders of bank_id, as snap sees them, to store. */
static void
put_holders(int32 bank_id, Snapshot snap, Tuplestorestate *store, TupleDesc desc)
{
	Relation	heap = table_open(sb_relation_oid(SB_CLAIM), AccessShareLock);
	Relation	index = index_open(sb_relation_oid(SB_CLAIM_PKEY), AccessShareLock);
	AttrNumber	atts[NUM_COLS] = {
		[COL_SLOT] = sb_column(SB_COL_CLAIM_SLOT),
		[COL_DEDUP_ID] = sb_column(SB_COL_CLAIM_DEDUP_ID),
		[COL_ITEM] = sb_column(SB_COL_CLAIM_ITEM),
		[COL_HELD_SINCE] = sb_column(SB_COL_CLAIM_HELD_SINCE),
		[COL_HOLD_EXPIRES] = sb_column(SB_COL_CLAIM_HOLD_EXPIRES),
	};
	MemoryContext per_row = AllocSetContextCreate(CurrentMemoryContext,
												  "storagebox holders row",
												  ALLOCSET_SMALL_SIZES);
	ScanKeyData key;
	IndexScanDesc scan;
	TupleTableSlot *slot = table_slot_create(heap, NULL);
	TimestampTz now = GetCurrentTimestamp();	/* one instant for the export */

	ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid,
						   InvalidOid, F_INT4EQ, Int32GetDatum(bank_id));
	scan = sb_index_beginscan(heap, index, snap, 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		MemoryContext old;
		Datum		values[4];
		bool		nulls[4] = {false, false, true, true};
		bool		isnull;

		CHECK_FOR_INTERRUPTS();
		values[0] = slot_getattr(slot, atts[COL_DEDUP_ID], &isnull);
		if (isnull)
			continue;			/* released */
		if (atts[COL_HOLD_EXPIRES] != InvalidAttrNumber)
		{
			values[3] = slot_getattr(slot, atts[COL_HOLD_EXPIRES], &nulls[3]);
			if (!nulls[3] && DatumGetTimestampTz(values[3]) <= now)
				continue;		/* a hold past its expiry holds nothing */
			values[2] = slot_getattr(slot, atts[COL_HELD_SINCE], &nulls[2]);
		}
		old = MemoryContextSwitchTo(per_row);
		if (atts[COL_ITEM] != InvalidAttrNumber)
			values[1] = slot_getattr(slot, atts[COL_ITEM], &isnull);
		else
			isnull = true;
		if (isnull)				/* a row written before 1.3 */
			values[1] = sb_item_in_slot(bank_id,
										DatumGetInt64(slot_getattr(slot, atts[COL_SLOT], &isnull)),
										snap);
		tuplestore_putvalues(store, desc, values, nulls);
		MemoryContextSwitchTo(old);
		MemoryContextReset(per_row);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, NoLock);
	table_close(heap, NoLock);
	MemoryContextDelete(per_row);
}

/*
 * sb_holders(bank text) returns table (dedup_id text, item text,
 *		held_since timestamptz, hold_expires timestamptz)
 */
Datum
sb_holders(PG_FUNCTION_ARGS)
{
	text	   *bank;
	BankCacheEntry *entry;
	TupleDesc	desc;
	Tuplestorestate *store;

	sb_require_arg("bank", PG_ARGISNULL(0));
	bank = PG_GETARG_TEXT_PP(0);
	sb_require_text("bank", bank, SB_NAME_MAX_BYTES);
	entry = sb_find_bank(bank, false);
	sb_require_bank_right(entry, SB_RIGHT_READ);

	store = sb_begin_set_result(fcinfo, &desc);

	PushActiveSnapshot(GetTransactionSnapshot());
	put_holders(entry->bank_id, GetActiveSnapshot(), store, desc);
	PopActiveSnapshot();
	return (Datum) 0;
}
