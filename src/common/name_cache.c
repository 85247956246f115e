/*-------------------------------------------------------------------------
 *
 * name_cache.c
 *	  The per-backend hash tables of names that the bank and dispenser
 *	  caches share.
 *
 * Design, lock order and the deadlock and liveness arguments:
 * docs/design.md.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "common/common.h"

/*
 * A backend-lifetime hash table keyed by a bank or dispenser name (a C
 * string of at most SB_NAME_MAX_BYTES bytes, the first field of the entry).
 */
HTAB *
sb_name_cache_create(const char *tabname, Size entrysize)
{
	HASHCTL		ctl;

	ctl.keysize = SB_NAME_MAX_BYTES + 1;
	ctl.entrysize = entrysize;
	ctl.hcxt = TopMemoryContext;
	return hash_create(tabname, 16, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

