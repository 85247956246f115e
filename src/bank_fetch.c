/*-------------------------------------------------------------------------
 *
 * bank_fetch.c
 *	  sb_fetch_item(bank, dedup_id): hand each dedup_id exactly one item.
 *
 * Design
 * ------
 * A bank's items are numbered 1..items_total ("slots") in
 * storagebox_data.item, which is never updated.  Handing an item out is
 * inserting a row into storagebox_data.claim(bank_id, slot, scope_id,
 * dedup_id).  Two unique indexes carry the guarantees: the primary key
 * (bank_id, slot) means no item is ever held twice, and (scope_id, dedup_id)
 * means a dedup_id holds at most one item per scope.  Whatever the code
 * below gets wrong about timing, those indexes arbitrate.
 *
 * Fast path.  A per-bank sequence (the cursor) gives every fetcher its own
 * fresh slot without any lock or queueing, and the claim is one INSERT ...
 * ON CONFLICT DO NOTHING.  A fetch never looks at slots already handed out,
 * so it costs the same on a full bank and a nearly empty one, and dead
 * tuples left behind by an old snapshot are never walked past (the classic
 * SKIP LOCKED queue slows down in both cases).
 *
 * Holes.  The cursor is not transactional: a fetch that rolls back, or loses
 * a race for the same dedup_id, leaves its slot without a claim behind the
 * cursor, and a crash can skip cursor values.  The "settle" step finds such
 * holes and inserts a free claim row (scope_id and dedup_id NULL) for each,
 * then raises bank_progress.settled_upto: every slot up to it has a claim
 * row.  sb_release turns a held claim into a free one the same way.  Free
 * rows are handed out once the cursor has run past the end of the bank.
 *
 * Settling runs (a) every SETTLE_EVERY slots on the fast path, a good margin
 * behind the cursor and only if no other session is settling (SKIP LOCKED),
 * and (b) on the slow path once the cursor is exhausted, up to the end of
 * the bank.  Inserting a free row for a slot that an uncommitted fetch is
 * claiming waits for that fetch: if it commits the slot is taken, if it
 * rolls back the slot is free.  This is what makes "sold out" true: a fetch
 * waits for uncommitted holders of the last items instead of answering NULL
 * for an item that may come back.
 *
 * Counting.  Because every slot up to settled_upto has a claim row, the
 * sb_banks view counts only claims past the watermark and free claims, both
 * small whatever the size of the bank.
 *
 * Locking
 * -------
 * The fast path takes no row lock at all: RowExclusiveLock on the cursor
 * sequence (held to end of transaction, like nextval; sb_drop_bank's DROP
 * SEQUENCE waits on it) and the index tuple locks of the claim insert.
 * Settling holds the bank's bank_progress row lock until end of transaction.
 * Taking a free row locks it FOR UPDATE SKIP LOCKED, and only if every free
 * row is locked by another fetch does it wait for one.
 *
 * Isolation.  Under READ COMMITTED every statement sees the latest commits.
 * Under REPEATABLE READ and SERIALIZABLE, a conflict with a claim committed
 * after the snapshot raises the ordinary serialization failure (40001); the
 * fast-path settle is skipped there because its snapshot may be stale.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/syscache.h"

#include "storagebox.h"

PG_FUNCTION_INFO_V1(sb_fetch_item);

/* Fast-path settle: every SETTLE_EVERY slots, up to SETTLE_MARGIN behind. */
#define SETTLE_EVERY	256
#define SETTLE_MARGIN	256

/* What one fetch knows about its bank. */
typedef struct FetchState
{
	Datum		bank_id;		/* int4 */
	Datum		scope_id;		/* int4 */
	Datum		dedup_id;		/* text */
	Oid			cursor_seq;
	int64		items_total;
	int64		settled_upto;
} FetchState;

typedef enum FetchPlan
{
	PLAN_BANK,
	PLAN_CLAIM,
	PLAN_HELD,
	PLAN_PROGRESS_TRY_LOCK,
	PLAN_PROGRESS_LOCK,
	PLAN_TOTAL,
	PLAN_SETTLE_FILL,
	PLAN_SETTLE_MARK,
	PLAN_FREE_SKIP,
	PLAN_FREE_WAIT,
	PLAN_FREE_CLAIM,
	PLAN_FREE_RESTORE,
	PLAN_ITEM,
	NUM_FETCH_PLANS
} FetchPlan;

typedef struct PlanSpec
{
	const char *sql;
	int			nargs;
	Oid			argtypes[4];
} PlanSpec;

/*
 * Every query the fetch runs.  The function runs with search_path pinned to
 * pg_catalog, so the operators resolve there; tables are schema-qualified.
 */
static const PlanSpec plan_specs[NUM_FETCH_PLANS] = {
	[PLAN_BANK] = {
		"SELECT b.bank_id, b.scope_id, b.cursor_seq::oid, b.items_total, p.settled_upto,"
		"       (SELECT i.item FROM storagebox_data.claim c"
		"          JOIN storagebox_data.item i ON i.bank_id = c.bank_id AND i.slot = c.slot"
		"         WHERE c.scope_id = b.scope_id AND c.dedup_id = $2),"
		"       CASE WHEN p.settled_upto >= b.items_total THEN"
		"         EXISTS (SELECT FROM storagebox_data.claim f"
		"                  WHERE f.bank_id = b.bank_id AND f.dedup_id IS NULL) END"
		"  FROM storagebox_data.bank b"
		"  JOIN storagebox_data.bank_progress p ON p.bank_id = b.bank_id"
		" WHERE b.bank_name = $1",
		2, {TEXTOID, TEXTOID}
	},
	[PLAN_CLAIM] = {
		"WITH c AS (INSERT INTO storagebox_data.claim (bank_id, slot, scope_id, dedup_id)"
		"           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING bank_id, slot)"
		"SELECT i.item FROM c"
		"  JOIN storagebox_data.item i ON i.bank_id = c.bank_id AND i.slot = c.slot",
		4, {INT4OID, INT8OID, INT4OID, TEXTOID}
	},
	[PLAN_HELD] = {
		"SELECT i.item FROM storagebox_data.claim c"
		"  JOIN storagebox_data.item i ON i.bank_id = c.bank_id AND i.slot = c.slot"
		" WHERE c.scope_id = $1 AND c.dedup_id = $2",
		2, {INT4OID, TEXTOID}
	},
	[PLAN_PROGRESS_TRY_LOCK] = {
		"SELECT settled_upto FROM storagebox_data.bank_progress"
		" WHERE bank_id = $1 FOR UPDATE SKIP LOCKED",
		1, {INT4OID}
	},
	[PLAN_PROGRESS_LOCK] = {
		"SELECT settled_upto FROM storagebox_data.bank_progress"
		" WHERE bank_id = $1 FOR UPDATE",
		1, {INT4OID}
	},
	[PLAN_TOTAL] = {
		"SELECT items_total FROM storagebox_data.bank WHERE bank_id = $1",
		1, {INT4OID}
	},
	[PLAN_SETTLE_FILL] = {
		"INSERT INTO storagebox_data.claim (bank_id, slot)"
		"SELECT $1, s FROM generate_series($2, $3) AS s"
		" WHERE NOT EXISTS (SELECT FROM storagebox_data.claim c"
		"                    WHERE c.bank_id = $1 AND c.slot = s)"
		"ON CONFLICT DO NOTHING",
		3, {INT4OID, INT8OID, INT8OID}
	},
	[PLAN_SETTLE_MARK] = {
		"UPDATE storagebox_data.bank_progress SET settled_upto = $2 WHERE bank_id = $1",
		2, {INT4OID, INT8OID}
	},
	[PLAN_FREE_SKIP] = {
		"SELECT slot FROM storagebox_data.claim"
		" WHERE bank_id = $1 AND dedup_id IS NULL"
		" ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED",
		1, {INT4OID}
	},
	[PLAN_FREE_WAIT] = {
		"SELECT slot FROM storagebox_data.claim"
		" WHERE bank_id = $1 AND dedup_id IS NULL"
		" ORDER BY slot LIMIT 1 FOR UPDATE",
		1, {INT4OID}
	},
	[PLAN_FREE_CLAIM] = {
		"WITH d AS (DELETE FROM storagebox_data.claim"
		"            WHERE bank_id = $1 AND slot = $2 RETURNING bank_id, slot)"
		"INSERT INTO storagebox_data.claim (bank_id, slot, scope_id, dedup_id)"
		"SELECT bank_id, slot, $3, $4 FROM d ON CONFLICT DO NOTHING RETURNING slot",
		4, {INT4OID, INT8OID, INT4OID, TEXTOID}
	},
	[PLAN_FREE_RESTORE] = {
		"INSERT INTO storagebox_data.claim (bank_id, slot) VALUES ($1, $2)",
		2, {INT4OID, INT8OID}
	},
	[PLAN_ITEM] = {
		"SELECT item FROM storagebox_data.item WHERE bank_id = $1 AND slot = $2",
		2, {INT4OID, INT8OID}
	},
};

static SPIPlanPtr plans[NUM_FETCH_PLANS];

/* Prepare (once per backend) and run one of the plans; returns SPI_processed. */
static uint64
run_plan(FetchPlan which, Datum *args)
{
	int			rc;

	if (plans[which] == NULL)
	{
		const PlanSpec *spec = &plan_specs[which];
		SPIPlanPtr	plan = SPI_prepare(spec->sql, spec->nargs,
									   (Oid *) spec->argtypes);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for storagebox plan %d: %s",
				 (int) which, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed for storagebox plan %d", (int) which);
		plans[which] = plan;
	}

	rc = SPI_execute_plan(plans[which], args, NULL, false, 0);
	if (rc < 0)
		elog(ERROR, "storagebox plan %d failed: %s",
			 (int) which, SPI_result_code_string(rc));
	return SPI_processed;
}

/* Column n (1-based) of the first result row; *isnull tells NULL. */
static Datum
result_col(int n, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, n, isnull);
}

/* The first result column as a text Datum, or (Datum) 0 if none or NULL. */
static Datum
result_text(uint64 rows)
{
	bool		isnull;
	Datum		value;

	if (rows == 0)
		return (Datum) 0;
	value = result_col(1, &isnull);
	return isnull ? (Datum) 0 : value;
}

/* The item dedup_id holds in the scope, or (Datum) 0. */
static Datum
held_item(FetchState *st)
{
	Datum		args[2] = {st->scope_id, st->dedup_id};

	return result_text(run_plan(PLAN_HELD, args));
}

/*
 * Insert free claim rows for the holes in slots (settled_upto, upto] and
 * raise the watermark to upto.  Caller holds the bank_progress row lock and
 * has set st->settled_upto from it.  Waits for uncommitted claims in range.
 */
static void
settle(FetchState *st, int64 upto)
{
	Datum		fill[3] = {st->bank_id, Int64GetDatum(st->settled_upto + 1),
	Int64GetDatum(upto)};
	Datum		mark[2] = {st->bank_id, Int64GetDatum(upto)};

	if (upto <= st->settled_upto)
		return;
	run_plan(PLAN_SETTLE_FILL, fill);
	run_plan(PLAN_SETTLE_MARK, mark);
	st->settled_upto = upto;
}

/*
 * Fast-path settle behind slot: only under READ COMMITTED (the statement
 * snapshot is fresh) and only if no other session is settling this bank.
 */
static void
maybe_settle_behind(FetchState *st, int64 slot)
{
	Datum		args[1] = {st->bank_id};
	bool		isnull;

	if (slot % SETTLE_EVERY != 0 || slot <= SETTLE_MARGIN ||
		IsolationUsesXactSnapshot())
		return;
	if (run_plan(PLAN_PROGRESS_TRY_LOCK, args) == 0)
		return;					/* someone else is settling */
	st->settled_upto = DatumGetInt64(result_col(1, &isnull));
	settle(st, Min(slot - SETTLE_MARGIN, st->items_total));
}

/*
 * Hand out a free claim row (released or recovered slot).  Returns the item,
 * or (Datum) 0 when there is none left.  Waits for a free row locked by
 * another fetch rather than report "none left" while it may come back.
 */
static Datum
claim_free_slot(FetchState *st)
{
	Datum		bank_args[1] = {st->bank_id};

	for (;;)
	{
		bool		isnull;
		Datum		slot;
		Datum		claim[4];
		Datum		item_args[2];
		Datum		held;

		CHECK_FOR_INTERRUPTS();

		if (run_plan(PLAN_FREE_SKIP, bank_args) == 0 &&
			run_plan(PLAN_FREE_WAIT, bank_args) == 0)
			return (Datum) 0;
		slot = result_col(1, &isnull);

		claim[0] = st->bank_id;
		claim[1] = slot;
		claim[2] = st->scope_id;
		claim[3] = st->dedup_id;
		item_args[0] = st->bank_id;
		item_args[1] = slot;

		if (run_plan(PLAN_FREE_CLAIM, claim) == 1)
			return result_text(run_plan(PLAN_ITEM, item_args));

		/* dedup_id was claimed meanwhile: put the free row back */
		run_plan(PLAN_FREE_RESTORE, item_args);
		held = held_item(st);
		if (held != (Datum) 0)
			return held;
	}
}

/*
 * The cursor ran past the end of the bank: settle up to the end (waiting for
 * claims in flight), then hand out a free row if there is one.
 */
static Datum
fetch_slow_path(FetchState *st)
{
	Datum		args[1] = {st->bank_id};
	bool		isnull;

	if (st->settled_upto < st->items_total)
	{
		if (run_plan(PLAN_PROGRESS_LOCK, args) == 0)
			return (Datum) 0;	/* bank dropped meanwhile */
		st->settled_upto = DatumGetInt64(result_col(1, &isnull));
		if (run_plan(PLAN_TOTAL, args) == 1)
			st->items_total = DatumGetInt64(result_col(1, &isnull));
		settle(st, st->items_total);
	}
	return claim_free_slot(st);
}

/*
 * Lock the bank's cursor and check that the bank still exists: a concurrent
 * sb_drop_bank drops the cursor under an exclusive lock.
 */
static void
lock_cursor(FetchState *st, text *bank)
{
	LockRelationOid(st->cursor_seq, RowExclusiveLock);
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(st->cursor_seq)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("bank \"%s\" was dropped", text_to_cstring(bank))));
}

/* Claim a new item for st->dedup_id; (Datum) 0 if the bank is sold out. */
static Datum
fetch_new(FetchState *st, text *bank, bool sold_out_candidate, bool has_free)
{
	if (sold_out_candidate && !has_free)
		return (Datum) 0;

	lock_cursor(st, bank);
	if (sold_out_candidate)
		return fetch_slow_path(st);

	for (;;)
	{
		int64		slot = nextval_internal(st->cursor_seq, false);
		Datum		claim[4] = {st->bank_id, Int64GetDatum(slot),
		st->scope_id, st->dedup_id};
		Datum		item;

		CHECK_FOR_INTERRUPTS();

		if (slot > st->items_total)
			return fetch_slow_path(st);

		item = result_text(run_plan(PLAN_CLAIM, claim));
		if (item != (Datum) 0)
		{
			maybe_settle_behind(st, slot);
			return item;
		}

		/*
		 * Conflict: either the dedup_id was claimed meanwhile (return that
		 * item; our slot is a hole that settling recovers), or a settle
		 * marked our slot free before we got to it (take the next one).
		 */
		item = held_item(st);
		if (item != (Datum) 0)
			return item;
	}
}

/*
 * sb_fetch_item(bank text, dedup_id text) returns text
 *
 * The item dedup_id holds in the bank's scope, else a new item from the
 * bank, else NULL when the bank has nothing left.
 */
Datum
sb_fetch_item(PG_FUNCTION_ARGS)
{
	text	   *bank;
	FetchState	st;
	Datum		bank_args[2];
	bool		isnull;
	bool		sold_out_candidate;
	bool		has_free;
	Datum		item;

	sb_require_arg("bank", PG_ARGISNULL(0));
	sb_require_arg("dedup_id", PG_ARGISNULL(1));
	bank = PG_GETARG_TEXT_PP(0);
	sb_require_text("bank", bank, SB_NAME_MAX_BYTES);
	st.dedup_id = PG_GETARG_DATUM(1);
	sb_require_text("dedup_id", DatumGetTextPP(st.dedup_id), SB_DEDUP_ID_MAX_BYTES);

	PreventCommandIfReadOnly("sb_fetch_item()");

	SPI_connect();

	bank_args[0] = PointerGetDatum(bank);
	bank_args[1] = st.dedup_id;
	if (run_plan(PLAN_BANK, bank_args) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("bank \"%s\" does not exist", text_to_cstring(bank)),
				 errhint("Create it with sb_create_bank().")));

	st.bank_id = result_col(1, &isnull);
	st.scope_id = result_col(2, &isnull);
	st.cursor_seq = DatumGetObjectId(result_col(3, &isnull));
	st.items_total = DatumGetInt64(result_col(4, &isnull));
	st.settled_upto = DatumGetInt64(result_col(5, &isnull));
	item = result_col(6, &isnull);
	if (isnull)
		item = (Datum) 0;
	sold_out_candidate = st.settled_upto >= st.items_total;
	has_free = sold_out_candidate && DatumGetBool(result_col(7, &isnull));

	if (item == (Datum) 0)
		item = fetch_new(&st, bank, sold_out_candidate, has_free);

	if (item == (Datum) 0)
	{
		SPI_finish();
		PG_RETURN_NULL();
	}
	item = SPI_datumTransfer(item, false, -1);
	SPI_finish();
	PG_RETURN_DATUM(item);
}
