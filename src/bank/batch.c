/*-------------------------------------------------------------------------
 *
 * batch.c
 *	  sb_fetch_items(bank, dedup_ids): one call that gives each of many
 *	  dedup_ids its item.
 *
 * Lock order: the ids are taken in ascending byte order (COLLATE "C").  The
 * only wait a fetch makes while its transaction holds uncommitted claims is
 * wait (a), for a transaction claiming the same dedup_id (bank/fetch.c).
 * Two batches that share ids therefore meet in one order: the one that
 * reaches a shared id second waits for the first, and the first never
 * waits for an id that sorts before one the second already holds.  So two
 * batches never deadlock each other, whatever order their arrays list the
 * ids in.
 *
 * The design, the lock protocol and the global lock order:
 * docs/design.md, "Batches".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"

#include "bank/cache.h"
#include "bank/claim.h"
#include "bank/fetch.h"
#include "bank/settle.h"
#include "bank/holder_read.h"
#include "bank/probe.h"
#include "common/common.h"

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

/* How many ids an answer "sold out" stands for before it is checked again. */
#define SOLD_OUT_RECHECK	10000

/* What a batch keeps open across its fetches (the fast path). */
typedef struct BatchScans
{
	SnapshotData holder_dirty;
	SbProbeScan holder;			/* claim, by the holder key */
	SnapshotData item_dirty;
	SbProbeScan item;			/* item, by its primary key */
	SbClaimInserter inserter;
} BatchScans;

static void
batch_scans_open(BatchScans *bs)
{
	InitDirtySnapshot(bs->holder_dirty);
	InitDirtySnapshot(bs->item_dirty);
	sb_probe_scan_open(&bs->holder, SB_CLAIM, SB_CLAIM_HOLDER_KEY, 2, &bs->holder_dirty);
	sb_probe_scan_open(&bs->item, SB_ITEM, SB_ITEM_PKEY, 2, &bs->item_dirty);
	sb_inserter_open(&bs->inserter);
}

static void
batch_scans_close(BatchScans *bs)
{
	sb_inserter_close(&bs->inserter);
	sb_probe_scan_close(&bs->item);
	sb_probe_scan_close(&bs->holder);
}

/*
 * The fast path of one fetch of a batch, under READ COMMITTED: what
 * sb_fetch_one does in the common cases, through scans and an inserter
 * opened once for the batch.  Answers with the id's item if it holds one
 * (committed, live), or claims the cursor's next slot for it.  Returns
 * false, having changed nothing but perhaps the cursor, whenever the full
 * fetch must decide: a claim of the id in flight, an expired hold, holes
 * to fill first, the cursor at the end of the bank, or a conflict.
 */
static bool
fetch_fast(FetchState *st, BatchScans *bs, Datum id, Datum *item)
{
	SbProbeKey	item_key[2] = {{F_INT4EQ, Int32GetDatum(st->bank_id)}, {F_INT8EQ, 0}};
	AttrNumber	item_att = sb_column(SB_COL_ITEM_ITEM);
	SbHolding	h;
	int64		slot;
	bool		isnull;
	SbClaimResult r;

	InitDirtySnapshot(bs->holder_dirty);
	sb_read_holding_with(&bs->holder, st->scope_id, id, &bs->holder_dirty, &h);
	if (h.found)
	{
		if (h.item == (Datum) 0 || h.in_flight)
			return false;
		*item = sb_fetch_answer(st, &h);
		return true;
	}
	if (st->bank->nholes > 0 || st->settled_upto >= st->items_total)
		return false;
	slot = nextval_internal(st->bank->cursor_seq, false);
	if (slot > st->items_total)
		return false;

	item_key[1].value = Int64GetDatum(slot);
	InitDirtySnapshot(bs->item_dirty);
	if (!sb_probe_scan_find(&bs->item, item_key, ForwardScanDirection, 1,
							&item_att, item, &isnull))
		elog(ERROR, "storagebox bank %d has no item in slot " INT64_FORMAT,
			 st->bank_id, slot);
	r = sb_claim_empty_slot(&bs->inserter, SB_SLOT_TRY, st->bank_id, slot,
							st->scope_id, id, *item, NULL);
	if (r == SB_CLAIMED)
	{
		sb_note_claim();
		st->dedup_id = id;
		sb_claim_begin();
		sb_survey_behind(st, slot, false);
		sb_claim_end();
		return true;
	}
	/* the slot stays empty: a later fetch of this backend takes it */
	if (r == SB_DEDUP_TAKEN && st->bank->nholes < SB_MAX_HOLES)
		st->bank->holes[st->bank->nholes++] = slot;
	return false;
}

/*
 * An id after the bank was found sold out (by the full fetch of an earlier
 * id of the batch): its committed live item if it holds one, else NULL, at
 * the instant of that finding.  False when the id needs the full fetch (a
 * claim of it in flight, or an expired hold of its own).
 */
static bool
answer_after_sold_out(FetchState *st, BatchScans *bs, Datum id, Datum *item)
{
	SbHolding	h;

	InitDirtySnapshot(bs->holder_dirty);
	sb_read_holding_with(&bs->holder, st->scope_id, id, &bs->holder_dirty, &h);
	if (h.found && (h.item == (Datum) 0 || h.in_flight))
		return false;
	*item = sb_fetch_answer(st, &h);
	return true;
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
	BatchScans	bs;
	bool		fast = !IsolationUsesXactSnapshot();
	Snapshot	snap;
	int			sold_out_at = -1;	/* index of the id that found it sold out */

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
	sb_fetch_init(&st, entry, NULL, per_id);
	if (fast && count > 0)
	{
		snap = sb_look_begin();
		sb_read_bank_counts(&st, snap);
		sb_look_end();
		batch_scans_open(&bs);
	}
	for (int i = 0; i < count; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(per_id);
		Datum		values[2];
		bool		nulls[2] = {false, false};

		CHECK_FOR_INTERRUPTS();
		values[0] = ids[i];
		if (sold_out_at >= 0 && fast)
		{
			/* after the bank was found sold out: see the header comment */
			if (i - sold_out_at >= SOLD_OUT_RECHECK ||
				!answer_after_sold_out(&st, &bs, ids[i], &values[1]))
			{
				values[1] = sb_fetch_one(&st, ids[i]);
				sold_out_at = values[1] == (Datum) 0 ? i : -1;
			}
		}
		else if (!fast || !fetch_fast(&st, &bs, ids[i], &values[1]))
		{
			values[1] = sb_fetch_one(&st, ids[i]);
			if (values[1] == (Datum) 0)
				sold_out_at = i;
		}
		nulls[1] = values[1] == (Datum) 0;
		tuplestore_putvalues(store, desc, values, nulls);
		MemoryContextSwitchTo(old);
		MemoryContextReset(per_id);
	}
	if (fast && count > 0)
		batch_scans_close(&bs);
	MemoryContextDelete(per_id);
	return (Datum) 0;
}
