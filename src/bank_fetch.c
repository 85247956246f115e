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
 * Fast path.  A repeat is two unique-index probes (bank_probe.c), no SQL.
 * A new claim takes a fresh slot from a per-bank sequence (the cursor),
 * without any lock or queueing, and is one INSERT ... ON CONFLICT DO
 * NOTHING through SPI.  The bank's identity (id, scope, cursor) is cached
 * per backend by name and revalidated on every call against the cursor,
 * which sb_drop_bank drops.  A fetch never looks at slots already handed out,
 * so it costs the same on a full bank and a nearly empty one, and dead
 * tuples left behind by an old snapshot are never walked past (the classic
 * SKIP LOCKED queue slows down in both cases).
 *
 * Holes.  The cursor is not transactional: a fetch that rolls back, or loses
 * a race for the same dedup_id, leaves its slot without a claim behind the
 * cursor, and a crash can skip cursor values.  The "settle" step finds such
 * holes and inserts a free claim row (scope_id and dedup_id NULL) for each,
 * then raises the watermark, the bank's largest bank_progress.settled_upto:
 * every slot up to it has a claim row.  The watermark is raised by
 * inserting a row, never by updating one, so a snapshot held open for a
 * long time leaves no chain of row versions for the fetch path to walk.
 * sb_release turns a held claim into a free one.  Free rows are handed out
 * once the cursor has run past the end of the bank.
 *
 * Settling runs (a) every SETTLE_EVERY slots on the fast path, a good margin
 * behind the cursor and only if no other session is settling,
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
 * Settling holds ShareUpdateExclusiveLock on the cursor (the settle lock,
 * which conflicts only with itself among the modes used here) until end of
 * transaction, so one session settles a bank at a time; the fast path tries
 * it conditionally and skips settling when it is taken.
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
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/snapshot.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "bank_probe.h"
#include "storagebox.h"

PG_FUNCTION_INFO_V1(sb_fetch_item);

/*
 * The settle lock: ShareUpdateExclusiveLock on the bank's cursor conflicts
 * with itself, not with the RowExclusiveLock fetchers hold on it.
 */
#define SETTLE_LOCK		ShareUpdateExclusiveLock

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
	MemoryContext result_cxt;	/* where the returned item is allocated */
} FetchState;

/* Per-backend cache of bank identities, by name. */
typedef struct BankCacheEntry
{
	char		name[SB_NAME_MAX_BYTES + 1];	/* hash key */
	int32		bank_id;
	int32		scope_id;
	Oid			cursor_seq;
} BankCacheEntry;

static HTAB *bank_cache = NULL;

typedef enum FetchPlan
{
	PLAN_CLAIM,
	PLAN_SETTLE_FILL,
	PLAN_SETTLE_MARK,
	PLAN_FREE_SKIP,
	PLAN_FREE_WAIT,
	PLAN_FREE_CLAIM,
	PLAN_FREE_RESTORE,
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
	[PLAN_CLAIM] = {
		"INSERT INTO storagebox_data.claim (bank_id, slot, scope_id, dedup_id)"
		" VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
		4, {INT4OID, INT8OID, INT4OID, TEXTOID}
	},
	[PLAN_SETTLE_FILL] = {
		/* OFFSET 0 keeps this a probe per slot, never a hash of the bank */
		"INSERT INTO storagebox_data.claim (bank_id, slot)"
		"SELECT $1, s FROM generate_series($2, $3) AS s"
		" WHERE NOT EXISTS (SELECT FROM storagebox_data.claim c"
		"                    WHERE c.bank_id = $1 AND c.slot = s OFFSET 0)"
		"ON CONFLICT DO NOTHING",
		3, {INT4OID, INT8OID, INT8OID}
	},
	[PLAN_SETTLE_MARK] = {
		"WITH old AS (DELETE FROM storagebox_data.bank_progress"
		"              WHERE bank_id = $1 AND settled_upto < $2)"
		"INSERT INTO storagebox_data.bank_progress (bank_id, settled_upto)"
		" VALUES ($1, $2) ON CONFLICT DO NOTHING",
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

/*
 * Run stmt under a fresh snapshot: under READ COMMITTED one that sees every
 * commit so far, under the other levels the transaction snapshot; either
 * way it sees this transaction's own earlier claims.  While the probes
 * before the first write run, one such snapshot serves them all
 * (probe_snapshot_active).
 */
static bool probe_snapshot_active = false;

#define WITH_FRESH_SNAPSHOT(stmt) \
	do { \
		if (probe_snapshot_active) \
		{ \
			stmt; \
		} \
		else \
		{ \
			PushActiveSnapshot(GetTransactionSnapshot()); \
			stmt; \
			PopActiveSnapshot(); \
		} \
	} while (0)

/* The item in a slot, copied into st->result_cxt; (Datum) 0 if none. */
static Datum
item_in_slot(FetchState *st, Datum bank_id, Datum slot)
{
	SbProbeKey	keys[2] = {{F_INT4EQ, bank_id}, {F_INT8EQ, slot}};
	AttrNumber	att = Anum_item_item;
	Datum		item = (Datum) 0;
	bool		isnull;
	MemoryContext old = MemoryContextSwitchTo(st->result_cxt);

	WITH_FRESH_SNAPSHOT(
		if (!sb_probe(SB_ITEM, SB_ITEM_PKEY, 2, keys, ForwardScanDirection,
					  GetActiveSnapshot(), 1, &att, &item, &isnull))
			item = (Datum) 0);
	MemoryContextSwitchTo(old);
	return item;
}

/* The item dedup_id holds in the scope, or (Datum) 0. */
static Datum
held_item(FetchState *st)
{
	SbProbeKey	keys[2] = {{F_INT4EQ, st->scope_id}, {F_TEXTEQ, st->dedup_id}};
	AttrNumber	atts[2] = {Anum_claim_bank_id, Anum_claim_slot};
	Datum		claim[2];
	bool		isnull[2];
	bool		found;

	WITH_FRESH_SNAPSHOT(
		found = sb_probe(SB_CLAIM, SB_CLAIM_HOLDER_KEY, 2, keys,
						 ForwardScanDirection, GetActiveSnapshot(),
						 2, atts, claim, isnull));
	return found ? item_in_slot(st, claim[0], claim[1]) : (Datum) 0;
}

/*
 * Read items_total and the watermark (the largest settled_upto: the first
 * entry of a backward probe) of the bank.
 */
static void
read_bank_counts(FetchState *st)
{
	SbProbeKey	key = {F_INT4EQ, st->bank_id};
	AttrNumber	total_att = Anum_bank_items_total;
	AttrNumber	settled_att = Anum_progress_settled;
	Datum		value;
	bool		isnull;

	st->items_total = 0;
	st->settled_upto = 0;
	WITH_FRESH_SNAPSHOT(
		if (sb_probe(SB_BANK, SB_BANK_PKEY, 1, &key, ForwardScanDirection,
					 GetActiveSnapshot(), 1, &total_att, &value, &isnull))
			st->items_total = DatumGetInt64(value);
		if (sb_probe(SB_PROGRESS, SB_PROGRESS_PKEY, 1, &key, BackwardScanDirection,
					 GetActiveSnapshot(), 1, &settled_att, &value, &isnull))
			st->settled_upto = DatumGetInt64(value));
}

/*
 * Wait until no other transaction is in the middle of claiming dedup_id in
 * the scope.  Called before taking a free row, so that we never hold a free
 * row locked while we wait for another claimer of our dedup_id: that claimer
 * may itself be waiting for the free row (a deadlock).
 */
static void
wait_for_other_claimers(FetchState *st)
{
	SbProbeKey	keys[2] = {{F_INT4EQ, st->scope_id}, {F_TEXTEQ, st->dedup_id}};

	for (;;)
	{
		SnapshotData dirty;

		InitDirtySnapshot(dirty);
		if (!sb_probe(SB_CLAIM, SB_CLAIM_HOLDER_KEY, 2, keys, ForwardScanDirection,
					  &dirty, 0, NULL, NULL, NULL) ||
			!TransactionIdIsValid(dirty.xmin))
			return;
		XactLockTableWait(dirty.xmin, NULL, NULL, XLTW_None);
	}
}

/* Whether the bank has a free claim row (a released or recovered slot). */
static bool
has_free_slot(FetchState *st)
{
	SbProbeKey	key = {F_INT4EQ, st->bank_id};
	bool		found;

	WITH_FRESH_SNAPSHOT(
		found = sb_probe(SB_CLAIM, SB_CLAIM_FREE, 1, &key, ForwardScanDirection,
						 GetActiveSnapshot(), 0, NULL, NULL, NULL));
	return found;
}

/*
 * Insert free claim rows for the holes in slots (settled_upto, upto] and
 * raise the watermark to upto.  Caller holds the settle lock and has read
 * st->settled_upto after taking it.  Waits for uncommitted claims in range.
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
	if (slot % SETTLE_EVERY != 0 || slot <= SETTLE_MARGIN ||
		IsolationUsesXactSnapshot())
		return;
	if (!ConditionalLockRelationOid(st->cursor_seq, SETTLE_LOCK))
		return;					/* someone else is settling */
	read_bank_counts(st);
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
		Datum		slot_args[2];
		Datum		held;

		CHECK_FOR_INTERRUPTS();

		wait_for_other_claimers(st);
		held = held_item(st);
		if (held != (Datum) 0)
			return held;

		if (run_plan(PLAN_FREE_SKIP, bank_args) == 0 &&
			run_plan(PLAN_FREE_WAIT, bank_args) == 0)
			return (Datum) 0;
		slot = result_col(1, &isnull);

		claim[0] = st->bank_id;
		claim[1] = slot;
		claim[2] = st->scope_id;
		claim[3] = st->dedup_id;
		if (run_plan(PLAN_FREE_CLAIM, claim) == 1)
			return item_in_slot(st, st->bank_id, slot);

		/* dedup_id was claimed meanwhile: put the free row back */
		slot_args[0] = st->bank_id;
		slot_args[1] = slot;
		run_plan(PLAN_FREE_RESTORE, slot_args);
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
	if (st->settled_upto < st->items_total)
	{
		LockRelationOid(st->cursor_seq, SETTLE_LOCK);
		read_bank_counts(st);
		settle(st, st->items_total);
	}
	return claim_free_slot(st);
}

/*
 * Claim a new item for st->dedup_id; (Datum) 0 if the bank is sold out.
 * Caller is connected to SPI.
 */
static Datum
fetch_new(FetchState *st)
{
	if (st->settled_upto >= st->items_total)
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

		if (run_plan(PLAN_CLAIM, claim) == 1)
		{
			maybe_settle_behind(st, slot);
			return item_in_slot(st, st->bank_id, Int64GetDatum(slot));
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

/* Whether seqoid is still the cursor of bank bank_id. */
static bool
cursor_belongs_to(Oid seqoid, int32 bank_id)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(seqoid));
	char		expected[NAMEDATALEN];
	bool		ok;

	if (!HeapTupleIsValid(tuple))
		return false;
	snprintf(expected, sizeof(expected), "bank_cursor_%d", bank_id);
	ok = ((Form_pg_class) GETSTRUCT(tuple))->relnamespace == sb_data_namespace() &&
		strcmp(NameStr(((Form_pg_class) GETSTRUCT(tuple))->relname), expected) == 0;
	ReleaseSysCache(tuple);
	return ok;
}

/*
 * Fill in the bank's id, scope and cursor, and lock the cursor for the rest
 * of the transaction (sb_drop_bank drops it, so the bank cannot go away
 * under us).  Raises 42704 for an unknown bank.
 */
static void
find_bank(text *bank, FetchState *st)
{
	char	   *name = text_to_cstring(bank);
	BankCacheEntry *entry;
	SbProbeKey	key = {F_TEXTEQ, PointerGetDatum(bank)};
	AttrNumber	atts[3] = {Anum_bank_bank_id, Anum_bank_scope_id, Anum_bank_cursor_seq};
	Datum		values[3];
	bool		isnull[3];
	bool		found;

	if (bank_cache == NULL)
		bank_cache = sb_name_cache_create("storagebox banks", sizeof(BankCacheEntry));

	entry = hash_search(bank_cache, name, HASH_FIND, NULL);
	if (entry != NULL)
	{
		LockRelationOid(entry->cursor_seq, RowExclusiveLock);
		if (cursor_belongs_to(entry->cursor_seq, entry->bank_id))
		{
			st->bank_id = Int32GetDatum(entry->bank_id);
			st->scope_id = Int32GetDatum(entry->scope_id);
			st->cursor_seq = entry->cursor_seq;
			return;
		}
		hash_search(bank_cache, name, HASH_REMOVE, NULL);
	}

	WITH_FRESH_SNAPSHOT(
		found = sb_probe(SB_BANK, SB_BANK_NAME_KEY, 1, &key, ForwardScanDirection,
						 GetActiveSnapshot(), 3, atts, values, isnull));
	if (found)
	{
		LockRelationOid(DatumGetObjectId(values[2]), RowExclusiveLock);
		found = cursor_belongs_to(DatumGetObjectId(values[2]), DatumGetInt32(values[0]));
	}
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("bank \"%s\" does not exist", name),
				 errhint("Create it with sb_create_bank().")));

	st->bank_id = values[0];
	st->scope_id = values[1];
	st->cursor_seq = DatumGetObjectId(values[2]);
	entry = hash_search(bank_cache, name, HASH_ENTER, NULL);
	entry->bank_id = DatumGetInt32(values[0]);
	entry->scope_id = DatumGetInt32(values[1]);
	entry->cursor_seq = st->cursor_seq;
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
	Datum		item;
	bool		sold_out = false;

	sb_require_arg("bank", PG_ARGISNULL(0));
	sb_require_arg("dedup_id", PG_ARGISNULL(1));
	bank = PG_GETARG_TEXT_PP(0);
	sb_require_text("bank", bank, SB_NAME_MAX_BYTES);
	st.dedup_id = PointerGetDatum(PG_GETARG_TEXT_PP(1));
	sb_require_text("dedup_id", DatumGetTextPP(st.dedup_id), SB_DEDUP_ID_MAX_BYTES);
	st.result_cxt = CurrentMemoryContext;

	PreventCommandIfReadOnly("sb_fetch_item()");

	find_bank(bank, &st);

	/* the reads before any write share one snapshot */
	PushActiveSnapshot(GetTransactionSnapshot());
	probe_snapshot_active = true;

	/* a repeat: two index probes */
	item = held_item(&st);

	/* sold out: two more, and one for a free slot */
	if (item == (Datum) 0)
	{
		read_bank_counts(&st);
		sold_out = st.settled_upto >= st.items_total && !has_free_slot(&st);
	}
	probe_snapshot_active = false;
	PopActiveSnapshot();

	if (item != (Datum) 0)
		PG_RETURN_DATUM(item);
	if (sold_out)
		PG_RETURN_NULL();

	SPI_connect();
	item = fetch_new(&st);
	SPI_finish();

	if (item == (Datum) 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(item);
}
