/*-------------------------------------------------------------------------
 *
 * fetch.c
 *	  sb_fetch_item(bank, dedup_id): hand each dedup_id exactly one item,
 *	  and the lock protocol that keeps fetches from waiting on strangers.
 *
 * Lock order within one fetch: RowExclusiveLock on the cursor (held to the
 * end of the transaction; sb_drop_bank's DROP waits for it), the claim
 * table and its indexes opened, then at most one slot lock at a time,
 * released before the fetch returns.  No wait is ever made while holding a
 * slot lock.
 *
 * The design, the lock protocol and the global lock order:
 * docs/design.md, "The fetch protocol".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "commands/sequence.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "bank/cache.h"
#include "bank/claim.h"
#include "bank/fetch.h"
#include "bank/fetch_state.h"
#include "bank/owner_sql.h"
#include "bank/released.h"
#include "bank/settle.h"
#include "bank/hold_expiry.h"
#include "bank/holder_read.h"
#include "bank/probe.h"
#include "citus/placement.h"
#include "common/common.h"

PG_FUNCTION_INFO_V1(sb_fetch_item);

/*
 * Claim a hole that an earlier survey of this backend found, if one is
 * still empty.  Returns the slot and sets *item, or returns 0;
 * *dedup_taken is set if dedup_id turned out to be claimed elsewhere.
 */
static int64
claim_known_hole(FetchState *st, Datum *item, bool *dedup_taken)
{
	*dedup_taken = false;
	while (st->bank->nholes > 0)
	{
		int64		slot = st->bank->holes[--st->bank->nholes];

		if (slot > st->items_total)
			continue;
		switch (sb_fetch_claim_slot(st, slot, SB_SLOT_TRY, item))
		{
			case SB_CLAIMED:
				return slot;
			case SB_DEDUP_TAKEN:
				*dedup_taken = true;
				return 0;
			case SB_SLOT_TAKEN:
				break;
		}
	}
	return 0;
}

/*
 * The cursor is behind the claims when a node newly holds a bank's scope
 * (the Citus layout, citus/layout.c: each node has its own cursor, and
 * starts it at 1).  There, a fetch that finds this many slots in a row
 * taken moves the cursor past the highest claimed slot, so the walk over
 * claimed slots happens once, not once per fetch.  (setval is not
 * transactional: a fetch that moved the cursor further meanwhile can be
 * set back, and walks again; the claim keys decide, never the cursor.)
 */
#define CURSOR_BEHIND_AFTER 8

static void
cursor_catch_up(FetchState *st, int64 slot)
{
	SbProbeKey	key = {F_INT4EQ, Int32GetDatum(st->bank_id)};
	AttrNumber	att = sb_column(SB_COL_CLAIM_SLOT);
	Datum		highest;
	bool		isnull;
	bool		found;

	PushActiveSnapshot(GetTransactionSnapshot());
	found = sb_probe(SB_CLAIM, SB_CLAIM_PKEY, 1, &key, BackwardScanDirection,
					 GetActiveSnapshot(), 1, &att, &highest, &isnull);
	PopActiveSnapshot();
	if (found && DatumGetInt64(highest) > slot)
		sb_cursor_move_to(st->bank->cursor_seq, DatumGetInt64(highest));
}

/*
 * Claim a new item for st->dedup_id; (Datum) 0 if the bank is sold out.
 * Caller is connected to SPI and has looked: st has fresh counts.
 */
static Datum
fetch_new(FetchState *st)
{
	Datum		own;
	int			taken_in_a_row = 0;

	if (st->own_expired &&
		(own = sb_fetch_take_back_own_hold(st, st->own_expired_bank)) != (Datum) 0)
		return own;

	for (;;)
	{
		Datum		item;
		bool		dedup_taken;
		int64		slot;

		CHECK_FOR_INTERRUPTS();

		if (sb_waited_for_same_dedup_id(st) &&
			(item = sb_look_again(st)) != (Datum) 0)
			return item;

		slot = claim_known_hole(st, &item, &dedup_taken);
		if (slot > 0)
		{
			sb_survey_behind(st, slot, st->bank->nholes == 0);
			return item;
		}
		if (dedup_taken)
		{
			if ((item = sb_after_dedup_conflict(st)) != (Datum) 0)
				return item;
			continue;
		}

		if (st->settled_upto >= st->items_total)
			return sb_fetch_leftover(st);
		slot = nextval_internal(st->bank->cursor_seq, false);
		if (slot > st->items_total)
			return sb_fetch_leftover(st);

		switch (sb_fetch_claim_slot(st, slot, SB_SLOT_TRY, &item))
		{
			case SB_CLAIMED:
				sb_survey_behind(st, slot, false);
				return item;
			case SB_DEDUP_TAKEN:
				/* our slot stays empty: the next fetch here may take it */
				if (st->bank->nholes < SB_MAX_HOLES)
					st->bank->holes[st->bank->nholes++] = slot;
				if ((item = sb_after_dedup_conflict(st)) != (Datum) 0)
					return item;
				break;
			case SB_SLOT_TAKEN:
				if (++taken_in_a_row == CURSOR_BEHIND_AFTER && sb_placement_is_distributed())
				{
					cursor_catch_up(st, slot);
					taken_in_a_row = 0;
				}
				break;
		}
	}
}

/*
 * The item dedup_id holds, for a repeat, or (Datum) 0.  Under READ
 * COMMITTED the probe reads under a dirty snapshot: it sees the newest
 * committed version of the holder's row and no version that this
 * transaction or a committed one has released, whatever the statement's
 * snapshot is (a long statement, a cursor, a release earlier in the same
 * statement), without the cost of taking a snapshot.  A claim another
 * transaction is still making is not an answer: the claim path makes wait
 * (a) for it.  Under REPEATABLE READ and SERIALIZABLE, the transaction
 * snapshot (with this transaction's latest command) decides.
 */
static Datum
repeat_probe(FetchState *st)
{
	MemoryContext old = MemoryContextSwitchTo(st->result_cxt);
	SbHolding	h;

	if (IsolationUsesXactSnapshot())
	{
		Snapshot	snap = sb_look_begin();

		sb_read_holding(st->scope_id, st->dedup_id, snap, &h);
		sb_look_end();
	}
	else
	{
		SnapshotData dirty;

		InitDirtySnapshot(dirty);
		sb_read_holding(st->scope_id, st->dedup_id, &dirty, &h);
		if (h.in_flight)
			h.item = (Datum) 0;
	}
	MemoryContextSwitchTo(old);
	st->own_expired = h.expired && !h.in_flight;
	st->own_expired_bank = h.bank_id;
	return sb_fetch_answer(st, &h);
}

/* The context line of errors inside a fetch; see fetch_new_in_context. */
#define FETCH_CONTEXT_PREFIX "storagebox: while fetching an item from bank"

static void
fetch_error_context(void *arg)
{
	errcontext(FETCH_CONTEXT_PREFIX " \"%s\"", (const char *) arg);
}

/*
 * Run fetch_new, and let an error inside it reach the caller without the
 * text of our internal statements: the context lines added below our own
 * line (by SPI) are dropped; our line and the caller's lines stay.
 */
static Datum
fetch_new_in_context(FetchState *st, const char *bank_name)
{
	MemoryContext cxt = CurrentMemoryContext;
	Datum		item = (Datum) 0;

	PG_TRY();
	{
		ErrorContextCallback callback;

		callback.callback = fetch_error_context;
		callback.arg = (void *) bank_name;
		callback.previous = error_context_stack;
		error_context_stack = &callback;
		item = fetch_new(st);
		error_context_stack = callback.previous;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		sb_rethrow_without_internal_context(FETCH_CONTEXT_PREFIX);
	}
	PG_END_TRY();
	return item;
}

/* Prepare st for fetches (or holds, with hold_for) from bank. */
void
sb_fetch_init(FetchState *st, BankCacheEntry *bank, const Interval *hold_for,
			  MemoryContext result_cxt)
{
	memset(st, 0, sizeof(*st));
	st->bank = bank;
	st->bank_id = bank->bank_id;
	st->scope_id = bank->scope_id;
	st->hold_for = hold_for;
	st->result_cxt = result_cxt;
}

/*
 * The item dedup_id holds in the bank's scope, else a new item from the
 * bank (held permanently, or for st->hold_for), else (Datum) 0 when the
 * bank has nothing left.  The arguments and the caller's right have been
 * checked.
 */
Datum
sb_fetch_one(FetchState *st, Datum dedup_id)
{
	Datum		item;
	bool		sold_out;
	Snapshot	snap;

	st->dedup_id = dedup_id;
	st->own_expired = false;

	/* a repeat: one probe of the holder key */
	item = repeat_probe(st);
	if (item != (Datum) 0)
		return item;

	/*
	 * A fresh look at the bank's counts: sold out if every slot has a
	 * committed claim, no item was released and no hold has expired (index
	 * probes only).
	 */
	snap = sb_look_begin();
	sb_read_bank_counts(st, snap);
	sold_out = !st->own_expired && st->settled_upto >= st->items_total &&
		!sb_has_released_item(st->bank_id, snap) &&
		!sb_bank_has_expired_hold(st->bank_id, snap);
	sb_look_end();
	if (sold_out)
		return (Datum) 0;

	sb_claim_begin();
	item = fetch_new_in_context(st, st->bank->name);
	sb_claim_end();
	return item;
}

/*
 * sb_fetch_item(bank text, dedup_id text) returns text
 *
 * The item dedup_id holds in the bank's scope, else a new item from the
 * bank, else NULL when the bank has nothing left.
 */
Datum
sb_fetch_item(PG_FUNCTION_ARGS)
{
	text	   *bank;
	text	   *dedup_id;
	FetchState	st;
	Datum		item;

	sb_require_arg("bank", PG_ARGISNULL(0));
	sb_require_arg("dedup_id", PG_ARGISNULL(1));
	bank = PG_GETARG_TEXT_PP(0);
	sb_require_text("bank", bank, SB_NAME_MAX_BYTES);
	dedup_id = PG_GETARG_TEXT_PP(1);
	sb_require_text("dedup_id", dedup_id, SB_DEDUP_ID_MAX_BYTES);

	PreventCommandIfReadOnly("sb_fetch_item()");
	SB_ROUTE_IF_REMOTE(fcinfo, bank);

	sb_fetch_init(&st, sb_find_bank(bank, true), NULL, CurrentMemoryContext);
	sb_require_bank_right(st.bank, SB_RIGHT_FETCH);
	item = sb_fetch_one(&st, PointerGetDatum(dedup_id));
	if (item == (Datum) 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(item);
}
