/*-------------------------------------------------------------------------
 *
 * holder_read.c
 *	  Reads of what a dedup_id holds in a scope, and of the item in a slot.
 *
 * Design, lock order and the deadlock and liveness arguments:
 * docs/design.md.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "executor/tuptable.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "bank/hold_expiry.h"
#include "bank/holder_read.h"
#include "bank/probe.h"

/*
 * The item in slot of bank_id as snap sees it, copied into the current
 * memory context.  The slot must have an item.
 */
Datum
sb_item_in_slot(int32 bank_id, int64 slot, Snapshot snap)
{
	SbProbeKey	keys[2] = {{F_INT4EQ, Int32GetDatum(bank_id)},
	{F_INT8EQ, Int64GetDatum(slot)}};
	AttrNumber	att = sb_column(SB_COL_ITEM_ITEM);
	Datum		item = (Datum) 0;
	bool		isnull;

	if (!sb_probe(SB_ITEM, SB_ITEM_PKEY, 2, keys, ForwardScanDirection,
				  snap, 1, &att, &item, &isnull))
		elog(ERROR, "storagebox bank %d has no item in slot " INT64_FORMAT,
			 bank_id, slot);
	return item;
}

/*
 * The item dedup_id holds in scope_id as snap sees it, or (Datum) 0; copied
 * into the current memory context.  A hold past its expiry holds nothing.
 */
Datum
sb_held_item(int32 scope_id, Datum dedup_id, Snapshot snap)
{
	SbHolding	h;

	sb_read_holding(scope_id, dedup_id, snap, &h);
	return h.item;
}

/*
 * What dedup_id holds in scope_id as snap sees it: one probe of the holder
 * key, whose claim row carries the item (rows written before 1.3 may not,
 * and then the item table is read too).  With a dirty snapshot, in_flight
 * tells a row still being inserted by another transaction (a claim that
 * may yet roll back, so not an answer), and changer a transaction that is
 * updating or deleting the row.
 */
void
sb_read_holding(int32 scope_id, Datum dedup_id, Snapshot snap, SbHolding *h)
{
	sb_read_holding_with(NULL, scope_id, dedup_id, snap, h);
}

/*
 * sb_read_holding through ps, a probe of the holder key opened under snap
 * (a batch), or a one-time probe if ps is NULL.
 */
void
sb_read_holding_with(SbProbeScan *ps, int32 scope_id, Datum dedup_id,
					 Snapshot snap, SbHolding *h)
{
	SbProbeKey	keys[2] = {{F_INT4EQ, Int32GetDatum(scope_id)},
	{F_TEXTEQ, dedup_id}};
	AttrNumber	atts[4] = {sb_column(SB_COL_CLAIM_BANK_ID),
		sb_column(SB_COL_CLAIM_SLOT), sb_column(SB_COL_CLAIM_ITEM),
	sb_column(SB_COL_CLAIM_HOLD_EXPIRES)};
	int			natts = 2;
	Datum		claim[4];
	bool		isnull[4] = {false, false, true, true};

	memset(h, 0, sizeof(*h));
	if (atts[2] != InvalidAttrNumber)
		natts = atts[3] != InvalidAttrNumber ? 4 : 3;
	if (ps != NULL ?
		!sb_probe_scan_find(ps, keys, ForwardScanDirection, natts, atts, claim, isnull) :
		!sb_probe(SB_CLAIM, SB_CLAIM_HOLDER_KEY, 2, keys,
				  ForwardScanDirection, snap, natts, atts, claim, isnull))
		return;
	h->found = true;
	h->bank_id = DatumGetInt32(claim[0]);
	if (snap->snapshot_type == SNAPSHOT_DIRTY)
	{
		h->in_flight = TransactionIdIsValid(snap->xmin);
		h->changer = snap->xmax;
	}
	if (!isnull[3])
	{
		h->hold_expires = DatumGetTimestampTz(claim[3]);
		h->is_hold = true;
		if (sb_hold_has_expired(h->hold_expires))
		{
			h->expired = true;
			return;
		}
	}
	if (!isnull[2])
		h->item = claim[2];
	else
		/* the item may be in another bank of the scope */
		h->item = sb_item_in_slot(h->bank_id, DatumGetInt64(claim[1]), snap);
}

