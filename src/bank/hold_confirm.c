/*-------------------------------------------------------------------------
 *
 * hold_confirm.c
 *	  Holds that expire: sb_hold_item(bank, dedup_id, hold_for) and
 *	  sb_confirm(bank, dedup_id), and what the fetch path needs to know
 *	  about holds.
 *
 * Lock order: a takeover locks one expired row, never waiting for one
 * (SKIP LOCKED).  The only new wait is the one a dedup_id makes for a
 * transaction that is taking over its own expired hold (its holder key
 * still names it until that commits), made only by a transaction that
 * holds no uncommitted claim (see sb_waited_for_same_dedup_id); sb_confirm
 * updates the holder's row as any UPDATE does.
 *
 * The design, the lock protocol and the global lock order:
 * docs/design.md, "Holds".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
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

PG_FUNCTION_INFO_V1(sb_hold_item);
PG_FUNCTION_INFO_V1(sb_confirm);

/*
 * sb_hold_item(bank text, dedup_id text, hold_for interval) returns text
 *
 * As sb_fetch_item, but a new item is only held until hold_for has passed,
 * unless sb_confirm makes it permanent first.
 */
Datum
sb_hold_item(PG_FUNCTION_ARGS)
{
	text	   *bank;
	text	   *dedup_id;
	Interval   *hold_for;
	FetchState	st;
	Datum		item;

	sb_require_arg("bank", PG_ARGISNULL(0));
	sb_require_arg("dedup_id", PG_ARGISNULL(1));
	sb_require_arg("hold_for", PG_ARGISNULL(2));
	bank = PG_GETARG_TEXT_PP(0);
	sb_require_text("bank", bank, SB_NAME_MAX_BYTES);
	dedup_id = PG_GETARG_TEXT_PP(1);
	sb_require_text("dedup_id", dedup_id, SB_DEDUP_ID_MAX_BYTES);
	hold_for = PG_GETARG_INTERVAL_P(2);
	sb_check_hold_for(hold_for);

	PreventCommandIfReadOnly("sb_hold_item()");
	SB_ROUTE_IF_REMOTE(fcinfo, bank);

	sb_fetch_init(&st, sb_find_bank(bank, true), hold_for, CurrentMemoryContext);
	sb_require_bank_right(st.bank, SB_RIGHT_FETCH);
	if (!sb_schema_has_holds())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("holds need version 1.4 of the storagebox extension"),
				 errhint("Run ALTER EXTENSION storagebox UPDATE.")));
	item = sb_fetch_one(&st, PointerGetDatum(dedup_id));
	if (item == (Datum) 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(item);
}

/* The statement of a confirmation, prepared once per backend (and shard). */
static SPIPlanPtr confirm_plan = NULL;
static const char confirm_sql[] =
"UPDATE %1$s c SET hold_expires = NULL"
" WHERE c.scope_id OPERATOR(pg_catalog.=) $1"
"   AND c.dedup_id OPERATOR(pg_catalog.=) $2"
"   AND c.hold_expires OPERATOR(pg_catalog.>) $3"
"   AND c.bank_id OPERATOR(pg_catalog.=) $4"
" RETURNING c.item";

/* The context line of errors inside a confirmation. */
#define CONFIRM_CONTEXT_PREFIX "storagebox: while confirming a hold in bank"

static void
confirm_error_context(void *arg)
{
	errcontext(CONFIRM_CONTEXT_PREFIX " \"%s\"", (const char *) arg);
}

/*
 * Make dedup_id's live hold in scope_id, in bank row_bank, permanent: its
 * item, or (Datum) 0.
 */
static Datum
confirm_hold(int32 scope_id, Datum dedup_id, int32 row_bank)
{
	Datum		args[4] = {Int32GetDatum(scope_id), dedup_id,
		TimestampTzGetDatum(GetCurrentTimestamp()), Int32GetDatum(row_bank)};
	Datum		item = (Datum) 0;
	Oid			types[4] = {INT4OID, TEXTOID, TIMESTAMPTZOID, INT4OID};

	SPI_connect();
	if (sb_run_plan_as_owner(sb_statement_plan(&confirm_plan, confirm_sql, SB_CLAIM, 4, types),
							 args) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "storagebox confirm statement failed");
	if (SPI_processed == 1)
	{
		bool		isnull;

		/* a row changed: this transaction now counts as claiming */
		sb_note_claim();
		item = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		item = isnull ? (Datum) 0 : SPI_datumTransfer(item, false, -1);
	}
	SPI_finish();
	return item;
}

/*
 * sb_confirm(bank text, dedup_id text) returns text
 *
 * Make dedup_id's hold in the bank's scope permanent and return its item;
 * the item of a permanent claim is returned as it is.  NULL if dedup_id
 * holds nothing (never held, released, or the hold expired).
 */
Datum
sb_confirm(PG_FUNCTION_ARGS)
{
	BankCacheEntry *entry;
	Datum		dedup_id;
	MemoryContext caller_cxt = CurrentMemoryContext;
	ErrorContextCallback callback;
	Datum		item = (Datum) 0;
	SbHolding	held;
	int32		scope_id;

	PreventCommandIfReadOnly("sb_confirm()");
	if (sb_holder_remote(fcinfo, &scope_id))
		return sb_placement_route(fcinfo, scope_id);
	entry = sb_holder_args(fcinfo, true, SB_RIGHT_FETCH);
	dedup_id = PointerGetDatum(PG_GETARG_TEXT_PP(1));

	/* what it holds, and where: a row of another bank needs its right too */
	PushActiveSnapshot(GetTransactionSnapshot());
	sb_read_holding(entry->scope_id, dedup_id, GetActiveSnapshot(), &held);
	PopActiveSnapshot();
	if (!held.found)
		PG_RETURN_NULL();
	if (held.bank_id != entry->bank_id)
		sb_require_right_on_bank_id(held.bank_id, SB_RIGHT_FETCH);

	if (sb_schema_has_holds() && held.is_hold)
	{
		PG_TRY();
		{
			callback.callback = confirm_error_context;
			callback.arg = (void *) entry->name;
			callback.previous = error_context_stack;
			error_context_stack = &callback;
			item = confirm_hold(entry->scope_id, dedup_id, held.bank_id);
			error_context_stack = callback.previous;
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(caller_cxt);
			sb_rethrow_without_internal_context(CONFIRM_CONTEXT_PREFIX);
		}
		PG_END_TRY();
	}

	if (item == (Datum) 0)
	{
		/* no live hold: a permanent claim is confirmed already */
		SbHolding	h;

		CommandCounterIncrement();
		PushActiveSnapshot(GetTransactionSnapshot());
		sb_read_holding(entry->scope_id, dedup_id, GetActiveSnapshot(), &h);
		PopActiveSnapshot();
		if (!h.is_hold && h.bank_id == held.bank_id)
			item = h.item;
	}
	if (item == (Datum) 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(item);
}
