/*-------------------------------------------------------------------------
 *
 * dispenser.c
 *	  sb_next(dispenser [, count]) and PEZ's sb_forward / sb_reverse.
 *
 * A dispenser is a row of storagebox_data.dispenser naming an ordinary
 * CYCLE sequence: increment +1 for "forward", -1 for "reverse", over the
 * dispenser's [min_value, max_value].  Numbers come from seq_run.c, which
 * takes a contiguous run of any length in one locked step of the sequence
 * page, so a batch of 100 costs about what one number costs and concurrent
 * batches never interleave.
 *
 * These functions run no SQL: the dispenser row is found with a direct
 * index probe on storagebox_data.dispenser_pkey (and then cached per
 * backend, revalidated on each call against the sequence, which
 * sb_drop_dispenser drops) and the sequence is stepped by seq_run.c.
 * Nothing depends on search_path, so they need no SECURITY DEFINER.
 *
 * Privileges, as for nextval: EXECUTE on the function, plus USAGE or UPDATE
 * on the dispenser's sequence, checked for the current user on every call
 * (sb_grant_dispenser grants USAGE).  A caller without it gets 42501 before
 * the sequence is touched.  dispenser_next_value, behind the sb_dispensers
 * view, needs SELECT or USAGE on the sequence, as pg_sequence_last_value
 * does; the view shows NULL where the reader has neither.
 *
 * Locking: AccessShareLock on the dispenser table and its index for the
 * probe (cache misses only), then RowExclusiveLock on the sequence, held to
 * the end of the transaction, which seq_run.c relies on.  DROP of the
 * sequence by sb_drop_dispenser waits for callers in flight.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "storage/lmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "citus/placement.h"
#include "common/common.h"
#include "dispenser/dispenser.h"
#include "dispenser/seq_run.h"

/* Largest count accepted by sb_next(dispenser, count): storagebox.max_count. */
int			sb_max_count = 100;

PG_FUNCTION_INFO_V1(sb_next);
PG_FUNCTION_INFO_V1(sb_next_batch);
PG_FUNCTION_INFO_V1(sb_forward);
PG_FUNCTION_INFO_V1(sb_forward_batch);
PG_FUNCTION_INFO_V1(sb_reverse);
PG_FUNCTION_INFO_V1(sb_reverse_batch);
PG_FUNCTION_INFO_V1(sb_dispenser_next_value);

/* Attribute numbers of storagebox_data.dispenser (see the install script). */
#define Anum_dispenser_name		1
#define Anum_dispenser_seq		2

/* The OID of a relation in storagebox_data; errors if it is missing. */
static Oid
data_relation(const char *relname)
{
	Oid			nsp = get_namespace_oid("storagebox_data", false);
	Oid			relid = get_relname_relid(relname, nsp);

	if (!OidIsValid(relid))
		elog(ERROR, "storagebox_data.%s is missing", relname);
	return relid;
}

/* Per-backend cache of dispenser sequences, by dispenser name. */
typedef struct DispenserCacheEntry
{
	char		name[SB_NAME_MAX_BYTES + 1];	/* hash key */
	Oid			seqoid;
	Oid			seqnamespace;
	NameData	seqname;
} DispenserCacheEntry;

static HTAB *dispenser_cache = NULL;

/*
 * Lock seqoid against DROP and check that it is still the relation the
 * cache entry recorded (a dropped dispenser's sequence is gone; its OID
 * could only come back as a relation of another name).
 */
static bool
lock_cached_sequence(DispenserCacheEntry *entry)
{
	HeapTuple	tuple;
	bool		ok;

	LockRelationOid(entry->seqoid, RowExclusiveLock);
	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(entry->seqoid));
	if (!HeapTupleIsValid(tuple))
		return false;
	ok = ((Form_pg_class) GETSTRUCT(tuple))->relnamespace == entry->seqnamespace &&
		namestrcmp(&((Form_pg_class) GETSTRUCT(tuple))->relname,
				   NameStr(entry->seqname)) == 0;
	ReleaseSysCache(tuple);
	return ok;
}

/* The sequence of a dispenser from its table row, or InvalidOid. */
static Oid
read_dispenser_row(text *name)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	Oid			seqoid = InvalidOid;

	rel = table_open(data_relation("dispenser"), AccessShareLock);
	ScanKeyInit(&key, Anum_dispenser_name, BTEqualStrategyNumber,
				F_TEXTEQ, PointerGetDatum(name));
	scan = systable_beginscan(rel, data_relation("dispenser_pkey"), true,
							  GetActiveSnapshot(), 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;

		seqoid = DatumGetObjectId(heap_getattr(tuple, Anum_dispenser_seq,
											   RelationGetDescr(rel), &isnull));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return seqoid;
}

/*
 * The sequence behind a dispenser, locked against DROP, or a 42704 error.
 * A hit in the cache costs a lock and one syscache lookup; a miss reads the
 * dispenser table.
 */
static Oid
dispenser_sequence(text *name, const char *key)
{
	DispenserCacheEntry *entry;
	Oid			seqoid;

	if (dispenser_cache == NULL)
		dispenser_cache = sb_name_cache_create("storagebox dispensers",
											   sizeof(DispenserCacheEntry));

	entry = hash_search(dispenser_cache, key, HASH_FIND, NULL);
	if (entry != NULL)
	{
		if (lock_cached_sequence(entry))
			return entry->seqoid;
		hash_search(dispenser_cache, key, HASH_REMOVE, NULL);
	}

	seqoid = read_dispenser_row(name);
	if (OidIsValid(seqoid))
	{
		HeapTuple	tuple;

		LockRelationOid(seqoid, RowExclusiveLock);
		tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(seqoid));
		if (HeapTupleIsValid(tuple))
		{
			entry = hash_search(dispenser_cache, key, HASH_ENTER, NULL);
			entry->seqoid = seqoid;
			entry->seqnamespace = ((Form_pg_class) GETSTRUCT(tuple))->relnamespace;
			entry->seqname = ((Form_pg_class) GETSTRUCT(tuple))->relname;
			ReleaseSysCache(tuple);
			return seqoid;
		}
		/* dropped while we looked */
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("dispenser \"%s\" does not exist", key),
			 errhint("Create it with sb_create_dispenser().")));
	return InvalidOid;			/* keep compiler quiet */
}

/* Check a count argument against storagebox.max_count. */
static int
checked_count(bool isnull, int32 count)
{
	sb_require_arg("count", isnull);
	if (count < 1 || count > sb_max_count)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("count must be between 1 and %d", sb_max_count),
				 errdetail("The count given was %d.", count),
				 errhint("The limit is the setting storagebox.max_count, which a superuser can raise.")));
	return count;
}

/*
 * The right to take numbers from a dispenser: USAGE or UPDATE on its
 * sequence, exactly what nextval asks for.
 */
static void
check_take_right(Oid seqoid, const char *dispenser)
{
	if (pg_class_aclcheck(seqoid, GetUserId(), ACL_USAGE | ACL_UPDATE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for dispenser \"%s\"", dispenser),
				 errdetail("Taking numbers needs USAGE or UPDATE on the dispenser's sequence %s.",
						   quote_qualified_identifier(get_namespace_name(get_rel_namespace(seqoid)),
													  get_rel_name(seqoid))),
				 errhint("The dispenser's manager can grant it with sb_grant_dispenser().")));
}

/* Take count numbers from the named dispenser into values[]. */
static void
dispense(text *name, int count, int64 *values)
{
	char	   *key;
	Oid			seqoid;

	sb_require_text("dispenser", name, SB_NAME_MAX_BYTES);
	sb_placement_require_local_node();
	PreventCommandIfReadOnly("sb_next()");
	key = text_to_cstring(name);
	seqoid = dispenser_sequence(name, key);
	check_take_right(seqoid, key);
	sb_seq_take_run(seqoid, key, count, values);
}

static Datum
dispense_one(text *name)
{
	int64		value;

	dispense(name, 1, &value);
	PG_RETURN_INT64(value);
}

/*
 * A one-dimensional bigint[] of count elements, no NULLs, built in place:
 * seq_run.c writes the run straight into its data area.
 */
static Datum
dispense_array(text *name, int count)
{
	Size		nbytes = ARR_OVERHEAD_NONULLS(1) + sizeof(int64) * (Size) count;
	ArrayType  *array = (ArrayType *) palloc(nbytes);

	SET_VARSIZE(array, nbytes);
	array->ndim = 1;
	array->dataoffset = 0;		/* no null bitmap */
	array->elemtype = INT8OID;
	ARR_DIMS(array)[0] = count;
	ARR_LBOUND(array)[0] = 1;
	dispense(name, count, (int64 *) ((char *) array + ARR_OVERHEAD_NONULLS(1)));
	PG_RETURN_ARRAYTYPE_P(array);
}

/* sb_next(dispenser text) returns bigint */
Datum
sb_next(PG_FUNCTION_ARGS)
{
	sb_require_arg("dispenser", PG_ARGISNULL(0));
	return dispense_one(PG_GETARG_TEXT_PP(0));
}

/* sb_next(dispenser text, count integer) returns bigint[] */
Datum
sb_next_batch(PG_FUNCTION_ARGS)
{
	sb_require_arg("dispenser", PG_ARGISNULL(0));
	return dispense_array(PG_GETARG_TEXT_PP(0),
						  checked_count(PG_ARGISNULL(1), PG_GETARG_INT32(1)));
}

/* sb_forward() returns bigint: PEZ /v1/forward */
Datum
sb_forward(PG_FUNCTION_ARGS)
{
	return dispense_one(cstring_to_text("forward"));
}

/* sb_forward(count integer) returns bigint[]: PEZ /v2/forward */
Datum
sb_forward_batch(PG_FUNCTION_ARGS)
{
	return dispense_array(cstring_to_text("forward"),
						  checked_count(PG_ARGISNULL(0), PG_GETARG_INT32(0)));
}

/* sb_reverse() returns bigint: PEZ /v1/reverse */
Datum
sb_reverse(PG_FUNCTION_ARGS)
{
	return dispense_one(cstring_to_text("reverse"));
}

/* sb_reverse(count integer) returns bigint[]: PEZ /v2/reverse */
Datum
sb_reverse_batch(PG_FUNCTION_ARGS)
{
	return dispense_array(cstring_to_text("reverse"),
						  checked_count(PG_ARGISNULL(0), PG_GETARG_INT32(0)));
}

/*
 * dispenser_next_value(seq regclass) returns bigint: for sb_dispensers.
 * Executable by PUBLIC; like pg_sequence_last_value it needs SELECT or
 * USAGE on the sequence, checked before the sequence is even locked.
 */
Datum
sb_dispenser_next_value(PG_FUNCTION_ARGS)
{
	Oid			seqoid = PG_GETARG_OID(0);

	sb_placement_require_local_node();
	if (pg_class_aclcheck(seqoid, GetUserId(), ACL_SELECT | ACL_USAGE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for sequence %s", get_rel_name(seqoid))));
	PG_RETURN_INT64(sb_seq_peek_next(seqoid));
}
