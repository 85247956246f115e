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

typedef enum SbClaimResult
{
	SB_CLAIMED,					/* the slot is ours (uncommitted) */
	SB_SLOT_TAKEN,				/* somebody else has or is taking the slot */
	SB_DEDUP_TAKEN				/* another transaction claimed our dedup_id */
} SbClaimResult;

extern SbClaimResult sb_claim_empty_slot(int32 bank_id, int64 slot,
										 int32 scope_id, Datum dedup_id);
extern int64 sb_claim_released(int32 bank_id, int32 scope_id, Datum dedup_id,
							   bool *dedup_taken);
extern void sb_raise_watermark(int32 bank_id, int64 upto);
extern void sb_wait_for_slot(int32 bank_id, int64 slot);

#endif							/* BANK_CLAIM_H */
