/*-------------------------------------------------------------------------
 *
 * bank_holder.c
 *	  What a dedup_id holds: sb_lookup(bank, dedup_id) and
 *	  sb_release(bank, dedup_id).
 *
 * Neither function is SECURITY DEFINER.  sb_lookup is one probe of the
 * holder key (scope_id, dedup_id), whose claim row carries the item; it
 * reads directly through the index, so it needs no right on the tables and
 * runs no SQL.  sb_release turns the holder's claim row into a free row of
 * the item's own bank with one UPDATE, run through SPI as the owner of the
 * tables (bank_claim.c); its text qualifies every name, so the caller's
 * search_path cannot change it.
 *
 * Lock order: sb_release takes RowExclusiveLock on the bank's cursor (as a
 * fetch does, so sb_drop_bank waits for it), then the row lock of the claim
 * row, waiting for any transaction that holds it (a release or a claim of
 * the same row in flight), as any UPDATE does; nothing else.  sb_lookup takes no lock beyond AccessShareLock for its reads, and works
 * on a standby.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "bank_cache.h"
#include "bank_claim.h"
#include "bank_fetch.h"
#include "bank_hold.h"
#include "bank_holder.h"
#include "bank_probe.h"
#include "storagebox.h"

PG_FUNCTION_INFO_V1(sb_lookup);
PG_FUNCTION_INFO_V1(sb_release);

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

/*
 * In the Citus layout, whether the call must run on the node that holds the
 * bank's dedup scope (*scope_id); checks the bank argument first.
 */
bool
sb_holder_remote(FunctionCallInfo fcinfo, int32 *scope_id)
{
	sb_require_arg("bank", PG_ARGISNULL(0));
	sb_require_text("bank", PG_GETARG_TEXT_PP(0), SB_NAME_MAX_BYTES);
	return sb_bank_is_remote(PG_GETARG_TEXT_PP(0), scope_id);
}

/*
 * Check (bank, dedup_id) in the order the errors are documented, then the
 * caller's right on the bank.
 */
BankCacheEntry *
sb_holder_args(FunctionCallInfo fcinfo, bool lock_cursor, SbBankRight right)
{
	text	   *bank;
	BankCacheEntry *entry;

	sb_require_arg("bank", PG_ARGISNULL(0));
	bank = PG_GETARG_TEXT_PP(0);
	sb_require_text("bank", bank, SB_NAME_MAX_BYTES);
	entry = sb_find_bank(bank, lock_cursor);
	sb_require_arg("dedup_id", PG_ARGISNULL(1));
	sb_require_text("dedup_id", PG_GETARG_TEXT_PP(1), SB_DEDUP_ID_MAX_BYTES);
	sb_require_bank_right(entry, right);
	return entry;
}

/*
 * sb_lookup(bank text, dedup_id text) returns text
 *
 * The item dedup_id holds in the bank's scope (permanently, or on a hold
 * that has not expired), or NULL.  Reads only.
 */
Datum
sb_lookup(PG_FUNCTION_ARGS)
{
	BankCacheEntry *entry;
	SbHolding	h;
	int32		scope_id;

	if (sb_holder_remote(fcinfo, &scope_id))
		return sb_layout_route(fcinfo, scope_id);
	entry = sb_holder_args(fcinfo, false, SB_RIGHT_LOOK);

	PushActiveSnapshot(GetTransactionSnapshot());
	sb_read_holding(entry->scope_id, PointerGetDatum(PG_GETARG_TEXT_PP(1)),
					GetActiveSnapshot(), &h);
	PopActiveSnapshot();
	if (h.item == (Datum) 0)
		PG_RETURN_NULL();
	/* an item of another bank of the scope: the right on that bank counts */
	if (h.bank_id != entry->bank_id)
		sb_require_right_on_bank_id(h.bank_id, SB_RIGHT_LOOK);
	PG_RETURN_DATUM(h.item);
}

/* The statements of a release, prepared once per backend. */
typedef enum ReleasePlan
{
	RELEASE_CLAIM,				/* before 1.4 */
	RELEASE_LIVE_CLAIM,			/* 1.4: a permanent claim or a live hold */
	RELEASE_EXPIRED_HOLD,		/* 1.4: free a hold past its expiry */
	NUM_RELEASE_PLANS
} ReleasePlan;

static const char *const release_sql[NUM_RELEASE_PLANS] = {
	[RELEASE_CLAIM] =
	"UPDATE storagebox_data.claim c SET scope_id = NULL, dedup_id = NULL"
	" WHERE c.scope_id OPERATOR(pg_catalog.=) $1"
	"   AND c.dedup_id OPERATOR(pg_catalog.=) $2"
	"   AND c.bank_id OPERATOR(pg_catalog.=) $4"
	" RETURNING c.bank_id, c.slot",		/* $3 unused */
	[RELEASE_LIVE_CLAIM] =
	"UPDATE storagebox_data.claim c SET scope_id = NULL, dedup_id = NULL,"
	"       held_since = NULL, hold_expires = NULL"
	" WHERE c.scope_id OPERATOR(pg_catalog.=) $1"
	"   AND c.dedup_id OPERATOR(pg_catalog.=) $2"
	"   AND (c.hold_expires IS NULL OR c.hold_expires OPERATOR(pg_catalog.>) $3)"
	"   AND c.bank_id OPERATOR(pg_catalog.=) $4"
	" RETURNING c.bank_id, c.slot",
	[RELEASE_EXPIRED_HOLD] =
	"UPDATE storagebox_data.claim c SET scope_id = NULL, dedup_id = NULL,"
	"       held_since = NULL, hold_expires = NULL"
	" WHERE c.scope_id OPERATOR(pg_catalog.=) $1"
	"   AND c.dedup_id OPERATOR(pg_catalog.=) $2"
	"   AND c.hold_expires OPERATOR(pg_catalog.<=) $3"
	"   AND c.bank_id OPERATOR(pg_catalog.=) $4"
	" RETURNING c.bank_id, c.slot",
};
static SPIPlanPtr release_plans[NUM_RELEASE_PLANS];

/* Run one release statement; returns the number of rows it freed. */
static uint64
run_release(ReleasePlan which, int32 scope_id, Datum dedup_id, int32 bank_id)
{
	Datum		args[4] = {Int32GetDatum(scope_id), dedup_id,
		TimestampTzGetDatum(GetCurrentTimestamp()), Int32GetDatum(bank_id)};

	Oid			types[4] = {INT4OID, TEXTOID, TIMESTAMPTZOID, INT4OID};

	if (sb_run_plan_as_owner(sb_statement_plan(&release_plans[which], release_sql[which],
											   4, types),
							 args) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "storagebox release statement failed");
	return SPI_processed;
}

/*
 * Free the claim row of dedup_id in scope_id; its item, or (Datum) 0 if
 * dedup_id held nothing.  A hold past its expiry held nothing, but its row
 * is freed all the same.  A row in another bank of the scope than the one
 * named (entry) is released only with the right on its own bank, and the
 * statements touch only the row of the bank checked.  Caller is connected
 * to SPI.
 */
static Datum
release_claim(BankCacheEntry *entry, Datum dedup_id)
{
	SbHolding	h;
	bool		isnull;
	int64		slot;
	Datum		item;

	PushActiveSnapshot(GetTransactionSnapshot());
	sb_read_holding(entry->scope_id, dedup_id, GetActiveSnapshot(), &h);
	PopActiveSnapshot();
	if (!h.found)
		return (Datum) 0;
	if (h.bank_id != entry->bank_id)
		sb_require_right_on_bank_id(h.bank_id, SB_RIGHT_FETCH);

	if (!sb_schema_has_holds())
	{
		if (run_release(RELEASE_CLAIM, entry->scope_id, dedup_id, h.bank_id) == 0)
			return (Datum) 0;
	}
	else if (run_release(RELEASE_LIVE_CLAIM, entry->scope_id, dedup_id, h.bank_id) == 0)
	{
		if (run_release(RELEASE_EXPIRED_HOLD, entry->scope_id, dedup_id, h.bank_id) > 0)
			sb_note_claim();
		return (Datum) 0;
	}
	/* a row changed: this transaction now counts as claiming (wait rules) */
	sb_note_claim();
	slot = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 2, &isnull));

	PushActiveSnapshot(GetTransactionSnapshot());
	item = sb_item_in_slot(h.bank_id, slot, GetActiveSnapshot());
	PopActiveSnapshot();
	return item;
}

/* The context line of errors inside a release. */
#define RELEASE_CONTEXT_PREFIX "storagebox: while releasing an item of bank"

static void
release_error_context(void *arg)
{
	errcontext(RELEASE_CONTEXT_PREFIX " \"%s\"", (const char *) arg);
}

/*
 * sb_release(bank text, dedup_id text) returns text
 *
 * Give back the item dedup_id holds in the bank's scope; the item becomes
 * free in its own bank.  Returns it, or NULL if dedup_id held nothing.
 */
Datum
sb_release(PG_FUNCTION_ARGS)
{
	BankCacheEntry *entry;
	MemoryContext caller_cxt = CurrentMemoryContext;
	ErrorContextCallback callback;
	Datum		item;
	int32		scope_id;

	PreventCommandIfReadOnly("sb_release()");
	if (sb_holder_remote(fcinfo, &scope_id))
		return sb_layout_route(fcinfo, scope_id);
	entry = sb_holder_args(fcinfo, true, SB_RIGHT_FETCH);

	PG_TRY();
	{
		callback.callback = release_error_context;
		callback.arg = (void *) entry->name;
		callback.previous = error_context_stack;
		error_context_stack = &callback;
		SPI_connect();
		item = release_claim(entry, PointerGetDatum(PG_GETARG_TEXT_PP(1)));
		if (item != (Datum) 0)
			item = SPI_datumTransfer(item, false, -1);
		SPI_finish();
		error_context_stack = callback.previous;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(caller_cxt);
		sb_rethrow_without_internal_context(RELEASE_CONTEXT_PREFIX);
	}
	PG_END_TRY();

	if (item == (Datum) 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(item);
}
