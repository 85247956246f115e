/*-------------------------------------------------------------------------
 *
 * claim.h
 *	  The writes of the item bank (bank/claim.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef BANK_CLAIM_H
#define BANK_CLAIM_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "utils/relcache.h"

typedef enum SbClaimResult
{
	SB_CLAIMED,					/* the slot is ours (uncommitted) */
	SB_SLOT_TAKEN,				/* somebody else has or is taking the slot */
	SB_DEDUP_TAKEN				/* another transaction claimed our dedup_id */
} SbClaimResult;

/* How a claim of an empty slot takes the slot lock (sb_claim_empty_slot). */
typedef enum SbSlotLockMode
{
	SB_SLOT_TRY,				/* conditionally: never waits */
	SB_SLOT_WAIT				/* queues behind the slot's other claimers */
} SbSlotLockMode;

/* The free rows a claim can take over (sb_claim_free_row). */
typedef enum SbFreeRow
{
	SB_RELEASED_ROW,			/* a released item */
	SB_EXPIRED_HOLD				/* a hold past its expiry */
} SbFreeRow;

/* What sb_take_back_own_hold did with dedup_id's own expired hold. */
typedef enum SbTakeBack
{
	SB_NO_OWN_HOLD,				/* none (or another transaction is taking it) */
	SB_TAKEN_BACK,				/* held again, in place */
	SB_OWN_HOLD_FREED			/* it was in another bank of the scope: freed */
} SbTakeBack;

extern void sb_claim_begin(void);
extern void sb_claim_end(void);
/* The claim table opened for inserts (sb_inserter_open). */
typedef struct SbClaimInserter
{
	Relation	rel;
	struct EState *estate;
	struct ResultRelInfo *rri;
	struct TupleTableSlot *row;
} SbClaimInserter;

extern void sb_inserter_open(SbClaimInserter *ins);
extern void sb_inserter_close(SbClaimInserter *ins);
extern SbClaimResult sb_claim_empty_slot(SbClaimInserter *ins,
										 SbSlotLockMode mode, int32 bank_id,
										 int64 slot, int32 scope_id,
										 Datum dedup_id, Datum item,
										 const Interval *hold_for);
extern int64 sb_claim_free_row(SbFreeRow kind, int32 bank_id, int32 scope_id,
							   Datum dedup_id, const Interval *hold_for,
							   bool *dedup_taken);
extern SbTakeBack sb_take_back_own_hold(int32 bank_id, int32 row_bank,
										int32 scope_id, Datum dedup_id,
										const Interval *hold_for,
										MemoryContext item_cxt, Datum *item);
extern void sb_raise_watermark(int32 bank_id, int64 upto);

#endif							/* BANK_CLAIM_H */
