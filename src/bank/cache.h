/*-------------------------------------------------------------------------
 *
 * cache.h
 *	  The per-backend cache of bank identities (bank/cache.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef BANK_CACHE_H
#define BANK_CACHE_H

#include "postgres.h"

#include "access/transam.h"

#include "citus/placement.h"
#include "common/common.h"

/* Holes a fast-path survey hands on to this backend's next fetches, at most. */
#define SB_MAX_HOLES	16

/* What this backend knows of one bank, by name. */
typedef struct BankCacheEntry
{
	char		name[SB_NAME_MAX_BYTES + 1];	/* hash key */
	int32		bank_id;
	int32		scope_id;
	Oid			cursor_seq;
	bool		restricted;		/* as of the last sb_find_bank (rights) */
	/* holes seen behind the cursor by a fast-path survey, to claim next */
	int			nholes;
	int64		holes[SB_MAX_HOLES];
	/* the in-flight transaction that stopped the last fast-path survey */
	TransactionId survey_blocker;
	/* how far the last fast-path survey looked */
	int64		survey_upto;
} BankCacheEntry;

/* The per-bank rights a function needs (sb_require_bank_right). */
typedef enum SbBankRight
{
	SB_RIGHT_FETCH,				/* fetch, hold, confirm, release */
	SB_RIGHT_LOOK,				/* lookup: fetch or read */
	SB_RIGHT_READ				/* the holder export: read, always */
} SbBankRight;

extern BankCacheEntry *sb_find_bank(text *bank, bool lock_cursor);
extern bool sb_bank_is_remote(text *bank, int32 *scope_id);
extern bool sb_bank_id_is_remote(int32 bank_id, int32 *scope_id);
extern bool sb_bank_scope(text *bank, int32 *scope_id);

/*
 * At the top of a bank function that Citus's layout can route: answer from
 * the node that holds the bank's dedup scope when that is not this one.
 */
#define SB_ROUTE_IF_REMOTE(fcinfo, bank) \
	do { \
		int32		route_scope_; \
		if (sb_bank_is_remote((bank), &route_scope_)) \
			return sb_placement_route((fcinfo), route_scope_); \
	} while (0)
extern void sb_require_bank_right(BankCacheEntry *entry, SbBankRight right);
extern void sb_require_right_on_bank_id(int32 bank_id, SbBankRight right);

/* The bank and dedup_id arguments of a holder function, checked. */
extern bool sb_holder_remote(FunctionCallInfo fcinfo, int32 *scope_id);
extern BankCacheEntry *sb_holder_args(FunctionCallInfo fcinfo, bool lock_cursor,
									  SbBankRight right);

#endif							/* BANK_CACHE_H */
