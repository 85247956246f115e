/*-------------------------------------------------------------------------
 *
 * load.c
 *	  The bulk part of sb_add_items: number the new items and insert them.
 *
 * Locking: the caller holds the bank row lock, which serializes loaders of
 * one bank, so no concurrent load can insert an item between the probe and
 * the insert.  Fetchers never write the item table.
 *
 * The design, the lock protocol and the global lock order:
 * docs/design.md, "Loading items".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "bank/cache.h"
#include "bank/claim.h"
#include "bank/owner_sql.h"
#include "bank/probe.h"
#include "citus/placement.h"
#include "common/common.h"

PG_FUNCTION_INFO_V1(sb_load_items);

/* A hash set of texts: the key is a pointer to the text. */
static uint32
text_ptr_hash(const void *key, Size keysize)
{
	text	   *t = *(text *const *) key;

	return hash_bytes((const unsigned char *) VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

static int
text_ptr_match(const void *key1, const void *key2, Size keysize)
{
	text	   *a = *(text *const *) key1;
	text	   *b = *(text *const *) key2;
	Size		len = VARSIZE_ANY_EXHDR(a);

	if (len != VARSIZE_ANY_EXHDR(b))
		return 1;
	return memcmp(VARDATA_ANY(a), VARDATA_ANY(b), len);
}

/* Whether the bank already has this item, under the active snapshot. */
static bool
bank_has_item(Datum bank_id, Datum item)
{
	SbProbeKey	keys[2] = {{F_INT4EQ, bank_id}, {F_TEXTEQ, item}};

	return sb_probe(SB_ITEM, SB_ITEM_UNIQUE, 2, keys, ForwardScanDirection,
					GetActiveSnapshot(), 0, NULL, NULL, NULL);
}

/* The insert of new items; in the Citus layout the item row has its scope. */
static const char load_sql[] =
"INSERT INTO %1$s (bank_id, slot, item)"
" SELECT $1, u.slot, u.item"
"   FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(slot, item)";
static const char load_sql_layout[] =
"INSERT INTO %1$s (bank_id, slot, item, scope_id)"
" SELECT $1, u.slot, u.item, $4"
"   FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(slot, item)";

/*
 * load_items(bank_id integer, items_total bigint, items text[]) returns bigint
 *
 * Inserts the new items of the array as slots items_total+1.. and returns
 * how many.  The caller has checked the array (no NULL, empty or too long
 * item) and holds the bank row lock.
 */
Datum
sb_load_items(PG_FUNCTION_ARGS)
{
	Datum		bank_id = PG_GETARG_DATUM(0);
	int64		items_total = PG_GETARG_INT64(1);
	ArrayType  *items = PG_GETARG_ARRAYTYPE_P(2);
	int32		scope_id = -1;
	MemoryContext work;
	MemoryContext old;
	Datum	   *elems;
	int			nelems;
	Datum	   *new_items;
	Datum	   *new_slots;
	int			nnew = 0;
	HASHCTL		ctl;
	HTAB	   *seen;

	/* in the Citus layout the items go to the shard of the bank's scope */
	if (sb_bank_id_is_remote(DatumGetInt32(bank_id), &scope_id))
		return sb_placement_route(fcinfo, scope_id);
	if (scope_id >= 0)
		sb_placement_require_writable();

	work = AllocSetContextCreate(CurrentMemoryContext, "storagebox load",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);

	deconstruct_array(items, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, NULL, &nelems);
	new_items = palloc(sizeof(Datum) * Max(nelems, 1));
	new_slots = palloc(sizeof(Datum) * Max(nelems, 1));

	ctl.keysize = sizeof(text *);
	ctl.entrysize = sizeof(text *);
	ctl.hash = text_ptr_hash;
	ctl.match = text_ptr_match;
	ctl.hcxt = work;
	seen = hash_create("storagebox load items", Max(nelems, 16), &ctl,
					   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);

	for (int i = 0; i < nelems; i++)
	{
		text	   *item = DatumGetTextPP(elems[i]);
		bool		found;

		CHECK_FOR_INTERRUPTS();
		hash_search(seen, &item, HASH_ENTER, &found);
		if (found)
			continue;			/* repeated in the array */
		if (items_total > 0 && bank_has_item(bank_id, PointerGetDatum(item)))
			continue;			/* already in the bank */
		new_items[nnew] = PointerGetDatum(item);
		new_slots[nnew] = Int64GetDatum(items_total + nnew + 1);
		nnew++;
	}

	if (nnew > 0)
	{
		Oid			argtypes[4] = {INT4OID, INT8ARRAYOID, TEXTARRAYOID, INT4OID};
		Datum		args[4];
		int			rc;
		const char *sql;

		args[0] = bank_id;
		args[1] = PointerGetDatum(construct_array(new_slots, nnew, INT8OID,
												  sizeof(int64), FLOAT8PASSBYVAL,
												  TYPALIGN_DOUBLE));
		args[2] = PointerGetDatum(construct_array(new_items, nnew, TEXTOID,
												  -1, false, TYPALIGN_INT));
		args[3] = Int32GetDatum(scope_id);
		sql = sb_statement_text(scope_id >= 0 ? load_sql_layout : load_sql, SB_ITEM);
		SPI_connect();
		rc = SPI_execute_with_args(sql, scope_id >= 0 ? 4 : 3, argtypes, args,
								   NULL, false, 0);
		if (rc != SPI_OK_INSERT || SPI_processed != (uint64) nnew)
			elog(ERROR, "storagebox: loading items inserted " UINT64_FORMAT " of %d rows",
				 SPI_processed, nnew);
		SPI_finish();
	}

	/*
	 * Fetchers that found the bank empty moved the cursor past the old end;
	 * bring it back so the new slots are handed out in order.  On a plain
	 * server sb_add_items does this; in the Citus layout the cursor that
	 * counts is this node's.
	 */
	if (nnew > 0 && scope_id >= 0)
	{
		Oid			cursor = sb_placement_cursor(DatumGetInt32(bank_id), InvalidOid);
		if (OidIsValid(cursor))
		{
			LOCAL_FCINFO(last, 1);
			Datum		value;

			InitFunctionCallInfoData(*last, NULL, 1, InvalidOid, NULL, NULL);
			last->args[0].value = ObjectIdGetDatum(cursor);
			last->args[0].isnull = false;
			value = pg_sequence_last_value(last);
			if (!last->isnull && DatumGetInt64(value) > items_total)
				sb_cursor_move_to(cursor, items_total);
		}
	}

	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	PG_RETURN_INT64(nnew);
}
