/*-------------------------------------------------------------------------
 *
 * bank_claim.h
 *	  The writes of the item bank (bank_claim.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef BANK_CLAIM_H
#define BANK_CLAIM_H

#include "postgres.h"

#include "executor/spi.h"

typedef enum SbClaimResult
{
	SB_CLAIMED,					/* the slot is ours (uncommitted) */
	SB_SLOT_TAKEN,				/* somebody else has or is taking the slot */
	SB_DEDUP_TAKEN				/* another transaction claimed our dedup_id */
} SbClaimResult;

extern void sb_claim_begin(void);
extern void sb_claim_end(void);
extern SbClaimResult sb_claim_empty_slot(int32 bank_id, int64 slot,
										 int32 scope_id, Datum dedup_id,
										 Datum item);
extern int64 sb_claim_released(int32 bank_id, int32 scope_id, Datum dedup_id,
							   bool *dedup_taken);
extern void sb_raise_watermark(int32 bank_id, int64 upto);
extern SPIPlanPtr sb_prepare_as_owner(const char *sql, int nargs, Oid *argtypes);
extern int	sb_run_plan_as_owner(SPIPlanPtr plan, Datum *args);
extern void sb_wait_for_slot(int32 bank_id, int64 slot);

#endif							/* BANK_CLAIM_H */
