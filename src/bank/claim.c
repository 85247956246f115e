/*-------------------------------------------------------------------------
 *
 * claim.c
 *	  The writes of the item bank: claiming a slot, claiming a released
 *	  item, and raising the bank's watermark.
 *
 * Lock order: the claim table and its indexes are opened (RowExclusiveLock)
 * first, then the slot lock is taken, then (inside the insert) buffer locks
 * of the claim table and its indexes, released before returning; the slot
 * lock is released right after.  Nothing waits while the slot lock is held:
 * the arbiters report a conflict instead of waiting for its inserter, and
 * the only other lock the section may take is the relation extension lock,
 * whose holders wait for nothing.
 *
 * The design, the lock protocol and the global lock order:
 * docs/design.md, "Claims: the writes".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "bank/claim.h"
#include "bank/hold_expiry.h"
#include "bank/holder_read.h"
#include "bank/owner_sql.h"
#include "bank/probe.h"
#include "citus/placement.h"

/* The advisory lock class of slot locks (pg_advisory_lock uses 1 and 2). */
#define SB_SLOT_LOCK_CLASS	0x5B01

/* ... and of the lock that keeps two raises of a watermark apart. */
#define SB_WATERMARK_LOCK_CLASS	0x5B02

typedef enum ClaimPlan
{
	PLAN_CLAIM_RELEASED,		/* before 1.4 */
	PLAN_CLAIM_RELEASED_STAMPED,	/* 1.4: with held_since, hold_expires */
	PLAN_CLAIM_EXPIRED,
	PLAN_TAKE_BACK_OWN_HOLD,
	PLAN_TAKE_BACK_OWN_HOLD_KEEP_SCOPE,
	PLAN_RAISE_WATERMARK,
	NUM_CLAIM_PLANS
} ClaimPlan;

typedef struct PlanSpec
{
	const char *sql;
	int			nargs;
	Oid			argtypes[6];
} PlanSpec;

/*
 * What the two forms of PLAN_TAKE_BACK_OWN_HOLD share: all but the
 * assignment of scope_id.
 */
#define TAKE_BACK_REST \
		"       dedup_id = CASE WHEN c.bank_id OPERATOR(pg_catalog.=) $5 THEN c.dedup_id END," \
		"       held_since = CASE WHEN c.bank_id OPERATOR(pg_catalog.=) $5 THEN $3 END," \
		"       hold_expires = CASE WHEN c.bank_id OPERATOR(pg_catalog.=) $5 THEN $4 END" \
		" WHERE c.bank_id OPERATOR(pg_catalog.=) $6" \
		"   AND c.scope_id OPERATOR(pg_catalog.=) $1 AND c.dedup_id OPERATOR(pg_catalog.=) $2" \
		"   AND c.hold_expires OPERATOR(pg_catalog.<=) $3" \
		"   AND c.slot OPERATOR(pg_catalog.=)" \
		"       (SELECT f.slot FROM %1$s f" \
		"         WHERE f.bank_id OPERATOR(pg_catalog.=) $6" \
		"           AND f.scope_id OPERATOR(pg_catalog.=) $1" \
		"           AND f.dedup_id OPERATOR(pg_catalog.=) $2" \
		"           AND f.hold_expires OPERATOR(pg_catalog.<=) $3" \
		"           FOR UPDATE SKIP LOCKED)" \
		" RETURNING c.bank_id OPERATOR(pg_catalog.=) $5, c.item, c.slot"

/*
 * %1$s is the claim relation (sb_statement_text); the other tables are
 * schema-qualified, and operators resolve in pg_catalog.
 */
static const PlanSpec plan_specs[NUM_CLAIM_PLANS] = {
	[PLAN_CLAIM_RELEASED] = {
		"UPDATE %1$s c SET scope_id = $2, dedup_id = $3"
		" WHERE c.bank_id OPERATOR(pg_catalog.=) $1 AND c.dedup_id IS NULL"
		"   AND c.slot OPERATOR(pg_catalog.=)"
		"       (SELECT f.slot FROM %1$s f"
		"         WHERE f.bank_id OPERATOR(pg_catalog.=) $1 AND f.dedup_id IS NULL"
		"                  ORDER BY f.slot LIMIT 1 FOR UPDATE SKIP LOCKED)"
		" RETURNING c.slot",
		3, {INT4OID, INT4OID, TEXTOID}
	},
	[PLAN_CLAIM_RELEASED_STAMPED] = {
		"UPDATE %1$s c SET scope_id = $2, dedup_id = $3,"
		"       held_since = $4, hold_expires = $5"
		" WHERE c.bank_id OPERATOR(pg_catalog.=) $1 AND c.dedup_id IS NULL"
		"   AND c.slot OPERATOR(pg_catalog.=)"
		"       (SELECT f.slot FROM %1$s f"
		"         WHERE f.bank_id OPERATOR(pg_catalog.=) $1 AND f.dedup_id IS NULL"
		"                  ORDER BY f.slot LIMIT 1 FOR UPDATE SKIP LOCKED)"
		" RETURNING c.slot",
		5, {INT4OID, INT4OID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID}
	},
	/* the hold that expired first, taken over by a new holder */
	[PLAN_CLAIM_EXPIRED] = {
		"UPDATE %1$s c SET scope_id = $2, dedup_id = $3,"
		"       held_since = $4, hold_expires = $5"
		" WHERE c.bank_id OPERATOR(pg_catalog.=) $1"
		"   AND c.hold_expires OPERATOR(pg_catalog.<=) $4"
		"   AND c.slot OPERATOR(pg_catalog.=)"
		"       (SELECT f.slot FROM %1$s f"
		"         WHERE f.bank_id OPERATOR(pg_catalog.=) $1"
		"           AND f.hold_expires OPERATOR(pg_catalog.<=) $4"
		"         ORDER BY f.hold_expires LIMIT 1 FOR UPDATE SKIP LOCKED)"
		" RETURNING c.slot",
		5, {INT4OID, INT4OID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID}
	},

	/*
	 * A dedup_id's own expired hold, in bank $6: held again in place if that
	 * is the bank asked ($5), else freed (it holds nothing in the scope any
	 * more).  Returns whether it was held again, its item and slot.  The
	 * row is matched by slot, not ctid, so that a version newer than the
	 * statement's snapshot is still the one updated.
	 */
	[PLAN_TAKE_BACK_OWN_HOLD] = {
		"UPDATE %1$s c"
		"   SET scope_id = CASE WHEN c.bank_id OPERATOR(pg_catalog.=) $5 THEN c.scope_id END,"
		TAKE_BACK_REST,
		6, {INT4OID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID, INT4OID}
	},
	/* the same where a claim keeps its scope (sb_placement_rows_keep_scope) */
	[PLAN_TAKE_BACK_OWN_HOLD_KEEP_SCOPE] = {
		"UPDATE %1$s c"
		"   SET"
		TAKE_BACK_REST,
		6, {INT4OID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID, INT4OID}
	},
	[PLAN_RAISE_WATERMARK] = {
		"WITH old AS (DELETE FROM storagebox_data.bank_progress"
		"              WHERE ctid OPERATOR(pg_catalog.=) ANY (ARRAY("
		"                SELECT p.ctid FROM storagebox_data.bank_progress p"
		"                 WHERE p.bank_id OPERATOR(pg_catalog.=) $1"
		"                   AND p.settled_upto OPERATOR(pg_catalog.<) $2"
		"                   FOR UPDATE SKIP LOCKED)))"
		"INSERT INTO storagebox_data.bank_progress (bank_id, settled_upto)"
		" VALUES ($1, $2) ON CONFLICT DO NOTHING",
		2, {INT4OID, INT8OID}
	},
};

static SPIPlanPtr plans[NUM_CLAIM_PLANS];

/* Whether this fetch has connected to SPI (only the rare paths need it). */
static bool spi_connected = false;

/* Start the writes of one fetch; no SPI connection is made yet. */
void
sb_claim_begin(void)
{
	/* an error in an earlier fetch left the flag set; its abort cleaned up */
	spi_connected = false;
}

/* Connect to SPI once per fetch, at its first statement. */
static void
connect_spi(void)
{
	if (!spi_connected)
	{
		SPI_connect();
		spi_connected = true;
	}
}

/* End the writes of one fetch. */
void
sb_claim_end(void)
{
	if (spi_connected)
		SPI_finish();
	spi_connected = false;
}

/* Prepare (once per backend) and run one plan; returns SPI_processed. */
static uint64
run_plan(ClaimPlan which, Datum *args, const char *nulls)
{
	int			rc;

	connect_spi();
	rc = sb_run_plan_as_owner_nulls(sb_statement_plan(&plans[which], plan_specs[which].sql, SB_CLAIM,
													  plan_specs[which].nargs,
													  (Oid *) plan_specs[which].argtypes),
									args, nulls);
	if (rc < 0)
		elog(ERROR, "storagebox claim plan %d failed: %s",
			 (int) which, SPI_result_code_string(rc));
	return SPI_processed;
}

static void
slot_locktag(LOCKTAG *tag, int32 bank_id, int64 slot)
{
	/* slots past 2^32 fold onto lower ones: a false "busy", never a miss */
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) bank_id,
						 (uint32) (slot ^ (slot >> 32)), SB_SLOT_LOCK_CLASS);
}

/* Whether the slot has a claim row, committed or in flight (dirty read). */
static bool
slot_has_row(int32 bank_id, int64 slot)
{
	SbProbeKey	keys[2] = {{F_INT4EQ, Int32GetDatum(bank_id)},
	{F_INT8EQ, Int64GetDatum(slot)}};
	SnapshotData dirty;

	InitDirtySnapshot(dirty);
	return sb_probe(SB_CLAIM, SB_CLAIM_PKEY, 2, keys, ForwardScanDirection,
					&dirty, 0, NULL, NULL, NULL);
}

/*
 * Open the claim table and its indexes for inserting claim rows: once per
 * fetch, or once per batch of fetches (sb_fetch_items).
 */
void
sb_inserter_open(SbClaimInserter *ins)
{
	TupleDesc	desc;

	ins->rel = table_open(sb_relation_oid(SB_CLAIM), RowExclusiveLock);
	desc = RelationGetDescr(ins->rel);
	ins->estate = CreateExecutorState();
	ins->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(ins->rri, ins->rel, 1, NULL, 0);
	ExecOpenIndices(ins->rri, true);
	ins->row = ExecInitExtraTupleSlot(ins->estate, desc,
									  table_slot_callbacks(ins->rel));
}

void
sb_inserter_close(SbClaimInserter *ins)
{
	ExecCloseIndices(ins->rri);
	ExecResetTupleTable(ins->estate->es_tupleTable, false);
	FreeExecutorState(ins->estate);
	table_close(ins->rel, NoLock);
}

/*
 * Insert the claim row (bank_id, slot, scope_id, dedup_id, item) with the
 * speculative-insertion protocol.  Returns false, leaving nothing behind,
 * if a unique index already has (or is getting) a conflicting entry.
 * Never waits.  This is not the executor: column defaults, CHECK and NOT
 * NULL constraints and triggers are not applied, so every column the
 * schema adds must be set here (the others are NULL).
 */
static bool
insert_claim_row(SbClaimInserter *ins, int32 bank_id, int64 slot, int32 scope_id,
				 Datum dedup_id, Datum item, const Interval *hold_for)
{
	TupleDesc	desc = RelationGetDescr(ins->rel);
	TupleTableSlot *row = ins->row;
	AttrNumber	item_att = sb_column(SB_COL_CLAIM_ITEM);
	TransactionId xid = GetCurrentTransactionId();
	uint32		token;
	bool		conflict = false;
	List	   *recheck;

	ExecClearTuple(row);
	memset(row->tts_isnull, true, sizeof(bool) * desc->natts);
	row->tts_values[sb_column(SB_COL_CLAIM_BANK_ID) - 1] = Int32GetDatum(bank_id);
	row->tts_isnull[sb_column(SB_COL_CLAIM_BANK_ID) - 1] = false;
	row->tts_values[sb_column(SB_COL_CLAIM_SLOT) - 1] = Int64GetDatum(slot);
	row->tts_isnull[sb_column(SB_COL_CLAIM_SLOT) - 1] = false;
	row->tts_values[sb_column(SB_COL_CLAIM_SCOPE_ID) - 1] = Int32GetDatum(scope_id);
	row->tts_isnull[sb_column(SB_COL_CLAIM_SCOPE_ID) - 1] = false;
	row->tts_values[sb_column(SB_COL_CLAIM_DEDUP_ID) - 1] = dedup_id;
	row->tts_isnull[sb_column(SB_COL_CLAIM_DEDUP_ID) - 1] = false;
	if (item_att != InvalidAttrNumber && item != (Datum) 0)
	{
		row->tts_values[item_att - 1] = item;
		row->tts_isnull[item_att - 1] = false;
	}
	if (sb_schema_has_holds())
	{
		SbClaimStamp stamp = sb_claim_stamp(hold_for);
		AttrNumber	since_att = sb_column(SB_COL_CLAIM_HELD_SINCE);
		AttrNumber	expires_att = sb_column(SB_COL_CLAIM_HOLD_EXPIRES);

		row->tts_values[since_att - 1] = TimestampTzGetDatum(stamp.held_since);
		row->tts_isnull[since_att - 1] = false;
		row->tts_values[expires_att - 1] = TimestampTzGetDatum(stamp.hold_expires);
		row->tts_isnull[expires_att - 1] = !stamp.is_hold;
	}
	ExecStoreVirtualTuple(row);

	token = SpeculativeInsertionLockAcquire(xid);
	table_tuple_insert_speculative(ins->rel, row, GetCurrentCommandId(true), 0,
								   NULL, token);
	recheck = sb_insert_index_tuples(ins->rri, row, ins->estate, false, true,
									 &conflict, NIL);
	table_tuple_complete_speculative(ins->rel, row, token, !conflict);
	SpeculativeInsertionLockRelease(xid);
	list_free(recheck);
	ResetPerTupleExprContext(ins->estate);

	/* later looks of this transaction see the row, as after any statement */
	if (!conflict)
		CommandCounterIncrement();
	return !conflict;
}

/*
 * Claim an empty slot, holding item, for dedup_id, inserting through ins
 * (or through a one-time inserter if ins is NULL).  SB_SLOT_TAKEN if the
 * slot has a row, or (with SB_SLOT_TRY) somebody else holds its slot lock;
 * SB_DEDUP_TAKEN if dedup_id is claimed (or being claimed) by another
 * transaction.
 *
 * With SB_SLOT_TRY the slot lock is taken conditionally and nothing waits.
 * With SB_SLOT_WAIT the caller queues for the slot lock behind the claimers
 * that hold or want it, and once it has it, claims the slot if it is still
 * empty.  Every holder of a slot lock is such a claimer, inside the short
 * section below, which makes no heavyweight wait: so the queue drains, and
 * the first claimer to reach an empty slot fills it.  (The claim table and
 * its indexes are opened before the slot lock is taken, so the section
 * never waits for a table lock.)
 */
SbClaimResult
sb_claim_empty_slot(SbClaimInserter *ins, SbSlotLockMode mode, int32 bank_id,
					int64 slot, int32 scope_id, Datum dedup_id, Datum item,
					const Interval *hold_for)
{
	LOCKTAG		tag;
	bool		inserted = false;
	bool		has_row = false;
	SbClaimInserter one;

	if (ins == NULL)
	{
		sb_inserter_open(&one);
		ins = &one;
	}
	slot_locktag(&tag, bank_id, slot);
	if (LockAcquire(&tag, ExclusiveLock, false, mode == SB_SLOT_TRY) ==
		LOCKACQUIRE_NOT_AVAIL)
	{
		if (ins == &one)
			sb_inserter_close(&one);
		return SB_SLOT_TAKEN;
	}

	/*
	 * A claimer that queued for the lock usually finds the row of the one
	 * before it: probe first rather than insert a tuple only to kill it.
	 */
	if (mode == SB_SLOT_WAIT)
		has_row = slot_has_row(bank_id, slot);
	if (!has_row)
		inserted = insert_claim_row(ins, bank_id, slot, scope_id, dedup_id,
									item, hold_for);
	LockRelease(&tag, ExclusiveLock, false);
	if (ins == &one)
		sb_inserter_close(&one);
	if (inserted)
		return SB_CLAIMED;
	if (has_row)
		return SB_SLOT_TAKEN;

	/*
	 * One of the arbiters found a conflict (rare: a slot is normally empty
	 * when it is claimed).  If the slot has a row, committed or in flight,
	 * the primary key did; otherwise it was the holder key.
	 */
	return slot_has_row(bank_id, slot) ? SB_SLOT_TAKEN : SB_DEDUP_TAKEN;
}

/*
 * Run a claim plan that turns an existing row into dedup_id's claim, in a
 * subtransaction: a unique violation (dedup_id claimed meanwhile by another
 * transaction) leaves the row exactly as it was and sets *dedup_taken.
 * Returns the slot claimed, or 0; with 0 the subtransaction is rolled back,
 * and with it any row lock the plan took.
 */
static int64
claim_by_update(ClaimPlan which, Datum *args, const char *nulls, bool *dedup_taken)
{
	MemoryContext caller_cxt = CurrentMemoryContext;
	ResourceOwner caller_owner = CurrentResourceOwner;
	volatile int64 slot = 0;

	*dedup_taken = false;
	connect_spi();				/* outside the subtransaction, which pops it */
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(caller_cxt);
	PG_TRY();
	{
		if (run_plan(which, args, nulls) == 1)
		{
			bool		isnull;

			slot = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 1, &isnull));
			ReleaseCurrentSubTransaction();
		}
		else
		{
			/*
			 * Nothing updated.  The row lock its FOR UPDATE SKIP LOCKED may
			 * have left on a version that then failed the recheck goes with
			 * the subtransaction: other fetches wait for a locker of an
			 * expired hold (sb_claim_scan_locker), and must not wait for
			 * this transaction, which claimed nothing here.
			 */
			RollbackAndReleaseCurrentSubTransaction();
		}
		MemoryContextSwitchTo(caller_cxt);
		CurrentResourceOwner = caller_owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(caller_cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller_cxt);
		CurrentResourceOwner = caller_owner;
		if (edata->sqlerrcode != ERRCODE_UNIQUE_VIOLATION)
			ReThrowError(edata);
		FreeErrorData(edata);
		*dedup_taken = true;
	}
	PG_END_TRY();
	return slot;
}

/* The stamp arguments ($4 held_since, $5 hold_expires) of a claim plan. */
static void
stamp_args(const Interval *hold_for, Datum *args, char *nulls)
{
	SbClaimStamp stamp = sb_claim_stamp(hold_for);

	args[3] = TimestampTzGetDatum(stamp.held_since);
	args[4] = TimestampTzGetDatum(stamp.hold_expires);
	memset(nulls, ' ', 5);
	nulls[4] = stamp.is_hold ? ' ' : 'n';
}

/*
 * Claim a free row of the bank for dedup_id, held permanently (hold_for
 * NULL) or for hold_for: the lowest released item (SB_RELEASED_ROW) or the
 * hold that expired first (SB_EXPIRED_HOLD), skipping rows that another
 * transaction is claiming.  Returns its slot, or 0 if there is none;
 * *dedup_taken is set if dedup_id turned out to be claimed by another
 * transaction (nothing changed then).
 */
int64
sb_claim_free_row(SbFreeRow kind, int32 bank_id, int32 scope_id, Datum dedup_id,
				  const Interval *hold_for, bool *dedup_taken)
{
	Datum		args[5] = {Int32GetDatum(bank_id), Int32GetDatum(scope_id), dedup_id};
	char		nulls[6];

	*dedup_taken = false;
	if (!sb_schema_has_holds())
		return kind == SB_RELEASED_ROW ?
			claim_by_update(PLAN_CLAIM_RELEASED, args, NULL, dedup_taken) : 0;
	stamp_args(hold_for, args, nulls);
	return claim_by_update(kind == SB_RELEASED_ROW ? PLAN_CLAIM_RELEASED_STAMPED :
						   PLAN_CLAIM_EXPIRED, args, nulls, dedup_taken);
}

/*
 * dedup_id's own expired hold, if no other transaction is taking it over:
 * held again in place (permanently, or for hold_for) when it is in bank_id,
 * and SB_TAKEN_BACK returned; freed when it is in another bank of the scope
 * (SB_OWN_HOLD_FREED); SB_NO_OWN_HOLD when there was none to take.
 */
SbTakeBack
sb_take_back_own_hold(int32 bank_id, int32 row_bank, int32 scope_id,
					  Datum dedup_id, const Interval *hold_for,
					  MemoryContext item_cxt, Datum *item)
{
	SbClaimStamp stamp = sb_claim_stamp(hold_for);
	Datum		args[6] = {Int32GetDatum(scope_id), dedup_id,
		TimestampTzGetDatum(stamp.held_since),
		TimestampTzGetDatum(stamp.hold_expires), Int32GetDatum(bank_id),
	Int32GetDatum(row_bank)};
	char		nulls[7] = {' ', ' ', ' ', stamp.is_hold ? ' ' : 'n', ' ', ' ', '\0'};
	bool		isnull;
	bool		item_isnull;
	MemoryContext old;
	Datum		value;
	int64		slot;

	*item = (Datum) 0;
	if (!sb_schema_has_holds() ||
		run_plan(sb_placement_rows_keep_scope() ? PLAN_TAKE_BACK_OWN_HOLD_KEEP_SCOPE :
				 PLAN_TAKE_BACK_OWN_HOLD, args, nulls) == 0)
		return SB_NO_OWN_HOLD;
	/* later looks of this transaction see the change */
	CommandCounterIncrement();
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
									SPI_tuptable->tupdesc, 1, &isnull)))
		return SB_OWN_HOLD_FREED;
	value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &item_isnull);
	slot = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 3, &isnull));
	old = MemoryContextSwitchTo(item_cxt);
	if (!item_isnull)
		*item = PointerGetDatum(PG_DETOAST_DATUM_COPY(value));
	else
	{
		/* a row an older library wrote without its item */
		PushActiveSnapshot(GetTransactionSnapshot());
		*item = sb_item_in_slot(bank_id, slot, GetActiveSnapshot());
		PopActiveSnapshot();
	}
	MemoryContextSwitchTo(old);
	return SB_TAKEN_BACK;
}

/*
 * Record that every slot up to upto has a committed claim row.  Caller is
 * connected to SPI and has checked that.
 */
void
sb_raise_watermark(int32 bank_id, int64 upto)
{
	Datum		args[2] = {Int32GetDatum(bank_id), Int64GetDatum(upto)};
	LOCKTAG		tag;
	SbProbeKey	key = {F_INT4EQ, Int32GetDatum(bank_id)};
	AttrNumber	att = sb_column(SB_COL_PROGRESS_SETTLED);
	SnapshotData dirty;
	Datum		value;
	bool		isnull;

	/*
	 * The watermark only saves later surveys their walk, so a raise is
	 * never waited for: when a burst of fetches surveys at once, one of
	 * them raises it and the others go on.  Under the lock, a raise that
	 * somebody has already made (committed or not) is not made again.
	 */
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) bank_id, 0,
						 SB_WATERMARK_LOCK_CLASS);
	if (LockAcquire(&tag, ExclusiveLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		return;
	InitDirtySnapshot(dirty);
	if (!sb_probe(SB_PROGRESS, SB_PROGRESS_UPTO, 1, &key, BackwardScanDirection,
				  &dirty, 1, &att, &value, &isnull) ||
		DatumGetInt64(value) < upto)
		run_plan(PLAN_RAISE_WATERMARK, args, NULL);
	LockRelease(&tag, ExclusiveLock, false);
}
