/*-------------------------------------------------------------------------
 *
 * settle.c
 *	  The slow path of a fetch: settling the bank behind the cursor.
 *
 * Lock order (continuing bank/fetch.c's): the slot lock of one hole at a
 * time (bank/claim.c); the watermark insert takes no lock that anybody
 * waits for (the index is not unique, pruning skips locked rows).
 * Wait (b), for a transaction holding a remaining item uncommitted, is made
 * only while holding no slot lock and only by a transaction with no
 * uncommitted claim (sb_xact_has_claims).  Wait (c), when every hole found
 * is in another claimer's hands, queues for the first hole's slot lock as
 * a claimer of it (SB_SLOT_WAIT), never only to wait: see the liveness
 * argument in bank/fetch.c.
 *
 * The design, the lock protocol and the global lock order:
 * docs/design.md, "The slow path".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/procarray.h"
#include "utils/snapmgr.h"

#include "bank/cache.h"
#include "bank/claim.h"
#include "bank/fetch_state.h"
#include "bank/released.h"
#include "bank/settle.h"
#include "bank/hold_expiry.h"
#include "bank/probe.h"

/* Holes a survey hands on, at most. */
#define MAX_GAPS		SB_MAX_HOLES

/* Fast-path survey: every SURVEY_EVERY slots, up to SURVEY_MARGIN behind. */
#define SURVEY_EVERY	256

#define SURVEY_MARGIN	256

/* How long a fetch sleeps before it looks again at a row locked in passing. */
#define RELOOK_USEC		1000L

/* What a survey of slots found. */
typedef struct SlotSurvey
{
	int64		settled;		/* every slot up to here has a committed row */
	TransactionId blocker;		/* in flight at settled + 1, if that stopped it */
	int			ngaps;			/* slots without any row */
	int64		gaps[MAX_GAPS];
	bool		truncated;		/* stopped early: MAX_GAPS gaps found */
	TransactionId pending;		/* another transaction claiming a hole */
	uint32		pending_token;	/* its speculative-insertion token, if any */
} SlotSurvey;

/* The slot a survey is looking at, while it reads its row versions. */
typedef struct SurveyCursor
{
	int64		next;			/* lowest slot not yet seen */
	bool		in_prefix;		/* every slot so far had a committed row */
	bool		have_slot;		/* cur is a slot with at least one version */
	int64		cur;
	bool		cur_committed;
	TransactionId cur_inflight;
	TransactionId cur_claimer;	/* inserting a claim (not a release) */
	uint32		cur_claimer_token;
} SurveyCursor;

/* Account for the slot the survey has finished reading. */
static void
survey_close_slot(SlotSurvey *sv, SurveyCursor *sc)
{
	/*
	 * A claim in flight matters only in a slot with no committed row: a
	 * hole being claimed, which comes back if its claimer rolls back.  A
	 * committed row being changed (a confirm, a renewal, a takeover, the
	 * claim of a released item) is either still held whatever becomes of
	 * the change, or is a free row or an expired hold, which
	 * sb_survey_released and sb_survey_expired_holds look for.
	 */
	if (sc->have_slot && !sc->cur_committed &&
		TransactionIdIsValid(sc->cur_claimer) &&
		!TransactionIdIsValid(sv->pending))
	{
		sv->pending = sc->cur_claimer;
		sv->pending_token = sc->cur_claimer_token;
	}
	if (!sc->have_slot || !sc->in_prefix)
		return;
	if (sc->cur_committed)
		sv->settled = sc->cur;
	else
	{
		sc->in_prefix = false;
		sv->blocker = sc->cur_inflight;
	}
}

/* Record the slots from sc->next up to (not including) upto as gaps. */
static void
survey_add_gaps(SlotSurvey *sv, SurveyCursor *sc, int64 upto)
{
	for (; sc->next < upto && sv->ngaps < MAX_GAPS; sc->next++)
	{
		sv->gaps[sv->ngaps++] = sc->next;
		sc->in_prefix = false;
	}
	if (sc->next < upto)
		sv->truncated = true;
}

/*
 * Survey slots [from, to] of the bank under a dirty snapshot, without
 * waiting: how far the committed prefix reaches, the first MAX_GAPS slots
 * that have no row at all, and one transaction (if any) that is claiming a
 * slot in the range.  Stops early once MAX_GAPS gaps are found.
 */
static void
survey_slots(int32 bank_id, int64 from, int64 to, SlotSurvey *sv)
{
	SbClaimScan cs;
	SbClaimVersion v;
	SurveyCursor sc = {.next = from,.in_prefix = true};

	sv->settled = from - 1;
	sv->blocker = InvalidTransactionId;
	sv->ngaps = 0;
	sv->truncated = false;
	sv->pending = InvalidTransactionId;
	sv->pending_token = 0;
	if (to < from)
		return;

	sb_claim_scan_begin(&cs, SB_CLAIM_PKEY, bank_id, from);
	while (!sv->truncated && sb_claim_scan_next(&cs, &v) && v.slot <= to)
	{
		CHECK_FOR_INTERRUPTS();
		if (!sc.have_slot || v.slot != sc.cur)
		{
			survey_close_slot(sv, &sc);
			survey_add_gaps(sv, &sc, v.slot);
			if (sv->truncated)
				break;
			sc.have_slot = true;
			sc.cur = v.slot;
			sc.next = v.slot + 1;
			sc.cur_committed = false;
			sc.cur_inflight = InvalidTransactionId;
			sc.cur_claimer = InvalidTransactionId;
			sc.cur_claimer_token = 0;
		}

		/*
		 * Our own uncommitted claims count as committed: the watermark row
		 * goes into the same (sub)transaction, so it can only ever commit
		 * together with them.
		 */
		if (v.own || !TransactionIdIsValid(v.inserting))
			sc.cur_committed = true;
		if (TransactionIdIsValid(v.inserting))
		{
			sc.cur_inflight = v.inserting;
			/* a claim in flight; a release in flight is not waited for */
			if (!v.free && !v.own)
			{
				sc.cur_claimer = v.inserting;
				sc.cur_claimer_token = v.spec_token;
			}
		}
	}
	sb_claim_scan_end(&cs);
	if (!sv->truncated)
	{
		survey_close_slot(sv, &sc);
		survey_add_gaps(sv, &sc, to + 1);
	}
}

/*
 * Survey from the watermark up to upto (at most the end of the bank): raise
 * the watermark over what has been committed, and keep the holes found for
 * this backend's next fetches.
 */
static void
survey_up_to(FetchState *st, int64 upto)
{
	SlotSurvey	sv;
	Snapshot	snap;

	snap = sb_look_begin();
	sb_read_bank_counts(st, snap);
	sb_look_end();
	upto = Min(upto, st->items_total);
	if (upto <= st->settled_upto)
		return;

	survey_slots(st->bank_id, st->settled_upto + 1, upto, &sv);
	if (sv.settled > st->settled_upto)
		sb_raise_watermark(st->bank_id, sv.settled);
	st->bank->survey_blocker = sv.blocker;
	st->bank->survey_upto = upto;
	st->bank->nholes = sv.ngaps;
	memcpy(st->bank->holes, sv.gaps, sizeof(int64) * sv.ngaps);
}

/*
 * Fast-path survey behind slot, every SURVEY_EVERY slots, or again once
 * this backend has claimed the last hole the previous survey found.  Only
 * under READ COMMITTED, and skipped while the transaction that stopped the
 * last survey is still in flight.
 */
void
sb_survey_behind(FetchState *st, int64 slot, bool claimed_last_hole)
{
	int64		upto;

	if (IsolationUsesXactSnapshot())
		return;
	if (claimed_last_hole)
		upto = st->bank->survey_upto;
	else if (slot % SURVEY_EVERY == 0 && slot > SURVEY_MARGIN)
		upto = slot - SURVEY_MARGIN;
	else
		return;
	if (TransactionIdIsValid(st->bank->survey_blocker) &&
		TransactionIdIsInProgress(st->bank->survey_blocker))
		return;
	survey_up_to(st, upto);
}

/*
 * Claim a free row of the given kind (a released item, or the hold that
 * expired first).  True when the fetch is answered: *item is the row's
 * item, or the item another transaction claimed for our dedup_id
 * meanwhile.  *again asks the caller to look again from the start.
 */
static bool
answer_from_free_row(FetchState *st, SbFreeRow kind, Datum *item, bool *again)
{
	bool		dedup_taken;
	int64		slot;

	*again = false;
	if (kind == SB_EXPIRED_HOLD)
	{
		/*
		 * An index probe first: the takeover is an UPDATE in a
		 * subtransaction, which a fetch under a burst would otherwise run
		 * on every look only to find that no hold has expired.
		 */
		Snapshot	snap = sb_look_begin();
		bool		expired = sb_bank_has_expired_hold(st->bank_id, snap);

		sb_look_end();
		if (!expired)
			return false;
	}
	slot = sb_claim_free_row(kind, st->bank_id, st->scope_id, st->dedup_id,
							 st->hold_for, &dedup_taken);
	if (slot > 0)
	{
		sb_note_claim();
		*item = sb_fetch_slot_item(st, slot);
		return true;
	}
	if (dedup_taken)
	{
		if ((*item = sb_after_dedup_conflict(st)) != (Datum) 0)
			return true;
		*again = true;
	}
	return false;
}

/*
 * The slow path: the cursor has run past the end of the bank.  Hand out a
 * released item or a hole; if every remaining item is held by another
 * transaction uncommitted, make wait (b) when allowed and look again.
 * Returns the item, or (Datum) 0 when the bank is sold out.
 */
Datum
sb_fetch_leftover(FetchState *st)
{

	for (;;)
	{
		Datum		item;
		SlotSurvey	sv;
		TransactionId pending;
		bool		relook = false;
		bool		dedup_taken;
		Snapshot	snap;
		bool		released;
		bool		again;

		CHECK_FOR_INTERRUPTS();

		if (sb_waited_for_same_dedup_id(st) &&
			(item = sb_look_again(st)) != (Datum) 0)
			return item;

		/* released items first: they wait longest */
		snap = sb_look_begin();
		released = sb_has_released_item(st->bank_id, snap);
		sb_look_end();
		if (released)
		{
			if (answer_from_free_row(st, SB_RELEASED_ROW, &item, &again))
				return item;
			if (again)
				continue;
		}

		/* then holes, from the watermark; the survey also raises it */
		survey_slots(st->bank_id, st->settled_upto + 1, st->items_total, &sv);
		if (sv.settled > st->settled_upto && !IsolationUsesXactSnapshot())
		{
			sb_raise_watermark(st->bank_id, sv.settled);
			st->settled_upto = sv.settled;
		}
		dedup_taken = false;
		for (int i = 0; i < sv.ngaps && !dedup_taken; i++)
		{
			SbClaimResult r = sb_fetch_claim_slot(st, sv.gaps[i], SB_SLOT_TRY,
												  &item);

			if (r == SB_CLAIMED)
				return item;
			dedup_taken = (r == SB_DEDUP_TAKEN);
		}
		if (dedup_taken)
		{
			if ((item = sb_after_dedup_conflict(st)) != (Datum) 0)
				return item;
			continue;
		}
		if (sv.ngaps > 0 || sv.truncated)
		{
			/*
			 * Every hole was in another claimer's hands when we tried it:
			 * look again.  (Not past them when the survey stopped early:
			 * "sold out" may only come from a survey that started at the
			 * watermark, or it could be answered while those holes are
			 * still empty.)
			 */
			if ((item = sb_look_again(st)) != (Datum) 0)
				return item;
			/* an expired hold is free: take it before queueing */
			if (answer_from_free_row(st, SB_EXPIRED_HOLD, &item, &again))
				return item;
			if (again)
				continue;

			/*
			 * Queue as a claimer of the first hole (wait (c)): the holder of
			 * its slot lock is a claimer inside a section that never waits,
			 * and so is everybody queued before us.  When our turn comes
			 * the slot is filled (its row is then in flight or committed,
			 * and the next look sees it) or still empty, and then ours.
			 */
			switch (sb_fetch_claim_slot(st, sv.gaps[0], SB_SLOT_WAIT, &item))
			{
				case SB_CLAIMED:
					return item;
				case SB_DEDUP_TAKEN:
					if ((item = sb_after_dedup_conflict(st)) != (Datum) 0)
						return item;
					break;
				case SB_SLOT_TAKEN:
					break;
			}
			continue;
		}

		/* last, the hold that expired first */
		if (answer_from_free_row(st, SB_EXPIRED_HOLD, &item, &again))
			return item;
		if (again)
			continue;

		/*
		 * Nothing free: is anything in flight that may come back (a claim
		 * of a hole, of a released item, or the takeover of an expired
		 * hold, each of which may roll back)?
		 */
		pending = sv.pending;
		if (!TransactionIdIsValid(pending))
			sb_survey_released(st->bank_id, &pending, &relook);
		if (!TransactionIdIsValid(pending))
			pending = sb_survey_expired_holds(st->bank_id);
		if (!TransactionIdIsValid(pending) && !relook)
			return (Datum) 0;	/* sold out */
		if (sb_xact_has_claims)
			return (Datum) 0;	/* the rule: never wait while holding a claim */

		/*
		 * A free row that the transaction snapshot cannot see (released
		 * after it was taken) would be looked at again forever: under
		 * REPEATABLE READ and SERIALIZABLE that is a serialization failure.
		 */
		if (!TransactionIdIsValid(pending) && IsolationUsesXactSnapshot())
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to a concurrent release"),
					 errhint("Retry the transaction.")));

		if (TransactionIdIsValid(pending) && pending == sv.pending &&
			sv.pending_token != 0)
		{
			/*
			 * A claim row still being inserted speculatively: it is
			 * confirmed or killed within its claimer's insert, and the
			 * claimer may have nothing else to hand out to anybody; wait
			 * for the insert, not for its transaction.
			 */
			SpeculativeInsertionWait(pending, sv.pending_token);
		}
		else if (TransactionIdIsValid(pending))
			XactLockTableWait(pending, NULL, NULL, XLTW_None);
		else
			pg_usleep(RELOOK_USEC);
		if ((item = sb_look_again(st)) != (Datum) 0)
			return item;
	}
}
