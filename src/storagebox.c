/*-------------------------------------------------------------------------
 *
 * storagebox.c
 *	  Module entry point: the magic block and the storagebox.* settings.
 *
 * The rest of the extension is split by concern:
 *	  args.c		argument checks shared by every SQL entry point
 *	  bank_fetch.c	sb_fetch_item, the exactly-once claim of a bank item
 *	  seq_run.c		taking a contiguous run of N values from a sequence
 *	  dispenser.c	sb_next and the PEZ-style entry points on top of it
 *
 * It also holds the one helper the per-backend name caches of bank_fetch.c
 * and dispenser.c share.
 *
 * storagebox.max_count bounds the batch size of sb_next().  It protects the
 * server (one call builds an array of that many numbers), so only a
 * superuser, or a role granted SET on it, may change it (PGC_SUSET).  Once
 * this library is loaded in a session, PostgreSQL refuses an unprivileged
 * SET at SET time.  Before that, it cannot know the name and keeps the
 * value as a placeholder; defining the variable here re-checks the
 * placeholder against PGC_SUSET and drops it with a WARNING, so it never
 * takes effect.  session_preload_libraries makes every SET be refused at
 * once (README, Settings).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "citus_delegate.h"
#include "storagebox.h"

PG_MODULE_MAGIC;

/* Largest count accepted by sb_next(dispenser, count). */
int			sb_max_count = 100;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomIntVariable("storagebox.max_count",
							"Largest batch that sb_next(dispenser, count) hands out in one call.",
							"A count below 1 or above this limit is rejected.",
							&sb_max_count,
							100,
							1,
							1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	sb_delegation_init();

	MarkGUCPrefixReserved("storagebox");
}

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

/*
 * Re-throw the error being handled (call from PG_CATCH, in a memory context
 * that outlives it) without the text of our internal statements: the
 * context lines below the line that starts with our_prefix (SPI's "SQL
 * statement" lines) are dropped, and so is the internal query.
 */
void
sb_rethrow_without_internal_context(const char *our_prefix)
{
	ErrorData  *edata = CopyErrorData();
	char	   *ours;

	FlushErrorState();
	if (edata->context != NULL &&
		(ours = strstr(edata->context, our_prefix)) != NULL)
		edata->context = ours;
	edata->internalquery = NULL;
	edata->internalpos = 0;
	edata->cursorpos = 0;
	ReThrowError(edata);
}

/*
 * Start the result of a set-returning function in materialize mode: a
 * tuplestore that keeps at most work_mem in memory (the rest goes to a
 * temporary file), and the tuple descriptor of the declared result.
 */
Tuplestorestate *
sb_begin_set_result(FunctionCallInfo fcinfo, TupleDesc *desc)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old;
	Tuplestorestate *store;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	*desc = CreateTupleDescCopy(*desc);
	store = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(old);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = *desc;
	return store;
}
