/*-------------------------------------------------------------------------
 *
 * bank_batch.c
 *	  sb_fetch_items(bank, dedup_ids): one call that gives each of many
 *	  dedup_ids its item.
 *
 * Each distinct dedup_id is fetched exactly as sb_fetch_item would fetch it
 * (bank_fetch.c: the same repeat, the same claim, the same waits), one
 * after another in one call, so every guarantee of a single fetch holds for
 * each of them.  What the batch saves is the per-call work: the argument
 * checks, the bank lookup and the right check are done once.
 *
 * Lock order: the ids are taken in ascending byte order (COLLATE "C").  The
 * only wait a fetch makes while it holds uncommitted claims is wait (a),
 * for a transaction claiming the same dedup_id (bank_fetch.c).  Two batches
 * that share ids therefore meet in one order: the one that reaches a shared
 * id second waits for the first, and the first never waits for an id that
 * sorts before one the second already holds.  So two batches never deadlock
 * each other, whatever order their arrays list the ids in.
 *
 * Rows come out in that order, one per distinct dedup_id, with a NULL item
 * for ids that found the bank sold out.  The result is a tuplestore (it
 * spills to a temporary file beyond work_mem); memory for each fetch is
 * freed before the next one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "bank_cache.h"
#include "bank_fetch.h"
#include "storagebox.h"

PG_FUNCTION_INFO_V1(sb_fetch_items);

/* Byte order of two text values: the order of COLLATE "C". */
static int
compare_ids(const void *a, const void *b)
{
	text	   *x = DatumGetTextPP(*(const Datum *) a);
	text	   *y = DatumGetTextPP(*(const Datum *) b);
	int			xlen = VARSIZE_ANY_EXHDR(x);
	int			ylen = VARSIZE_ANY_EXHDR(y);
	int			r = memcmp(VARDATA_ANY(x), VARDATA_ANY(y), Min(xlen, ylen));

	if (r != 0)
		return r;
	return (xlen > ylen) - (xlen < ylen);
}

/*
 * The elements of dedup_ids, each checked as a dedup_id (positions in the
 * errors are 1-based, in array order), sorted and without duplicates.
 */
static Datum *
sorted_distinct_ids(ArrayType *dedup_ids, int *count)
{
	Datum	   *ids;
	bool	   *nulls;
	int			n;
	int			kept = 0;

	deconstruct_array(dedup_ids, TEXTOID, -1, false, TYPALIGN_INT, &ids, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		text	   *id;
		int			len;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("dedup_ids must not contain null"),
					 errdetail("Element %d is null.", i + 1)));
		id = DatumGetTextPP(ids[i]);
		ids[i] = PointerGetDatum(id);
		len = VARSIZE_ANY_EXHDR(id);
		if (len == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("dedup_ids must not contain an empty string"),
					 errdetail("Element %d is empty.", i + 1)));
		if (len > SB_DEDUP_ID_MAX_BYTES)
			ereport(ERROR,
					(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
					 errmsg("dedup_id is too long"),
					 errdetail("Element %d is %d bytes long; the limit is %d bytes.",
							   i + 1, len, SB_DEDUP_ID_MAX_BYTES)));
	}
	if (n > 1)
		qsort(ids, n, sizeof(Datum), compare_ids);
	for (int i = 0; i < n; i++)
		if (kept == 0 || compare_ids(&ids[kept - 1], &ids[i]) != 0)
			ids[kept++] = ids[i];
	*count = kept;
	return ids;
}

/*
 * sb_fetch_items(bank text, dedup_ids text[])
 *		returns table (dedup_id text, item text)
 */
Datum
sb_fetch_items(PG_FUNCTION_ARGS)
{
	text	   *bank;
	Datum	   *ids;
	int			count;
	BankCacheEntry *entry;
	TupleDesc	desc;
	Tuplestorestate *store;
	MemoryContext per_id;
	FetchState	st;

	sb_require_arg("bank", PG_ARGISNULL(0));
	sb_require_arg("dedup_ids", PG_ARGISNULL(1));
	bank = PG_GETARG_TEXT_PP(0);
	sb_require_text("bank", bank, SB_NAME_MAX_BYTES);
	ids = sorted_distinct_ids(PG_GETARG_ARRAYTYPE_P(1), &count);

	PreventCommandIfReadOnly("sb_fetch_items()");

	entry = sb_find_bank(bank, true);
	sb_require_bank_right(entry, SB_RIGHT_FETCH);
	store = sb_begin_set_result(fcinfo, &desc);

	per_id = AllocSetContextCreate(CurrentMemoryContext, "storagebox batch fetch",
								   ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < count; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(per_id);
		Datum		values[2];
		bool		nulls[2] = {false, false};

		CHECK_FOR_INTERRUPTS();
		sb_fetch_init(&st, entry, NULL, per_id);
		values[0] = ids[i];
		values[1] = sb_fetch_one(&st, ids[i]);
		nulls[1] = values[1] == (Datum) 0;
		tuplestore_putvalues(store, desc, values, nulls);
		MemoryContextSwitchTo(old);
		MemoryContextReset(per_id);
	}
	MemoryContextDelete(per_id);
	return (Datum) 0;
}
