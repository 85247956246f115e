/*-------------------------------------------------------------------------
 *
 * layout.c
 *	  storagebox's distributed layout on Citus: each dedup scope's rows on
 *	  the node that holds its shard, and calls routed to that node.
 *
 * Lock order: the shard metadata lock (ShareLock) is taken before any
 * storagebox relation of the scope is opened; for a call that can be
 * routed, before the bank's cursor (sb_bank_is_remote runs first), else
 * after it.
 *
 * The design, the lock protocol and the global lock order:
 * docs/design.md, "Citus: the distributed layout".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_publication.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "pg_compat.h"

#include "citus/layout.h"

PG_FUNCTION_INFO_V1(sb_route_call);

/*
 * Citus's advisory lock on the metadata of one shard of a hash-distributed
 * table, shared by the colocated shards of the same index
 * (SET_LOCKTAG_COLOCATED_SHARDS_METADATA_RESOURCE in Citus's
 * resource_lock.h): key1 the shard's index in its table, key2 the
 * colocation id.
 */
#define CITUS_COLOCATED_SHARDS_METADATA_LOCK_CLASS	8

/* The most shards a distributed storagebox table may have. */
#define SB_MAX_SHARDS	1024

/* One hash range of the colocated claim and item shards. */
typedef struct ScopeShard
{
	int32		min_hash;
	int32		max_hash;
	int64		claim_shard;
	int64		item_shard;
	bool		local;			/* placed on this node */
} ScopeShard;

/*
 * The scope the running call reads and writes, and its shard relations,
 * resolved as they are needed.  Kept when an invalidation makes the map be
 * read again in the middle of a call: the shard lock and the relation
 * locks taken keep these shards in place to the end of the transaction.
 */
typedef struct CurrentScope
{
	int32		scope_id;		/* -1: none */
	int64		claim_shard;
	int64		item_shard;
	uint64		generation;		/* of the map the relations were resolved in */
	bool		resolved[SB_NUM_RELS];
	Oid			rel_oids[SB_NUM_RELS];
} CurrentScope;

/* What this backend has read of the layout. */
typedef struct LayoutMap
{
	bool		valid;
	int64		bank_shard;		/* the reference shard of bank */
	uint32		colocation_id;	/* of claim and item */
	bool		bank_resolved;
	Oid			bank_oids[SB_NUM_RELS];
	int			nshards;
	ScopeShard	shards[SB_MAX_SHARDS];
} LayoutMap;

static LayoutMap *map = NULL;
static CurrentScope current = {.scope_id = -1};
static uint64 generation = 0;		/* counts sb_layout_forget calls */

static bool in_routed_call(void);

/* The storagebox_data schema. */
static Oid
data_namespace(void)
{
	return get_namespace_oid("storagebox_data", false);
}

/* The owner of storagebox's tables (the owner of the claim table). */
static Oid
tables_owner(void)
{
	Oid			claim = get_relname_relid("claim", data_namespace());
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(claim));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", claim);
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}

/*
 * The bank's cursor sequence on this node: each node has its own of that
 * name, and the OID stored in the bank's row is the coordinator's (Citus
 * copies reference tables in binary).
 */
Oid
sb_layout_cursor(int32 bank_id)
{
	char		name[NAMEDATALEN];

	snprintf(name, sizeof(name), "bank_cursor_%d", bank_id);
	return get_relname_relid(name, data_namespace());
}

void
sb_layout_forget(void)
{
	generation++;
	if (map != NULL)
		map->valid = false;
}

/*
 * Whether the storagebox tables in Citus metadata are exactly the layout:
 * scope and bank reference tables, claim and item hash-distributed on
 * scope_id in one colocation group, and nothing else.
 */
bool
sb_layout_matches(void)
{
	int			rc;
	bool		matches;

	SPI_connect();
	rc = SPI_execute(
		"SELECT pg_catalog.string_agg(c.relname::pg_catalog.text"
		"         OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) p.partmethod::pg_catalog.text"
		"         OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||)"
		"         coalesce(pg_catalog.column_to_column_name(p.logicalrelid, p.partkey), ''),"
		"         ',' ORDER BY c.relname)"
		"       OPERATOR(pg_catalog.=) 'bank:n:,claim:h:scope_id,item:h:scope_id,scope:n:'"
		"   AND pg_catalog.count(DISTINCT p.colocationid)"
		"       FILTER (WHERE p.partmethod OPERATOR(pg_catalog.=) 'h') OPERATOR(pg_catalog.=) 1"
		"  FROM pg_catalog.pg_dist_partition p"
		"  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) p.logicalrelid"
		" WHERE c.relnamespace OPERATOR(pg_catalog.=)"
		"       'storagebox_data'::pg_catalog.regnamespace",
		true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "storagebox: reading Citus metadata failed: %s",
			 SPI_result_code_string(rc));
	{
		bool		isnull;

		matches = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
											 SPI_tuptable->tupdesc, 1, &isnull)) && !isnull;
	}
	SPI_finish();
	return matches;
}

/* Which relations belong to which table, for naming their shards. */
static bool
in_scope_tables(SbRelation rel)
{
	return rel == SB_ITEM || rel == SB_ITEM_PKEY || rel == SB_ITEM_UNIQUE ||
		rel == SB_CLAIM || rel == SB_CLAIM_PKEY || rel == SB_CLAIM_HOLDER_KEY ||
		rel == SB_CLAIM_FREE || rel == SB_CLAIM_HELD;
}

static bool
in_bank_table(SbRelation rel)
{
	return rel == SB_BANK || rel == SB_BANK_NAME_KEY || rel == SB_BANK_PKEY;
}

static bool
in_item_table(SbRelation rel)
{
	return rel == SB_ITEM || rel == SB_ITEM_PKEY || rel == SB_ITEM_UNIQUE;
}

/* The relation "<name of shell>_<shardid>" in storagebox_data. */
static Oid
shard_relation(Oid shell, int64 shardid, bool missing_ok)
{
	char		name[NAMEDATALEN * 2];
	Oid			relid;

	if (!OidIsValid(shell))
		return InvalidOid;
	snprintf(name, sizeof(name), "%s_" INT64_FORMAT, get_rel_name(shell), shardid);
	relid = get_relname_relid(name, data_namespace());
	if (!OidIsValid(relid) && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("shard relation \"storagebox_data.%s\" is missing on this node", name),
				 errdetail("Citus metadata places the shard here, but its table or index does not exist."),
				 errhint("Check the shard placements with citus_shards.")));
	return relid;
}

/* Raise an error unless the shard's column numbers are the shell's. */
static void
check_shard_columns(Oid shell, Oid shard)
{
	char	   *name;

	for (AttrNumber att = 1; (name = get_attname(shell, att, true)) != NULL; att++)
	{
		if (get_attnum(shard, name) != att)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("shard \"%s\" does not have the column layout of \"%s\"",
							get_rel_name(shard), get_rel_name(shell)),
					 errdetail("storagebox reads shards by column number."),
					 errhint("Run sql/citus/sb_distribute.sql on a freshly installed extension.")));
	}
}

/* Read the layout: every shard of claim and item, and the bank's shard. */
static void
load_map(void)
{
	uint64		before = generation;
	int			rc;

	if (map == NULL)
		map = MemoryContextAllocZero(TopMemoryContext, sizeof(LayoutMap));
	map->valid = false;
	map->nshards = 0;
	map->bank_resolved = false;
	map->bank_shard = 0;

	/*
	 * Under the latest snapshot, not the statement's: a shard move that
	 * committed while this call waited for the shard lock must be seen.
	 */
	SPI_connect();
	PushActiveSnapshot(GetLatestSnapshot());
	rc = SPI_execute(
		"SELECT c.relname::pg_catalog.text, s.shardid,"
		"       s.shardminvalue::pg_catalog.int4, s.shardmaxvalue::pg_catalog.int4,"
		"       EXISTS (SELECT FROM pg_catalog.pg_dist_placement p"
		"                WHERE p.shardid OPERATOR(pg_catalog.=) s.shardid"
		"                  AND p.groupid OPERATOR(pg_catalog.=)"
		"                      (SELECT l.groupid FROM pg_catalog.pg_dist_local_group l)),"
		"       (SELECT d.colocationid FROM pg_catalog.pg_dist_partition d"
		"         WHERE d.logicalrelid OPERATOR(pg_catalog.=) s.logicalrelid)"
		"  FROM pg_catalog.pg_dist_shard s"
		"  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) s.logicalrelid"
		" WHERE c.relnamespace OPERATOR(pg_catalog.=)"
		"       'storagebox_data'::pg_catalog.regnamespace"
		"   AND c.relname::pg_catalog.text OPERATOR(pg_catalog.=) ANY ('{bank,claim,item}')"
		" ORDER BY 1, 3",
		true, 0);
	PopActiveSnapshot();
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "storagebox: reading the Citus shards failed: %s",
			 SPI_result_code_string(rc));
	{
		int			nclaim = 0;
		int			nitem = 0;

		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			char	   *rel = SPI_getvalue(tup, desc, 1);
			bool		isnull;
			int64		shardid = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));

			if (strcmp(rel, "bank") == 0)
				map->bank_shard = shardid;
			else if (strcmp(rel, "claim") == 0)
			{
				ScopeShard *s;

				if (nclaim == SB_MAX_SHARDS)
					ereport(ERROR,
							(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							 errmsg("storagebox_data.claim has more than %d shards", SB_MAX_SHARDS),
							 errhint("Distribute storagebox with citus.shard_count at most %d.",
									 SB_MAX_SHARDS)));
				s = &map->shards[nclaim++];
				memset(s, 0, sizeof(*s));
				s->min_hash = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
				s->max_hash = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
				s->claim_shard = shardid;
				s->local = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));
				map->colocation_id = DatumGetUInt32(SPI_getbinval(tup, desc, 6, &isnull));
			}
			else if (strcmp(rel, "item") == 0 && nitem < nclaim)
			{
				ScopeShard *s = &map->shards[nitem++];
				bool		item_local = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));

				/* colocated: same ranges, same node */
				if (DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull)) != s->min_hash ||
					item_local != s->local)
					elog(ERROR, "storagebox: the shards of claim and item are not colocated");
				s->item_shard = shardid;
			}
		}
		if (nclaim == 0 || nitem != nclaim || map->bank_shard == 0)
			elog(ERROR, "storagebox: the Citus shards of its tables are incomplete");
		map->nshards = nclaim;
	}
	SPI_finish();
	if (generation == before)
		map->valid = true;
}

/* The shard index whose hash range holds scope_id. */
static int
shard_of_scope(int32 scope_id)
{
	int32		hash = DatumGetInt32(DirectFunctionCall1(hashint4, Int32GetDatum(scope_id)));
	int			lo = 0;
	int			hi = map->nshards - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;

		if (hash < map->shards[mid].min_hash)
			hi = mid - 1;
		else if (hash > map->shards[mid].max_hash)
			lo = mid + 1;
		else
			return mid;
	}
	elog(ERROR, "storagebox: no shard holds dedup scope %d", scope_id);
	return -1;					/* keep compiler quiet */
}

static void
ensure_map(void)
{
	while (map == NULL || !map->valid)
		load_map();
}

/*
 * Citus's colocated-shards metadata lock of shard s, in share mode (what
 * Citus's own writers take), held to the end of the transaction.
 */
static void
lock_shard_share(const ScopeShard *s)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) (s - map->shards),
						 map->colocation_id, CITUS_COLOCATED_SHARDS_METADATA_LOCK_CLASS);
	(void) LockAcquire(&tag, ShareLock, false, false);
}

bool
sb_layout_enter_scope(int32 scope_id)
{
	bool		routed = in_routed_call();
	bool		locked = false;

	for (;;)
	{
		uint64		before;
		ScopeShard *s;

		ensure_map();
		before = generation;
		s = &map->shards[shard_of_scope(scope_id)];

		/*
		 * The shard lock, on the node where the call arrived, whether the
		 * shard is here or not: a call routed from here then reaches the
		 * node that holds the shard, and writes there, before any move of
		 * it can start (a move takes the lock on every node).  The far end
		 * of a routed call takes no lock while it finds the shard here:
		 * taking it there too would let a move that holds it on that node
		 * and waits for the caller's node close a cycle across nodes, as
		 * Citus's own routed writes do not.
		 */
		if (!routed || (!s->local && !locked))
		{
			lock_shard_share(s);
			locked = true;
		}
		/*
		 * A move that finished while we waited has sent its invalidations;
		 * then look again.  At the far end of a routed call that does not
		 * find the shard here, the caller's node may have seen a finished
		 * move before this node did (Citus commits a move on the workers
		 * one after the other): the lock, taken above, waited for this
		 * node's part of it.
		 */
		AcceptInvalidationMessages();
		if (generation != before || !map->valid)
			continue;
		if (!s->local)
		{
			current.scope_id = -1;
			return false;
		}
		if (current.claim_shard != s->claim_shard || current.generation != generation)
		{
			memset(&current, 0, sizeof(current));
			current.claim_shard = s->claim_shard;
			current.item_shard = s->item_shard;
			current.generation = generation;
		}
		current.scope_id = scope_id;
		return true;
	}
}

Oid
sb_layout_relation(SbRelation rel, Oid shell)
{
	ensure_map();
	if (in_bank_table(rel))
	{
		if (!map->bank_resolved)
		{
			Oid			bank_shell = get_relname_relid("bank", data_namespace());

			for (int i = 0; i < SB_NUM_RELS; i++)
				map->bank_oids[i] = InvalidOid;
			map->bank_oids[SB_BANK] = shard_relation(bank_shell, map->bank_shard, false);
			check_shard_columns(bank_shell, map->bank_oids[SB_BANK]);
			map->bank_oids[SB_BANK_NAME_KEY] =
				shard_relation(get_relname_relid("bank_name_key", data_namespace()),
							   map->bank_shard, false);
			map->bank_oids[SB_BANK_PKEY] =
				shard_relation(get_relname_relid("bank_pkey", data_namespace()),
							   map->bank_shard, false);
			map->bank_resolved = true;
		}
		return map->bank_oids[rel];
	}
	if (in_scope_tables(rel))
	{
		if (current.scope_id < 0)
			elog(ERROR, "storagebox: no dedup scope is current on this node");
		if (!current.resolved[rel])
		{
			current.rel_oids[rel] =
				shard_relation(shell,
							   in_item_table(rel) ? current.item_shard : current.claim_shard,
							   rel == SB_CLAIM_HELD);
			if (rel == SB_CLAIM || rel == SB_ITEM)
				check_shard_columns(shell, current.rel_oids[rel]);
			current.resolved[rel] = true;
		}
		return current.rel_oids[rel];
	}
	return shell;
}

/*
 * Raise 55000 if the current scope's claim shard is in a publication: Citus
 * is moving it with logical replication (a non-blocking move).  Claims
 * written to the source shard while such a move copied it were lost in our
 * tests (README, "Scaling out with Citus"), so the writers refuse until the
 * move has completed; a move with shard_transfer_mode 'block_writes' makes
 * them wait instead.
 */
void
sb_layout_require_no_logical_move(void)
{
	Oid			claim = sb_layout_relation(SB_CLAIM,
											get_relname_relid("claim", data_namespace()));

	if (sb_relation_publications(claim) != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the shard of dedup scope %d is being moved with logical replication",
						current.scope_id),
				 errdetail("storagebox does not write to a shard while Citus copies it without blocking writes."),
				 errhint("Move storagebox's shards with shard_transfer_mode 'block_writes'; this call succeeds again once the move has finished.")));
}

/*
 * Whether this backend is running a routed call: set by route_call around
 * the function it runs (not from anything a client can set).
 */
static bool serving_routed_call = false;

static bool
in_routed_call(void)
{
	return serving_routed_call;
}

/*
 * The routed path of sb_layout_route: route_call, which Citus sends to the
 * node of scope_id inside the caller's transaction.
 */
static Datum
route_through_citus(FunctionCallInfo fcinfo, int32 scope_id)
{
	const char *fn = format_procedure_qualified(fcinfo->flinfo->fn_oid);
	StringInfoData sql;
	Oid		   *argtypes;
	int			nargs;
	Oid			rettype = get_func_signature(fcinfo->flinfo->fn_oid, &argtypes, &nargs);
	MemoryContext caller = CurrentMemoryContext;
	Datum		result = (Datum) 0;
	bool		isnull = true;
	int			rc;
	Oid			save_userid;
	int			save_sec_context;

	if (in_routed_call())
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("the shard of dedup scope %d is no longer on this node", scope_id),
				 errdetail("The shard moved while the call was routed to it."),
				 errhint("Retry the call.")));

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT r FROM storagebox_data.route_call(%d, %s, ARRAY[",
					 scope_id, quote_literal_cstr(fn));
	for (int i = 0; i < PG_NARGS(); i++)
	{
		Oid			argtype = argtypes[i];
		Oid			out;
		bool		varlena;

		if (i > 0)
			appendStringInfoString(&sql, ", ");
		if (PG_ARGISNULL(i))
		{
			appendStringInfoString(&sql, "NULL");
			continue;
		}
		getTypeOutputInfo(argtype, &out, &varlena);
		appendStringInfoString(&sql,
							   quote_literal_cstr(OidOutputFunctionCall(out, PG_GETARG_DATUM(i))));
	}
	appendStringInfo(&sql, "]::pg_catalog.text[], %s) AS r",
					 quote_literal_cstr(GetUserNameFromId(GetUserId(), false)));

	/*
	 * As the owner of the tables, who alone may run route_call: it runs fn
	 * as the role named in its last argument.
	 */
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(tables_owner(), save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	SPI_connect();
	PG_TRY();
	{
		rc = SPI_execute(sql.data, false, 1);
	}
	PG_CATCH();
	{
		/*
		 * The error of the far end, as the caller would have had it here:
		 * without the routing statement and the context of its execution
		 * (Citus's and SPI's lines), which say nothing of the caller's call.
		 */
		ErrorData  *edata;

		MemoryContextSwitchTo(caller);
		edata = CopyErrorData();
		FlushErrorState();
		edata->context = NULL;
		edata->internalquery = NULL;
		edata->internalpos = 0;
		edata->cursorpos = 0;
		ReThrowError(edata);
	}
	PG_END_TRY();
	SetUserIdAndSecContext(save_userid, save_sec_context);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "storagebox: the routed call failed: %s", SPI_result_code_string(rc));
	{
		char	   *value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		if (value != NULL)
		{
			Oid			in;
			Oid			ioparam;
			MemoryContext old = MemoryContextSwitchTo(caller);

			getTypeInputInfo(rettype, &in, &ioparam);
			result = OidInputFunctionCall(in, value, ioparam, -1);
			isnull = false;
			MemoryContextSwitchTo(old);
		}
	}
	SPI_finish();
	fcinfo->isnull = isnull;
	return result;
}

Datum
sb_layout_route(FunctionCallInfo fcinfo, int32 scope_id)
{
	return route_through_citus(fcinfo, scope_id);
}

/* The functions a routed call may run: storagebox's own, by name. */
static const char *const routable[] = {
	"sb_fetch_item", "sb_hold_item", "sb_confirm", "sb_lookup", "sb_release",
	"load_items"
};

/*
 * storagebox_data.route_call(scope_id integer, fn text, args text[],
 *                            caller name) returns text
 *
 * The far end of sb_layout_route: run fn (a qualified signature, one of
 * storagebox's functions above) with args in their text form, as the role
 * caller, and return its result as text.  The caller needs EXECUTE on fn,
 * as if it had called it here.  scope_id is what Citus routed by.  Only
 * the owner of storagebox's tables may run route_call (EXECUTE is revoked
 * from PUBLIC), which is what sb_layout_route runs it as.
 */
Datum
sb_route_call(PG_FUNCTION_ARGS)
{
	char	   *fn;
	ArrayType  *args;
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	bool		allowed = false;
	Oid			fnoid;
	Oid			rettype;
	int			nargs;
	Oid		   *argtypes;
	FmgrInfo	flinfo;
	Datum		result;
	char	   *name;
	Oid			caller;
	Oid			save_userid;
	int			save_sec_context;
	bool		isnull;

	/* it acts as any role: only the owner of the tables may run it */
	if (GetUserId() != tables_owner() && !superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for function route_call"),
				 errdetail("Only the owner of storagebox's tables runs it, for the calls storagebox routes.")));
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_NULL();
	caller = get_role_oid(NameStr(*PG_GETARG_NAME(3)), false);
	fn = text_to_cstring(PG_GETARG_TEXT_PP(1));
	fnoid = DatumGetObjectId(DirectFunctionCall1(regprocedurein, CStringGetDatum(fn)));
	name = get_func_name(fnoid);
	if (getExtensionOfObject(ProcedureRelationId, fnoid) == get_extension_oid("storagebox", false))
		for (size_t i = 0; i < lengthof(routable); i++)
			if (strcmp(name, routable[i]) == 0)
				allowed = true;
	if (!allowed)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("storagebox does not route calls of %s", fn)));
	if (sb_proc_aclcheck(fnoid, caller, ACL_EXECUTE) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_FUNCTION, name);
	rettype = get_func_signature(fnoid, &argtypes, &nargs);

	args = PG_GETARG_ARRAYTYPE_P(2);
	deconstruct_array(args, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &nelems);
	if (nelems != nargs)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s takes %d arguments, not %d", fn, nargs, nelems)));

	fmgr_info(fnoid, &flinfo);
	{
		LOCAL_FCINFO(call, FUNC_MAX_ARGS);

		InitFunctionCallInfoData(*call, &flinfo, nargs, InvalidOid, NULL, NULL);
		for (int i = 0; i < nargs; i++)
		{
			Oid			in;
			Oid			ioparam;

			call->args[i].isnull = nulls[i];
			call->args[i].value = (Datum) 0;
			if (!nulls[i])
			{
				getTypeInputInfo(argtypes[i], &in, &ioparam);
				call->args[i].value = OidInputFunctionCall(in, TextDatumGetCString(elems[i]),
														   ioparam, -1);
			}
		}
		GetUserIdAndSecContext(&save_userid, &save_sec_context);
		SetUserIdAndSecContext(caller, save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
		serving_routed_call = true;
		PG_TRY();
		{
			result = FunctionCallInvoke(call);
		}
		PG_FINALLY();
		{
			serving_routed_call = false;
		}
		PG_END_TRY();
		SetUserIdAndSecContext(save_userid, save_sec_context);
		isnull = call->isnull;
	}
	if (isnull)
		PG_RETURN_NULL();
	{
		Oid			out;
		bool		varlena;

		getTypeOutputInfo(rettype, &out, &varlena);
		PG_RETURN_TEXT_P(cstring_to_text(OidOutputFunctionCall(out, result)));
	}
}
