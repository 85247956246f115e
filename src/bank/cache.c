/*-------------------------------------------------------------------------
 *
 * cache.c
 *	  The per-backend cache of bank identities: name -> bank_id, scope_id
 *	  and cursor sequence, plus the hints one backend keeps about a bank.
 *
 * Lock order: the first lock of a fetch is RowExclusiveLock on the bank's
 * cursor sequence, taken here and held to the end of the transaction.
 * sb_drop_bank drops that sequence, so it waits for every writer in flight
 * and no writer can see a bank disappear under it.  Readers take no lock.
 *
 * The design, the lock protocol and the global lock order:
 * docs/design.md, "The bank cache and per-bank rights".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "bank/cache.h"
#include "bank/probe.h"
#include "citus/placement.h"

static HTAB *bank_cache = NULL;

/*
 * Whether seqoid is still the cursor of bank bank_id; if so, *restricted
 * says whether the bank is restricted (see require_right_on_cursor), read
 * from the same catalog tuple.
 */
static bool
cursor_belongs_to(Oid seqoid, int32 bank_id, bool *restricted)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(seqoid));
	char		expected[NAMEDATALEN];
	bool		ok;

	if (!HeapTupleIsValid(tuple))
		return false;
	snprintf(expected, sizeof(expected), "bank_cursor_%d", bank_id);
	ok = ((Form_pg_class) GETSTRUCT(tuple))->relnamespace == sb_data_namespace() &&
		strcmp(NameStr(((Form_pg_class) GETSTRUCT(tuple))->relname), expected) == 0;
	*restricted = !heap_attisnull(tuple, Anum_pg_class_relacl, NULL);
	ReleaseSysCache(tuple);
	return ok;
}

/*
 * The bank's cursor sequence, from the value stored in its row.  In the
 * Citus layout each node has its own cursor of that name, and the stored
 * OID is the coordinator's (Citus copies reference tables in binary), so it
 * is looked up by name.
 */
static Oid
bank_cursor(int32 bank_id, Datum stored)
{
	return sb_placement_cursor(bank_id, DatumGetObjectId(stored));
}

/*
 * The cache entry of a bank; for an unknown bank, NULL if missing_ok, else
 * 42704.  With
 * lock_cursor, its cursor is locked (RowExclusiveLock) for the rest of the
 * transaction: sb_drop_bank drops the cursor, so the bank cannot go away
 * under a writer.  Readers pass false (a standby cannot take that lock).
 */
static BankCacheEntry *
find_bank_entry(text *bank, bool lock_cursor, bool missing_ok)
{
	char	   *name = text_to_cstring(bank);
	BankCacheEntry *entry;
	SbProbeKey	key = {F_TEXTEQ, PointerGetDatum(bank)};
	AttrNumber	atts[3] = {sb_column(SB_COL_BANK_BANK_ID),
		sb_column(SB_COL_BANK_SCOPE_ID), sb_column(SB_COL_BANK_CURSOR_SEQ)};
	Datum		values[3];
	bool		isnull[3];
	bool		found;
	bool		restricted = false;

	sb_placement_require_bank_node();
	if (bank_cache == NULL)
		bank_cache = sb_name_cache_create("storagebox banks", sizeof(BankCacheEntry));

	entry = hash_search(bank_cache, name, HASH_FIND, NULL);
	if (entry != NULL)
	{
		if (lock_cursor)
			LockRelationOid(entry->cursor_seq, RowExclusiveLock);
		if (cursor_belongs_to(entry->cursor_seq, entry->bank_id, &entry->restricted))
			return entry;
		hash_search(bank_cache, name, HASH_REMOVE, NULL);
	}

	PushActiveSnapshot(GetTransactionSnapshot());
	found = sb_probe(SB_BANK, SB_BANK_NAME_KEY, 1, &key, ForwardScanDirection,
					 GetActiveSnapshot(), 3, atts, values, isnull);
	PopActiveSnapshot();
	if (found)
	{
		values[2] = ObjectIdGetDatum(bank_cursor(DatumGetInt32(values[0]), values[2]));
		if (lock_cursor && OidIsValid(DatumGetObjectId(values[2])))
			LockRelationOid(DatumGetObjectId(values[2]), RowExclusiveLock);
		found = cursor_belongs_to(DatumGetObjectId(values[2]), DatumGetInt32(values[0]),
								  &restricted);
	}
	if (!found && missing_ok)
		return NULL;
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("bank \"%s\" does not exist", name),
				 errhint("Create it with sb_create_bank().")));

	entry = hash_search(bank_cache, name, HASH_ENTER, NULL);
	entry->bank_id = DatumGetInt32(values[0]);
	entry->scope_id = DatumGetInt32(values[1]);
	entry->cursor_seq = DatumGetObjectId(values[2]);
	entry->restricted = restricted;
	entry->nholes = 0;
	entry->survey_blocker = InvalidTransactionId;
	entry->survey_upto = 0;
	return entry;
}

/*
 * find_bank_entry, for a function that runs where the bank's rows are.  In
 * the Citus layout (citus/layout.c) this makes the bank's dedup scope the
 * current one, and raises 0A000 where its shard is not on this node (the
 * functions that can be routed have asked sb_bank_is_remote first).
 */
BankCacheEntry *
sb_find_bank(text *bank, bool lock_cursor)
{
	BankCacheEntry *entry = find_bank_entry(bank, lock_cursor, false);

	sb_placement_require_scope_here(entry->scope_id, entry->name);
	if (lock_cursor)
		sb_placement_require_writable();
	return entry;
}

/*
 * In the Citus layout, whether the call for this bank must be routed to
 * another node; if so, *scope_id is the bank's dedup scope.  False without
 * the layout, and for an unknown bank (the call then reports it).
 */
bool
sb_bank_is_remote(text *bank, int32 *scope_id)
{
	BankCacheEntry *entry;

	sb_placement_require_bank_node();
	if (!sb_placement_is_distributed())
		return false;
	entry = find_bank_entry(bank, false, false);
	*scope_id = entry->scope_id;
	return !sb_placement_enter_scope(entry->scope_id);
}

/*
 * The dedup scope of the bank named bank, from this backend's cache or a
 * probe of the bank table; false, and no error, if there is no such bank.
 * Takes no lock.  Only in the Citus layout.
 */
bool
sb_bank_scope(text *bank, int32 *scope_id)
{
	BankCacheEntry *entry = find_bank_entry(bank, false, true);

	if (entry == NULL)
		return false;
	*scope_id = entry->scope_id;
	return true;
}

/* The same for a bank known by its id. */
bool
sb_bank_id_is_remote(int32 bank_id, int32 *scope_id)
{
	SbProbeKey	key = {F_INT4EQ, Int32GetDatum(bank_id)};
	AttrNumber	att;
	Datum		value;
	bool		isnull;
	bool		found;

	sb_placement_require_bank_node();
	if (!sb_placement_is_distributed())
		return false;
	att = sb_column(SB_COL_BANK_SCOPE_ID);
	PushActiveSnapshot(GetTransactionSnapshot());
	found = sb_probe(SB_BANK, SB_BANK_PKEY, 1, &key, ForwardScanDirection,
					 GetActiveSnapshot(), 1, &att, &value, &isnull);
	PopActiveSnapshot();
	if (!found)
		elog(ERROR, "storagebox bank %d is missing", bank_id);
	*scope_id = DatumGetInt32(value);
	return !sb_placement_enter_scope(*scope_id);
}

/*
 * Raise 42501 unless the current role may use the bank whose cursor is
 * cursor_seq in the way that right says: SB_RIGHT_FETCH (fetch, hold,
 * confirm, release), SB_RIGHT_LOOK (lookup: fetch or read), SB_RIGHT_READ
 * (sb_holders: read, even on an unrestricted bank).
 *
 * A bank is restricted once its cursor has an ACL at all: a sequence has
 * none (relacl NULL, the owner's default rights) until something is granted
 * on it, and after the last grant is revoked the ACL stays, listing the
 * owner.  So revoking the last grantee leaves the bank closed rather than
 * open to everybody; GRANT ... TO PUBLIC on the cursor opens it again.
 */
static void
require_right_on_cursor(Oid cursor_seq, bool restricted, const char *bank_name,
						SbBankRight right)
{
	AclMode		mode;

	if (!restricted && right != SB_RIGHT_READ)
		return;

	mode = right == SB_RIGHT_FETCH ? ACL_USAGE :
		right == SB_RIGHT_READ ? ACL_SELECT : (ACL_USAGE | ACL_SELECT);
	if (pg_class_aclmask(cursor_seq, GetUserId(), mode, ACLMASK_ANY) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for bank \"%s\"", bank_name),
				 errhint("The owner of the bank can grant access with sb_grant().")));
}

/*
 * require_right_on_cursor for a bank just found by sb_find_bank, which read
 * whether it is restricted.
 */
void
sb_require_bank_right(BankCacheEntry *entry, SbBankRight right)
{
	require_right_on_cursor(entry->cursor_seq, entry->restricted, entry->name, right);
}

/*
 * The same for the bank bank_id, found by its primary key: the bank of a
 * claim row that a call reaches through another bank of the same dedup
 * scope.  The right on the bank named in the call does not extend to it.
 */
void
sb_require_right_on_bank_id(int32 bank_id, SbBankRight right)
{
	SbProbeKey	key = {F_INT4EQ, Int32GetDatum(bank_id)};
	AttrNumber	atts[2] = {sb_column(SB_COL_BANK_CURSOR_SEQ), sb_column(SB_COL_BANK_NAME)};
	Datum		values[2];
	bool		isnull[2];
	bool		found;
	bool		restricted;
	HeapTuple	tuple;

	PushActiveSnapshot(GetTransactionSnapshot());
	found = sb_probe(SB_BANK, SB_BANK_PKEY, 1, &key, ForwardScanDirection,
					 GetActiveSnapshot(), 2, atts, values, isnull);
	PopActiveSnapshot();
	if (!found)
		elog(ERROR, "storagebox bank %d is missing", bank_id);
	values[0] = ObjectIdGetDatum(bank_cursor(bank_id, values[0]));
	tuple = SearchSysCache1(RELOID, values[0]);
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", DatumGetObjectId(values[0]));
	restricted = !heap_attisnull(tuple, Anum_pg_class_relacl, NULL);
	ReleaseSysCache(tuple);
	require_right_on_cursor(DatumGetObjectId(values[0]), restricted,
							TextDatumGetCString(values[1]), right);
}

/*
 * In the Citus layout, whether the call must run on the node that holds the
 * bank's dedup scope (*scope_id); checks the bank argument first.
 */
bool
sb_holder_remote(FunctionCallInfo fcinfo, int32 *scope_id)
{
	sb_require_arg("bank", PG_ARGISNULL(0));
	sb_require_text("bank", PG_GETARG_TEXT_PP(0), SB_NAME_MAX_BYTES);
	return sb_bank_is_remote(PG_GETARG_TEXT_PP(0), scope_id);
}

/*
 * Check (bank, dedup_id) in the order the errors are documented, then the
 * caller's right on the bank.
 */
BankCacheEntry *
sb_holder_args(FunctionCallInfo fcinfo, bool lock_cursor, SbBankRight right)
{
	text	   *bank;
	BankCacheEntry *entry;

	sb_require_arg("bank", PG_ARGISNULL(0));
	bank = PG_GETARG_TEXT_PP(0);
	sb_require_text("bank", bank, SB_NAME_MAX_BYTES);
	entry = sb_find_bank(bank, lock_cursor);
	sb_require_arg("dedup_id", PG_ARGISNULL(1));
	sb_require_text("dedup_id", PG_GETARG_TEXT_PP(1), SB_DEDUP_ID_MAX_BYTES);
	sb_require_bank_right(entry, right);
	return entry;
}
