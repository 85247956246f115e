/*-------------------------------------------------------------------------
 *
 * bank_fetch.h
 *	  What the files of a fetch share (bank_fetch.c, bank_settle.c,
 *	  bank_reuse.c).  Not used outside the fetch.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BANK_FETCH_H
#define BANK_FETCH_H

#include "postgres.h"

#include "access/transam.h"
#include "utils/snapshot.h"

#include "bank_cache.h"
#include "bank_claim.h"
#include "bank_holder.h"

/* What one fetch knows about its bank. */
typedef struct FetchState
{
	BankCacheEntry *bank;
	int32		bank_id;
	int32		scope_id;
	Datum		dedup_id;		/* text */
	int64		items_total;
	int64		settled_upto;	/* the watermark */
	MemoryContext result_cxt;	/* where the returned item is allocated */
	const Interval *hold_for;	/* sb_hold_item: how long; NULL: permanent */
	bool		own_expired;	/* dedup_id's own hold was seen expired */
	int32		own_expired_bank;	/* in this bank (of the scope) */
} FetchState;

/* Whether the current transaction has made a claim (bank_fetch.c). */
extern bool sb_xact_has_claims;
extern void sb_fetch_init(FetchState *st, BankCacheEntry *bank,
						  const Interval *hold_for, MemoryContext result_cxt);
extern Datum sb_fetch_one(FetchState *st, Datum dedup_id);
extern Datum sb_fetch_answer(FetchState *st, const SbHolding *h);
extern void sb_note_claim(void);

/* bank_fetch.c: looks at the bank, and the claim of one slot */
extern Snapshot sb_look_begin(void);
extern void sb_look_end(void);
extern Datum sb_fetch_slot_item(FetchState *st, int64 slot);
extern Datum sb_fetch_held_item(FetchState *st, Snapshot snap);
extern void sb_read_bank_counts(FetchState *st, Snapshot snap);
extern Datum sb_look_again(FetchState *st);
extern Datum sb_after_dedup_conflict(FetchState *st);
extern bool sb_waited_for_same_dedup_id(FetchState *st);
extern SbClaimResult sb_fetch_claim_slot(FetchState *st, int64 slot,
										 SbSlotLockMode mode, Datum *item);

/* bank_settle.c: the slow path */
extern void sb_survey_behind(FetchState *st, int64 slot, bool claimed_last_hole);
extern Datum sb_fetch_leftover(FetchState *st);

/* bank_reuse.c: released items */
extern bool sb_has_released_item(FetchState *st, Snapshot snap);
extern void sb_survey_released(int32 bank_id, TransactionId *pending, bool *relook);

#endif							/* BANK_FETCH_H */
