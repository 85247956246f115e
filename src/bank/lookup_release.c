/*-------------------------------------------------------------------------
 *
 * lookup_release.c
 *	  What a dedup_id holds: sb_lookup(bank, dedup_id) and
 *	  sb_release(bank, dedup_id).
 *
 * Lock order: sb_release takes RowExclusiveLock on the bank's cursor (as a
 * fetch does, so sb_drop_bank waits for it), then the row lock of the claim
 * row, waiting for any transaction that holds it (a release or a claim of
 * the same row in flight), as any UPDATE does; nothing else.  sb_lookup takes no lock beyond AccessShareLock for its reads, and works
 * on a standby.
 *
 * The design, the lock protocol and the global lock order:
 * docs/design.md, "Lookup and release".
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

#include "bank/cache.h"
#include "bank/claim.h"
#include "bank/fetch.h"
#include "bank/hold_expiry.h"
#include "bank/holder_read.h"
#include "bank/owner_sql.h"
#include "bank/probe.h"
#include "common/common.h"

PG_FUNCTION_INFO_V1(sb_lookup);
PG_FUNCTION_INFO_V1(sb_release);

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
		return sb_placement_route(fcinfo, scope_id);
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

/* What a release statement matches, by plan (%1$s: sb_statement_text). */
#define RELEASE_CLAIM_WHERE \
	" WHERE c.scope_id OPERATOR(pg_catalog.=) $1" \
	"   AND c.dedup_id OPERATOR(pg_catalog.=) $2" \
	"   AND c.bank_id OPERATOR(pg_catalog.=) $4" \
	" RETURNING c.bank_id, c.slot"	/* $3 unused */
#define RELEASE_LIVE_CLAIM_WHERE \
	"       held_since = NULL, hold_expires = NULL" \
	" WHERE c.scope_id OPERATOR(pg_catalog.=) $1" \
	"   AND c.dedup_id OPERATOR(pg_catalog.=) $2" \
	"   AND (c.hold_expires IS NULL OR c.hold_expires OPERATOR(pg_catalog.>) $3)" \
	"   AND c.bank_id OPERATOR(pg_catalog.=) $4" \
	" RETURNING c.bank_id, c.slot"
#define RELEASE_EXPIRED_HOLD_WHERE \
	"       held_since = NULL, hold_expires = NULL" \
	" WHERE c.scope_id OPERATOR(pg_catalog.=) $1" \
	"   AND c.dedup_id OPERATOR(pg_catalog.=) $2" \
	"   AND c.hold_expires OPERATOR(pg_catalog.<=) $3" \
	"   AND c.bank_id OPERATOR(pg_catalog.=) $4" \
	" RETURNING c.bank_id, c.slot"

/*
 * [keep_scope][plan]: where a claim keeps its scope
 * (sb_placement_rows_keep_scope), a release leaves scope_id as it is.
 */
static const char *const release_sql[2][NUM_RELEASE_PLANS] = {
	{
		[RELEASE_CLAIM] =
		"UPDATE %1$s c SET scope_id = NULL, dedup_id = NULL" RELEASE_CLAIM_WHERE,
		[RELEASE_LIVE_CLAIM] =
		"UPDATE %1$s c SET scope_id = NULL, dedup_id = NULL," RELEASE_LIVE_CLAIM_WHERE,
		[RELEASE_EXPIRED_HOLD] =
		"UPDATE %1$s c SET scope_id = NULL, dedup_id = NULL," RELEASE_EXPIRED_HOLD_WHERE,
	},
	{
		[RELEASE_CLAIM] =
		"UPDATE %1$s c SET dedup_id = NULL" RELEASE_CLAIM_WHERE,
		[RELEASE_LIVE_CLAIM] =
		"UPDATE %1$s c SET dedup_id = NULL," RELEASE_LIVE_CLAIM_WHERE,
		[RELEASE_EXPIRED_HOLD] =
		"UPDATE %1$s c SET dedup_id = NULL," RELEASE_EXPIRED_HOLD_WHERE,
	},
};
static SPIPlanPtr release_plans[2][NUM_RELEASE_PLANS];

/* Run one release statement; returns the number of rows it freed. */
static uint64
run_release(ReleasePlan which, int32 scope_id, Datum dedup_id, int32 bank_id)
{
	Datum		args[4] = {Int32GetDatum(scope_id), dedup_id,
		TimestampTzGetDatum(GetCurrentTimestamp()), Int32GetDatum(bank_id)};

	Oid			types[4] = {INT4OID, TEXTOID, TIMESTAMPTZOID, INT4OID};

	int			keep = sb_placement_rows_keep_scope() ? 1 : 0;

	if (sb_run_plan_as_owner(sb_statement_plan(&release_plans[keep][which],
											   release_sql[keep][which], SB_CLAIM,
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
		return sb_placement_route(fcinfo, scope_id);
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
