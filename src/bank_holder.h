/*-------------------------------------------------------------------------
 *
 * bank_holder.h
 *	  Reading what a dedup_id holds (bank_holder.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef BANK_HOLDER_H
#define BANK_HOLDER_H

#include "postgres.h"

#include "utils/snapshot.h"

extern Datum sb_item_in_slot(int32 bank_id, int64 slot, Snapshot snap);
extern Datum sb_held_item(int32 scope_id, Datum dedup_id, Snapshot snap);
extern Datum sb_held_item_ext(int32 scope_id, Datum dedup_id, Snapshot snap,
							  bool *in_flight);

#endif							/* BANK_HOLDER_H */
