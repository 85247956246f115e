/*-------------------------------------------------------------------------
 *
 * fetch.h
 *	  One fetch of a bank item (fetch.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_FETCH_H
#define SB_FETCH_H

#include "postgres.h"

#include "bank/fetch_state.h"

extern void sb_fetch_init(FetchState *st, BankCacheEntry *bank,
						  const Interval *hold_for, MemoryContext result_cxt);
extern Datum sb_fetch_one(FetchState *st, Datum dedup_id);

#endif							/* SB_FETCH_H */
