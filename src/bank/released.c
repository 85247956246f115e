/*-------------------------------------------------------------------------
 *
 * released.c
 *	  Released items: finding them, and seeing who is claiming them.
 *
 * Lock order: the reads here take no lock beyond AccessShareLock and never
 * wait.  A free row locked by somebody else's claim is skipped by the
 * claim; sb_survey_released reports it so that the slow path can tell
 * "sold out" from "an item may come back".  A release in flight is never
 * waited for (it is not yet an item back in the bank).
 *
 * The design, the lock protocol and the global lock order:
 * docs/design.md, "Released items".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "miscadmin.h"
#include "utils/fmgroids.h"

#include "bank/probe.h"
#include "bank/released.h"
#include "bank/probe.h"

/* Whether snap sees a released item in the bank. */
bool
sb_has_released_item(int32 bank_id, Snapshot snap)
{
	SbProbeKey	key = {F_INT4EQ, Int32GetDatum(bank_id)};

	return sb_probe(SB_CLAIM, SB_CLAIM_FREE, 1, &key, ForwardScanDirection,
					snap, 0, NULL, NULL, NULL);
}

/*
 * Survey the released items: a transaction claiming one of them, if any,
 * and whether one is committed free but was locked in passing (somebody's
 * claim is between its row lock and its update).
 */
void
sb_survey_released(int32 bank_id, TransactionId *pending, bool *relook)
{
	SbClaimScan cs;
	SbClaimVersion v;

	*pending = InvalidTransactionId;
	*relook = false;
	sb_claim_scan_begin(&cs, SB_CLAIM_FREE, bank_id, 0);
	while (sb_claim_scan_next(&cs, &v))
	{
		CHECK_FOR_INTERRUPTS();
		if (!v.free || v.own)
			continue;
		if (TransactionIdIsValid(v.deleting))
		{
			*pending = v.deleting;
			break;
		}
		if (!TransactionIdIsValid(v.inserting))
			*relook = true;
	}
	sb_claim_scan_end(&cs);
}
