/*-------------------------------------------------------------------------
 *
 * storagebox.h
 *	  Declarations shared by the storagebox C files.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STORAGEBOX_H
#define STORAGEBOX_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "fmgr.h"
#include "utils/tuplestore.h"

#include "pg_compat.h"

/* Longest accepted values, in bytes (btree keys must stay well under 2.7kB). */
#define SB_NAME_MAX_BYTES		200
#define SB_DEDUP_ID_MAX_BYTES	1024
#define SB_ITEM_MAX_BYTES		2048

/* name_cache.c, errors.c, set_result.c */
extern struct HTAB *sb_name_cache_create(const char *tabname, Size entrysize);
SB_NORETURN extern void sb_rethrow_without_internal_context(const char *our_prefix);
extern Tuplestorestate *sb_begin_set_result(FunctionCallInfo fcinfo, TupleDesc *desc);

/* args.c: argument checks; each raises a precise error and returns on success */
extern void sb_require_text(const char *what, text *value, int max_bytes);
extern void sb_require_arg(const char *what, bool isnull);


#endif							/* STORAGEBOX_H */
