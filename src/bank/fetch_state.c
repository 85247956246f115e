/*-------------------------------------------------------------------------
 *
 * fetch_state.c
 *	  The state of one fetch and the steps that the fast path (fetch.c)
 *	  and the slow path (settle.c) both take: looks at the bank, the claim
 *	  of one slot, and the answer after a conflict.
 *
 * Design, lock order and the deadlock and liveness arguments:
 * docs/design.md.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "bank/cache.h"
#include "bank/claim.h"
#include "bank/fetch_state.h"
#include "bank/hold_expiry.h"
#include "bank/holder_read.h"
#include "bank/probe.h"
#include "common/common.h"

/*
 * Whether the current transaction has made a claim (wait (b) above is only
 * for transactions that have not).  Reset at the end of the top-level
 * transaction; a claim rolled back with a subtransaction still counts,
 * which only ever means answering NULL instead of waiting.
 */
bool		sb_xact_has_claims = false;

static bool xact_callback_registered = false;

static void
reset_claims_at_xact_end(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			sb_xact_has_claims = false;
			break;
		default:
			break;
	}
}

void
sb_note_claim(void)
{
	if (!xact_callback_registered)
	{
		RegisterXactCallback(reset_claims_at_xact_end, NULL);
		xact_callback_registered = true;
	}
	sb_xact_has_claims = true;
}

/*
 * A look at the bank: a snapshot that, under READ COMMITTED, sees every
 * commit so far (under the other levels, the transaction snapshot).  It
 * sees this transaction's own earlier claims.  Every sb_look_begin is paired
 * with sb_look_end; an error in between is cleaned up by the transaction abort.
 */
Snapshot
sb_look_begin(void)
{
	PushActiveSnapshot(GetTransactionSnapshot());
	return GetActiveSnapshot();
}

void
sb_look_end(void)
{
	PopActiveSnapshot();
}

/*
 * The item in a slot, copied into st->result_cxt.  The slot is one this
 * fetch has seen within items_total, so its item row is committed (it was
 * added in the transaction that raised items_total) and is never updated;
 * a dirty snapshot reads it without the cost of taking a new snapshot.
 */
Datum
sb_fetch_slot_item(FetchState *st, int64 slot)
{
	MemoryContext old = MemoryContextSwitchTo(st->result_cxt);
	SnapshotData dirty;
	Datum		item;

	InitDirtySnapshot(dirty);
	item = sb_item_in_slot(st->bank_id, slot, &dirty);
	MemoryContextSwitchTo(old);
	return item;
}

/* The item dedup_id holds in the scope as snap sees it, or (Datum) 0. */
Datum
sb_fetch_held_item(FetchState *st, Snapshot snap)
{
	MemoryContext old = MemoryContextSwitchTo(st->result_cxt);
	Datum		item = sb_held_item(st->scope_id, st->dedup_id, snap);

	MemoryContextSwitchTo(old);
	return item;
}

/* Read items_total and the watermark of the bank as snap sees them. */
void
sb_read_bank_counts(FetchState *st, Snapshot snap)
{
	SbProbeKey	key = {F_INT4EQ, Int32GetDatum(st->bank_id)};
	AttrNumber	total_att = sb_column(SB_COL_BANK_ITEMS_TOTAL);
	AttrNumber	settled_att = sb_column(SB_COL_PROGRESS_SETTLED);
	Datum		value;
	bool		isnull;

	st->items_total = 0;
	st->settled_upto = 0;
	if (sb_probe(SB_BANK, SB_BANK_PKEY, 1, &key, ForwardScanDirection,
				 snap, 1, &total_att, &value, &isnull))
		st->items_total = DatumGetInt64(value);
	if (sb_probe(SB_PROGRESS, SB_PROGRESS_UPTO, 1, &key, BackwardScanDirection,
				 snap, 1, &settled_att, &value, &isnull))
		st->settled_upto = DatumGetInt64(value);
}

/*
 * The answer a holding gives: its item, once the caller's right on the
 * bank of the row is checked when that is another bank of the scope.
 */
Datum
sb_fetch_answer(FetchState *st, const SbHolding *h)
{
	if (h->item != (Datum) 0 && h->bank_id != st->bank_id)
		sb_require_right_on_bank_id(h->bank_id, SB_RIGHT_FETCH);
	return h->item;
}

/*
 * dedup_id's own hold, in bank row_bank, has expired and nobody has taken
 * its item over: hold it again in place (permanently for a fetch, for
 * hold_for for a hold), or free it if it is in another bank of the scope
 * (on which the caller needs the right too).  Returns the item held again,
 * or (Datum) 0 (freed, or being taken over by another transaction: the
 * claim path then makes wait (a) for that one, see
 * sb_waited_for_same_dedup_id).
 */
Datum
sb_fetch_take_back_own_hold(FetchState *st, int32 row_bank)
{
	Datum		item;
	SbTakeBack	r;

	if (row_bank != st->bank_id)
		sb_require_right_on_bank_id(row_bank, SB_RIGHT_FETCH);
	r = sb_take_back_own_hold(st->bank_id, row_bank, st->scope_id, st->dedup_id,
							  st->hold_for, st->result_cxt, &item);
	if (r == SB_NO_OWN_HOLD)
		return (Datum) 0;
	sb_note_claim();			/* a row changed: see the wait rules */
	return r == SB_TAKEN_BACK ? item : (Datum) 0;
}

/*
 * A fresh look: the item dedup_id holds, if any; otherwise refresh the
 * bank's counts and return (Datum) 0.
 */
Datum
sb_look_again(FetchState *st)
{
	Snapshot	snap = sb_look_begin();
	MemoryContext old = MemoryContextSwitchTo(st->result_cxt);
	SbHolding	h;

	sb_read_holding(st->scope_id, st->dedup_id, snap, &h);
	MemoryContextSwitchTo(old);
	if (h.item == (Datum) 0)
		sb_read_bank_counts(st, snap);
	sb_look_end();
	if (h.expired)
		return sb_fetch_take_back_own_hold(st, h.bank_id);
	return sb_fetch_answer(st, &h);
}

/* Whether a committed row holds dedup_id's key (dirty read). */
static bool
dedup_id_committed_elsewhere(FetchState *st)
{
	SnapshotData dirty;
	SbHolding	h;

	InitDirtySnapshot(dirty);
	sb_read_holding(st->scope_id, st->dedup_id, &dirty, &h);
	return h.found && !h.in_flight;	/* an expired hold holds the key too */
}

/*
 * Our dedup_id was claimed by another transaction while we tried to claim
 * it: its item, or (Datum) 0 if it is gone again (rolled back or released)
 * and the caller should try again.  Under REPEATABLE READ and SERIALIZABLE
 * a claim our snapshot cannot see is a serialization failure.
 */
Datum
sb_after_dedup_conflict(FetchState *st)
{
	Datum		item;

	/*
	 * The conflicting claim may still be in flight (the arbiter reports it
	 * without waiting): wait (a) for it first, so that a claim that rolls
	 * back leaves us free to claim, and only a committed one counts.
	 */
	(void) sb_waited_for_same_dedup_id(st);
	item = sb_look_again(st);
	if (item == (Datum) 0 && IsolationUsesXactSnapshot() &&
		dedup_id_committed_elsewhere(st))
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to a concurrent claim for the same dedup_id"),
				 errhint("Retry the transaction.")));
	return item;
}

/*
 * Wait (a): if another transaction is in the middle of claiming dedup_id in
 * the scope, wait for it to end and return true.
 */
bool
sb_waited_for_same_dedup_id(FetchState *st)
{
	SbProbeKey	keys[2] = {{F_INT4EQ, Int32GetDatum(st->scope_id)},
	{F_TEXTEQ, st->dedup_id}};
	SnapshotData dirty;

	SbHolding	h;

	InitDirtySnapshot(dirty);
	if (!sb_probe(SB_CLAIM, SB_CLAIM_HOLDER_KEY, 2, keys, ForwardScanDirection,
				  &dirty, 0, NULL, NULL, NULL))
		return false;
	if (!TransactionIdIsValid(dirty.xmin))
	{
		/*
		 * Committed.  If it is our own hold past its expiry and another
		 * transaction is taking it over, our claim must wait for that one
		 * (the holder key still names us until it commits).  That is wait
		 * (a) for a transaction that does not share our dedup_id, so it is
		 * allowed only to a transaction that holds no uncommitted claim:
		 * nobody waits for such a one, so no cycle can close through it.
		 */
		InitDirtySnapshot(dirty);
		sb_read_holding(st->scope_id, st->dedup_id, &dirty, &h);
		if (!h.expired || !TransactionIdIsValid(h.changer))
			return false;
		if (sb_xact_has_claims)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to a concurrent takeover of the expired hold of the same dedup_id"),
					 errdetail("Another transaction is taking over the item whose hold expired, and this transaction already holds uncommitted items."),
					 errhint("Retry the transaction.")));
		XactLockTableWait(h.changer, NULL, NULL, XLTW_None);
		return true;
	}
	/* a row still being inserted speculatively is waited for only that long */
	if (dirty.speculativeToken != 0)
		SpeculativeInsertionWait(dirty.xmin, dirty.speculativeToken);
	else
		XactLockTableWait(dirty.xmin, NULL, NULL, XLTW_None);
	return true;
}

/*
 * Claim slot for st->dedup_id if it is empty; see sb_claim_empty_slot for
 * the lock modes.  On SB_CLAIMED, *item is the slot's item (allocated in
 * st->result_cxt).
 */
SbClaimResult
sb_fetch_claim_slot(FetchState *st, int64 slot, SbSlotLockMode mode, Datum *item)
{
	SbClaimResult r;

	*item = sb_fetch_slot_item(st, slot);
	r = sb_claim_empty_slot(NULL, mode, st->bank_id, slot, st->scope_id,
							st->dedup_id, *item, st->hold_for);
	if (r == SB_CLAIMED)
		sb_note_claim();
	return r;
}

