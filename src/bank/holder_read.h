/*-------------------------------------------------------------------------
 *
 * holder_read.h
 *	  Reading what a dedup_id holds (bank/holder_read.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef BANK_HOLDER_H
#define BANK_HOLDER_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "bank/cache.h"
#include "bank/probe.h"
#include "utils/snapshot.h"

/* What a dedup_id holds in a scope (sb_read_holding). */
typedef struct SbHolding
{
	bool		found;			/* the holder key has a row */
	Datum		item;			/* the item held, or (Datum) 0 */
	int32		bank_id;		/* the bank of the row */
	bool		is_hold;		/* the row is a hold (hold_expires set) */
	bool		expired;		/* a hold past its expiry: item is (Datum) 0 */
	TimestampTz hold_expires;
	bool		in_flight;		/* dirty snapshot: another xact inserting it */
	TransactionId changer;		/* dirty snapshot: another xact updating it */
} SbHolding;

extern Datum sb_item_in_slot(int32 bank_id, int64 slot, Snapshot snap);
extern Datum sb_held_item(int32 scope_id, Datum dedup_id, Snapshot snap);
extern void sb_read_holding(int32 scope_id, Datum dedup_id, Snapshot snap,
							SbHolding *h);
extern void sb_read_holding_with(SbProbeScan *ps, int32 scope_id,
								 Datum dedup_id, Snapshot snap, SbHolding *h);

#endif							/* BANK_HOLDER_H */
