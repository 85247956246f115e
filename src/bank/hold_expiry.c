/*-------------------------------------------------------------------------
 *
 * hold_expiry.c
 *	  When a hold ends: the stamps a claim records, the check of hold_for,
 *	  and the expired holds of a bank.
 *
 * Design, lock order and the deadlock and liveness arguments:
 * docs/design.md.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/datetime.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/timestamp.h"

#include "bank/hold_expiry.h"
#include "bank/probe.h"

/*
 * from + hold_for.  hold_for is checked on entry (check_hold_for), so this
 * cannot overflow unless the clock jumps by centuries.
 */
static TimestampTz
hold_expiry(TimestampTz from, const Interval *hold_for)
{
	return DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
												   TimestampTzGetDatum(from),
												   PointerGetDatum(hold_for)));
}

/* The stamp of a claim made now: permanent, or a hold for hold_for. */
SbClaimStamp
sb_claim_stamp(const Interval *hold_for)
{
	SbClaimStamp stamp;

	stamp.held_since = GetCurrentTimestamp();
	stamp.is_hold = hold_for != NULL;
	stamp.hold_expires = stamp.is_hold ? hold_expiry(stamp.held_since, hold_for) : 0;
	return stamp;
}

/* Whether a hold that lasts until hold_expires is over. */
bool
sb_hold_has_expired(TimestampTz hold_expires)
{
	return hold_expires <= GetCurrentTimestamp();
}

/*
 * hold_for must give a hold that ends after now and that a timestamp can
 * express.  Rough bounds first (a month counts as 31 days, so no interval
 * passes them whose end is out of range), then the exact end.
 */
void
sb_check_hold_for(const Interval *hold_for)
{
	TimestampTz now = GetCurrentTimestamp();
	double		span = (double) hold_for->month * 31.0 * USECS_PER_DAY +
		(double) hold_for->day * USECS_PER_DAY + (double) hold_for->time;
	double		room = (double) (END_TIMESTAMP - now) - 2.0 * 31.0 * USECS_PER_DAY;

	if (span > room)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("hold_for is out of range"),
				 errdetail("A hold must end at a time that a timestamp can hold."),
				 errhint("Use sb_fetch_item() for an item that is kept until it is released.")));
	if (span < -room || hold_expiry(now, hold_for) <= now)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hold_for must be positive"),
				 errdetail("The hold given would end at or before the time it starts.")));
}

/*
 * Whether snap sees a hold of the bank that has expired: the first entry of
 * the bank in claim_held, which is ordered by expiry.
 */
bool
sb_bank_has_expired_hold(int32 bank_id, Snapshot snap)
{
	SbProbeKey	key = {F_INT4EQ, Int32GetDatum(bank_id)};
	AttrNumber	att = sb_column(SB_COL_CLAIM_HOLD_EXPIRES);
	Datum		expires;
	bool		isnull;

	if (!sb_schema_has_holds())
		return false;
	return sb_probe(SB_CLAIM, SB_CLAIM_HELD, 1, &key, ForwardScanDirection,
					snap, 1, &att, &expires, &isnull) &&
		!isnull && sb_hold_has_expired(DatumGetTimestampTz(expires));
}

/*
 * A transaction, other than ours, that is changing (taking over,
 * confirming, releasing) an expired hold of the bank, or that holds a row
 * lock on one (a takeover between its FOR UPDATE SKIP LOCKED and its
 * UPDATE), or InvalidTransactionId.  Dirty read; never waits.
 */
TransactionId
sb_survey_expired_holds(int32 bank_id)
{
	SbClaimScan cs;
	SbClaimVersion v;
	TransactionId pending = InvalidTransactionId;
	AttrNumber	att = sb_column(SB_COL_CLAIM_HOLD_EXPIRES);

	if (!sb_schema_has_holds())
		return InvalidTransactionId;
	sb_claim_scan_begin(&cs, SB_CLAIM_HELD, bank_id, 0);
	while (sb_claim_scan_next(&cs, &v))
	{
		bool		isnull;
		Datum		expires;

		CHECK_FOR_INTERRUPTS();
		expires = slot_getattr(cs.slot, att, &isnull);
		if (isnull || !sb_hold_has_expired(DatumGetTimestampTz(expires)))
			break;				/* ordered by expiry: the rest are live */
		if (TransactionIdIsValid(v.deleting))
		{
			pending = v.deleting;
			break;
		}
		/* a takeover between its FOR UPDATE and its UPDATE */
		pending = sb_claim_scan_locker(&cs);
		if (TransactionIdIsValid(pending))
			break;
	}
	sb_claim_scan_end(&cs);
	return pending;
}

