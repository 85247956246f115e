/*-------------------------------------------------------------------------
 *
 * fetch_state.h
 *	  The state of one fetch, and its steps (fetch_state.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_FETCH_STATE_H
#define SB_FETCH_STATE_H

#include "postgres.h"

#include "access/transam.h"
#include "utils/snapshot.h"

#include "bank/cache.h"
#include "bank/claim.h"
#include "bank/holder_read.h"

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

/* Whether the current transaction has made a claim. */
extern bool sb_xact_has_claims;
extern void sb_note_claim(void);
extern Datum sb_fetch_answer(FetchState *st, const SbHolding *h);
extern Datum sb_fetch_take_back_own_hold(FetchState *st, int32 row_bank);

/* looks at the bank, and the claim of one slot */
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

#endif							/* SB_FETCH_STATE_H */
