/*-------------------------------------------------------------------------
 *
 * hold_expiry.h
 *	  Holds that expire (bank/hold_expiry.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef BANK_HOLD_H
#define BANK_HOLD_H

#include "postgres.h"

#include "access/transam.h"
#include "datatype/timestamp.h"
#include "utils/snapshot.h"

/* What a claim records besides its holder: since when, and until when. */
typedef struct SbClaimStamp
{
	TimestampTz held_since;
	TimestampTz hold_expires;	/* meaningful only if is_hold */
	bool		is_hold;
} SbClaimStamp;

extern SbClaimStamp sb_claim_stamp(const Interval *hold_for);
extern bool sb_hold_has_expired(TimestampTz hold_expires);
extern void sb_check_hold_for(const Interval *hold_for);
extern bool sb_bank_has_expired_hold(int32 bank_id, Snapshot snap);
extern TransactionId sb_survey_expired_holds(int32 bank_id);

#endif							/* BANK_HOLD_H */
