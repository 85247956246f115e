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

#include "bank_cache.h"
#include "bank_claim.h"
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
 * into the current memory context.  One probe of the holder key: the claim
 * row carries the item (rows written before 1.3 may not, and then the item
 * table is read too).
 */
Datum
sb_held_item(int32 scope_id, Datum dedup_id, Snapshot snap)
{
	return sb_held_item_ext(scope_id, dedup_id, snap, NULL);
}

/*
 * sb_held_item, and with a dirty snapshot: *in_flight is set if the row
 * found is still being inserted by another transaction (a claim that may
 * yet roll back, so not an answer).
 */
Datum
sb_held_item_ext(int32 scope_id, Datum dedup_id, Snapshot snap, bool *in_flight)
{
	SbProbeKey	keys[2] = {{F_INT4EQ, Int32GetDatum(scope_id)},
	{F_TEXTEQ, dedup_id}};
	AttrNumber	atts[3] = {sb_column(SB_COL_CLAIM_BANK_ID),
		sb_column(SB_COL_CLAIM_SLOT), sb_column(SB_COL_CLAIM_ITEM)};
	int			natts = atts[2] == InvalidAttrNumber ? 2 : 3;
	Datum		claim[3];
	bool		isnull[3] = {false, false, true};

	if (!sb_probe(SB_CLAIM, SB_CLAIM_HOLDER_KEY, 2, keys,
				  ForwardScanDirection, snap, natts, atts, claim, isnull))
		return (Datum) 0;
	if (in_flight != NULL)
		*in_flight = TransactionIdIsValid(snap->xmin);
	if (!isnull[2])
		return claim[2];
	/* the item may be in another bank of the scope */
	return sb_item_in_slot(DatumGetInt32(claim[0]), DatumGetInt64(claim[1]), snap);
}

/* Check (bank, dedup_id) in the order the errors are documented. */
static BankCacheEntry *
holder_args(FunctionCallInfo fcinfo, bool lock_cursor)
{
	text	   *bank;
	BankCacheEntry *entry;

	sb_require_arg("bank", PG_ARGISNULL(0));
	bank = PG_GETARG_TEXT_PP(0);
	sb_require_text("bank", bank, SB_NAME_MAX_BYTES);
	entry = sb_find_bank(bank, lock_cursor);
	sb_require_arg("dedup_id", PG_ARGISNULL(1));
	sb_require_text("dedup_id", PG_GETARG_TEXT_PP(1), SB_DEDUP_ID_MAX_BYTES);
	return entry;
}

/*
 * sb_lookup(bank text, dedup_id text) returns text
 *
 * The item dedup_id holds in the bank's scope, or NULL.  Reads only.
 */
Datum
sb_lookup(PG_FUNCTION_ARGS)
{
	BankCacheEntry *entry = holder_args(fcinfo, false);
	Datum		item;

	PushActiveSnapshot(GetTransactionSnapshot());
	item = sb_held_item(entry->scope_id, PointerGetDatum(PG_GETARG_TEXT_PP(1)),
						GetActiveSnapshot());
	PopActiveSnapshot();
	if (item == (Datum) 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(item);
}

/* The statements of a release, prepared once per backend. */
static SPIPlanPtr release_plan = NULL;

/*
 * Free the claim row of dedup_id in scope_id; its item, or (Datum) 0 if
 * dedup_id held nothing.  Caller is connected to SPI.
 */
static Datum
release_claim(int32 scope_id, Datum dedup_id)
{
	Datum		args[2] = {Int32GetDatum(scope_id), dedup_id};
	bool		isnull;
	int32		bank_id;
	int64		slot;
	Datum		item;

	if (release_plan == NULL)
	{
		Oid			types[2] = {INT4OID, TEXTOID};

		release_plan = sb_prepare_as_owner(
			"UPDATE storagebox_data.claim c SET scope_id = NULL, dedup_id = NULL"
			" WHERE c.scope_id OPERATOR(pg_catalog.=) $1"
			"   AND c.dedup_id OPERATOR(pg_catalog.=) $2"
			" RETURNING c.bank_id, c.slot", 2, types);
	}
	if (sb_run_plan_as_owner(release_plan, args) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "storagebox release statement failed");
	if (SPI_processed == 0)
		return (Datum) 0;
	bank_id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
										  SPI_tuptable->tupdesc, 1, &isnull));
	slot = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 2, &isnull));

	PushActiveSnapshot(GetTransactionSnapshot());
	item = sb_item_in_slot(bank_id, slot, GetActiveSnapshot());
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

	PreventCommandIfReadOnly("sb_release()");
	entry = holder_args(fcinfo, true);

	PG_TRY();
	{
		callback.callback = release_error_context;
		callback.arg = (void *) entry->name;
		callback.previous = error_context_stack;
		error_context_stack = &callback;
		SPI_connect();
		item = release_claim(entry->scope_id, PointerGetDatum(PG_GETARG_TEXT_PP(1)));
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
