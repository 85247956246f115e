/*-------------------------------------------------------------------------
 *
 * bank_claim.c
 *	  The writes of the item bank: claiming a slot, claiming a released
 *	  item, and raising the bank's watermark.
 *
 * Every write here is built so that it never waits for another transaction
 * except one that is claiming the same dedup_id in the same scope.  That is
 * the one wait the unique key (scope_id, dedup_id) imposes and the one the
 * fetch protocol allows (see the lock order in bank_fetch.c).
 *
 * Claiming a slot that has no claim row yet (a fresh slot from the cursor,
 * a hole left by a rollback, a slot added by sb_add_items) is an INSERT
 * ... ON CONFLICT DO NOTHING.  Its primary key (bank_id, slot) would make
 * two claimers of the same empty slot wait for each other, so the INSERT
 * runs under the slot lock: a heavyweight lock on (bank, slot), taken
 * conditionally and released as soon as the row is in the index.  Whoever
 * holds the slot lock first looks for a row of that slot under a dirty
 * snapshot (committed, or being inserted by anybody); only if there is none
 * does it insert.  A second claimer either fails to get the slot lock or
 * finds the first one's row, and moves on.  So no claimer ever waits on the
 * primary key.  Slot locks are advisory-class locks with a class number of
 * our own (SB_SLOT_LOCK_CLASS), so they never collide with the two-key and
 * one-key advisory locks of pg_advisory_lock; pg_locks shows them as
 * advisory locks with objsubid SB_SLOT_LOCK_CLASS.
 *
 * Claiming a released item turns its free claim row into a held one with
 * one UPDATE whose row is picked FOR UPDATE SKIP LOCKED: a free row being
 * claimed by another transaction is skipped, never waited for.  If the
 * dedup_id was claimed meanwhile, the UPDATE meets a unique violation; it
 * runs in a subtransaction so that the failure leaves the free row exactly
 * as it was (unlocked), and the caller returns the other claim's item.
 *
 * The watermark (storagebox_data.bank_progress) is raised by inserting a
 * row.  Its index is not unique, so two sessions raising it to the same
 * value never wait for each other, and older rows are pruned only if
 * nobody else is pruning them (SKIP LOCKED).  (Until ALTER EXTENSION
 * UPDATE to 1.2 has run, the index is the unique primary key of 1.0, and
 * ON CONFLICT DO NOTHING keeps a repeated value from failing.)
 *
 * All SQL runs through SPI with plans prepared once per backend; callers
 * are connected to SPI and run with search_path pinned to pg_catalog.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "bank_claim.h"
#include "bank_probe.h"

/* The advisory lock class of slot locks (pg_advisory_lock uses 1 and 2). */
#define SB_SLOT_LOCK_CLASS	0x5B01

typedef enum ClaimPlan
{
	PLAN_INSERT_CLAIM,
	PLAN_CLAIM_RELEASED,
	PLAN_RAISE_WATERMARK,
	NUM_CLAIM_PLANS
} ClaimPlan;

typedef struct PlanSpec
{
	const char *sql;
	int			nargs;
	Oid			argtypes[4];
} PlanSpec;

/* Tables are schema-qualified; operators resolve in pg_catalog. */
static const PlanSpec plan_specs[NUM_CLAIM_PLANS] = {
	[PLAN_INSERT_CLAIM] = {
		"INSERT INTO storagebox_data.claim (bank_id, slot, scope_id, dedup_id)"
		" VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
		4, {INT4OID, INT8OID, INT4OID, TEXTOID}
	},
	[PLAN_CLAIM_RELEASED] = {
		"UPDATE storagebox_data.claim c SET scope_id = $2, dedup_id = $3"
		" WHERE c.bank_id = $1 AND c.dedup_id IS NULL"
		"   AND c.slot = (SELECT f.slot FROM storagebox_data.claim f"
		"                  WHERE f.bank_id = $1 AND f.dedup_id IS NULL"
		"                  ORDER BY f.slot LIMIT 1 FOR UPDATE SKIP LOCKED)"
		" RETURNING c.slot",
		3, {INT4OID, INT4OID, TEXTOID}
	},
	[PLAN_RAISE_WATERMARK] = {
		"WITH old AS (DELETE FROM storagebox_data.bank_progress"
		"              WHERE ctid = ANY (ARRAY("
		"                SELECT p.ctid FROM storagebox_data.bank_progress p"
		"                 WHERE p.bank_id = $1 AND p.settled_upto < $2"
		"                   FOR UPDATE SKIP LOCKED)))"
		"INSERT INTO storagebox_data.bank_progress (bank_id, settled_upto)"
		" VALUES ($1, $2) ON CONFLICT DO NOTHING",
		2, {INT4OID, INT8OID}
	},
};

static SPIPlanPtr plans[NUM_CLAIM_PLANS];

/* Prepare (once per backend) and run one plan; returns SPI_processed. */
static uint64
run_plan(ClaimPlan which, Datum *args)
{
	int			rc;

	if (plans[which] == NULL)
	{
		const PlanSpec *spec = &plan_specs[which];
		SPIPlanPtr	plan = SPI_prepare(spec->sql, spec->nargs,
									   (Oid *) spec->argtypes);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for storagebox claim plan %d: %s",
				 (int) which, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed for storagebox claim plan %d", (int) which);
		plans[which] = plan;
	}

	rc = SPI_execute_plan(plans[which], args, NULL, false, 0);
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

/* Wait until nobody holds the slot lock of (bank_id, slot). */
void
sb_wait_for_slot(int32 bank_id, int64 slot)
{
	LOCKTAG		tag;

	slot_locktag(&tag, bank_id, slot);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
	LockRelease(&tag, ExclusiveLock, false);
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
 * Claim an empty slot for dedup_id.  SB_SLOT_TAKEN if somebody else holds
 * its slot lock or it has a row; SB_DEDUP_TAKEN if dedup_id was claimed by
 * another transaction (waited for, if it was in flight).  Never waits for
 * anything else.  Caller is connected to SPI.
 */
SbClaimResult
sb_claim_empty_slot(int32 bank_id, int64 slot, int32 scope_id, Datum dedup_id)
{
	LOCKTAG		tag;
	Datum		args[4];
	uint64		inserted;

	slot_locktag(&tag, bank_id, slot);
	if (LockAcquire(&tag, ExclusiveLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		return SB_SLOT_TAKEN;
	if (slot_has_row(bank_id, slot))
	{
		LockRelease(&tag, ExclusiveLock, false);
		return SB_SLOT_TAKEN;
	}

	args[0] = Int32GetDatum(bank_id);
	args[1] = Int64GetDatum(slot);
	args[2] = Int32GetDatum(scope_id);
	args[3] = dedup_id;
	inserted = run_plan(PLAN_INSERT_CLAIM, args);
	LockRelease(&tag, ExclusiveLock, false);

	/* with the slot lock held and no row there, only dedup_id can conflict */
	return inserted == 1 ? SB_CLAIMED : SB_DEDUP_TAKEN;
}

/*
 * Claim the lowest released item that no other transaction is claiming.
 * Returns its slot, or 0 if there is none; *dedup_taken is set if dedup_id
 * turned out to be claimed by another transaction (nothing changed then).
 * Caller is connected to SPI.
 */
int64
sb_claim_released(int32 bank_id, int32 scope_id, Datum dedup_id, bool *dedup_taken)
{
	MemoryContext caller_cxt = CurrentMemoryContext;
	ResourceOwner caller_owner = CurrentResourceOwner;
	Datum		args[3] = {Int32GetDatum(bank_id), Int32GetDatum(scope_id), dedup_id};
	volatile int64 slot = 0;

	*dedup_taken = false;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(caller_cxt);
	PG_TRY();
	{
		if (run_plan(PLAN_CLAIM_RELEASED, args) == 1)
		{
			bool		isnull;

			slot = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 1, &isnull));
		}
		ReleaseCurrentSubTransaction();
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

/*
 * Record that every slot up to upto has a committed claim row.  Caller is
 * connected to SPI and has checked that.
 */
void
sb_raise_watermark(int32 bank_id, int64 upto)
{
	Datum		args[2] = {Int32GetDatum(bank_id), Int64GetDatum(upto)};

	run_plan(PLAN_RAISE_WATERMARK, args);
}
