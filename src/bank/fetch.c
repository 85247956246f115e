/*-------------------------------------------------------------------------
 *
 * bank_fetch.c
 *	  sb_fetch_item(bank, dedup_id): hand each dedup_id exactly one item,
 *	  and the lock protocol that keeps fetches from waiting on strangers.
 *
 * The bank's code is split by concern:
 *   bank_cache.c   the bank identity cache (and the first lock of a fetch)
 *   bank_fetch.c   this file: the protocol, the entry point, the fast path
 *                  (repeat, cursor slot, known holes)
 *   bank_claim.c   the writes: the direct claim insert, slot locks, and
 *                  the rare internal statements run as the tables' owner
 *   bank_settle.c  the slow path: surveys, the watermark, and wait (b)
 *   bank_hold.c    holds that expire: sb_hold_item, sb_confirm, expiry
 *   bank_batch.c   sb_fetch_items
 *   bank_export.c  sb_holders
 *   bank_reuse.c   released items (free-slot reuse)
 *   bank_holder.c  sb_lookup and sb_release
 *   bank_probe.c   direct index probes and dirty-snapshot scans
 *
 * Design
 * ------
 * A bank's items are numbered 1..items_total ("slots") in
 * storagebox_data.item, which is never updated.  Handing an item out is
 * inserting a row into storagebox_data.claim(bank_id, slot, scope_id,
 * dedup_id).  Two unique indexes carry the guarantees: the primary key
 * (bank_id, slot) means no item is ever held twice, and (scope_id, dedup_id)
 * means a dedup_id holds at most one item per scope.  Whatever the code
 * below gets wrong about timing, those indexes arbitrate.  A claim row with
 * NULL scope_id and dedup_id is a released item (sb_release).
 *
 * Where a new item comes from, in order:
 *  1. The cursor, a per-bank sequence: each fetcher takes a fresh slot
 *	   without queueing.  A fetch never looks at slots already handed out, so
 *	   it costs the same on a full bank and a nearly empty one.
 *  2. Holes behind the cursor: slots whose fetch rolled back, lost a race
 *	   for its dedup_id, or was skipped by a crash.  They have no claim row.
 *  3. Released items: free claim rows.
 *  4. Expired holds (1.4, bank_hold.c): claim rows whose hold_expires has
 *	   passed, taken over in place, the one that expired first first.
 * Holes, released items and expired holds are handed out once the cursor
 * has run past the end of the bank (the "slow path"), or, for holes that a
 * fast-path survey noticed, by the next fetch of the same backend.  A
 * dedup_id whose own hold expired takes its item back in place before
 * anything else, if nobody has taken it over.
 *
 * The watermark, the bank's largest bank_progress.settled_upto, says that
 * every slot up to it has a committed claim row.  Committed claim rows are
 * never deleted (a release or a re-claim updates them), so a watermark once
 * true stays true.  It is raised after reading, never by waiting: a survey
 * walks the claim rows above it under a dirty snapshot and stops at the
 * first slot that has no committed row.  Every SURVEY_EVERY slots the fast
 * path surveys up to SURVEY_MARGIN behind its slot; the slow path surveys up
 * to the end of the bank.  sb_banks counts only claims above the watermark.
 *
 * Lock protocol
 * -------------
 * Waits a fetch may make, and nothing else:
 *  (a) for another transaction that is claiming the same dedup_id in the
 *	    scope (the unique key would make it wait anyway; if that transaction
 *	    commits, its item is the answer, and if it rolls back we claim).  A
 *	    claim row still being inserted speculatively is waited for only
 *	    until its insert ends (SpeculativeInsertionWait).
 *  (b) for another transaction that holds one of the bank's remaining items
 *	    uncommitted, or is changing an expired hold or has locked one to
 *	    take it over (a row lock a dirty read does not show; the taker
 *	    updates that row next, without waiting for anything but (a); a
 *	    takeover that updates nothing rolls its lock back), when nothing
 *	    else is left, so that NULL ("sold out") is not answered for an
 *	    item that may come back.  A claim row still being inserted
 *	    speculatively is again waited for only until its insert ends: its
 *	    inserter may lose its dedup_id and have nothing more to do with
 *	    this bank.  Only a transaction that holds no uncommitted claim of
 *	    its own makes this wait (sb_xact_has_claims); a transaction that
 *	    does gets NULL instead.  A release, a confirmation and a take-back
 *	    count as claims here (they change a claim row), so every
 *	    transaction that can be waited on is one that never makes wait (b).
 *  (a') for a transaction taking over this dedup_id's own expired hold (the
 *	    holder key still names the dedup_id until it commits); made, like
 *	    (b), only by a transaction without claims, which otherwise gets
 *	    40001 (sb_waited_for_same_dedup_id).
 *  (c) in the queue of a hole's slot lock, as a claimer of that hole, when
 *	    every hole a survey found was in another claimer's hands
 *	    (bank_settle.c).  The slot lock is held only inside
 *	    sb_claim_empty_slot's section (a probe and one speculative insert),
 *	    which makes no heavyweight wait; and everybody in the queue is such
 *	    a claimer, who on its turn fills the hole if it is still empty and
 *	    leaves at once.  Nobody takes a slot lock only to wait for it.
 * Everything else is taken without waiting: the cursor (a sequence), empty
 * slots outside (c) (conditional slot locks, bank_claim.c), released items
 * and expired holds (FOR UPDATE SKIP LOCKED), the watermark (a non-unique
 * insert, SKIP LOCKED pruning), and all reads (direct index probes,
 * dirty-snapshot surveys).  A released row that a claimer has locked in
 * passing, which no dirty read shows, is looked at again after a sleep of
 * RELOOK_USEC (bank_settle.c); its locker updates it next.
 *
 * Why this cannot deadlock for distinct dedup_ids: a wait-for cycle needs
 * every member to be waited on.  A wait (c) is for a claimer inside a
 * section that waits for nothing, so no cycle passes through a slot lock.
 * Every other kind of wait is for a transaction with an uncommitted claim
 * (or change of a claim row).  Such a transaction never makes wait (b) or
 * (a'), so every edge of a cycle is a wait (a): each member waits for a
 * dedup_id that the next one claimed.  Transactions that share no dedup_id
 * have no such edge, and transactions that take shared dedup_ids in one
 * order cannot close the cycle (each member would have to hold a dedup_id
 * ordered after the one it waits for).  What remains is the deadlock of any
 * unique key: two transactions taking the same two dedup_ids in opposite
 * orders.
 *
 * Why every wait ends (liveness).  For each wait, who is waited for and why
 * that one is not waiting for us:
 *  (a), (a'), (b) wait for a transaction T that has written a claim row
 *	    (or is writing one).  Our fetch, while it makes (a') or (b), holds
 *	    no claim and no slot lock, so nothing T can wait for is ours: T
 *	    ends when its client ends it.  (a) with claims of our own is the
 *	    unique-key wait above; a cycle of (a) waits is a deadlock that
 *	    PostgreSQL's detector breaks, and needs shared dedup_ids in
 *	    opposite orders.  A speculative insert ends within its claimer's
 *	    section.
 *  (c) waits for the claimers ahead in the queue, each of which holds the
 *	    lock for one bounded section and waits for nothing inside it.  So a
 *	    wait (c) ends after at most as many sections as there are fetches
 *	    ahead, and PostgreSQL refusing a conditional request while the
 *	    queue is not empty only sends that requester to the queue (slow
 *	    path) or to its next slot (fast path).
 * Bounded looks: with no client transaction left open, every transaction
 * is a single storagebox call that runs to its end.  A fetch looks again
 * only after (1) a wait, which ended because another call's claim row was
 * committed or rolled back, or because a claimer left the hole's queue, or
 * (2) a slot or row it tried went to another call (the cursor hands each
 * slot out once; a hole or a free row is claimed by one call only).  Each
 * such event is a claim made or settled by another call, and committed
 * claims only ever reduce what is left, so a fetch answers after at most
 * a number of looks bounded by the items left plus the calls running
 * beside it.  The old protocol broke (c): a fetch waited for the slot lock
 * only to release it, so its waiters handed the lock among themselves and
 * no conditional claimer ever got it (test/specs, the burst test
 * test/t/090_burst.pl).
 *
 * Lock order within one fetch: RowExclusiveLock on the cursor (held to the
 * end of the transaction; sb_drop_bank's DROP waits for it), the claim
 * table and its indexes opened, then at most one slot lock at a time,
 * released before the fetch returns.  No wait is ever made while holding a
 * slot lock.
 *
 * Isolation
 * ---------
 * Under READ COMMITTED every look takes a fresh snapshot.  Under REPEATABLE
 * READ and SERIALIZABLE the looks use the transaction snapshot, a conflict
 * with a claim committed after it raises the ordinary serialization failure
 * (40001), and the fast path does not raise the watermark.
 *
 * Errors inside the internal statements reach the caller with this
 * function's context line, never with the statement's text.
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
 * (the Citus layout, citus_layout.c: each node has its own cursor, and
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
