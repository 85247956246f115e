/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  Refuse to answer on a Citus node where storagebox's tables are not the
 *	  authoritative, local tables it reads and writes.
 *
 * Locks: AccessShareLock on pg_dist_local_group and pg_dist_partition while
 * reading them; nothing is held after the check.
 *
 * The design, the lock protocol and the global lock order:
 * docs/design.md, "Citus: where storagebox may answer".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "commands/extension.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "citus/guard.h"
#include "citus/layout.h"
#include "citus/placement.h"

/* What the last check found. */
typedef enum SbNodeKind
{
	SB_NODE_UNKNOWN,			/* not checked since the last invalidation */
	SB_NODE_LOCAL,				/* no Citus, or its coordinator with local tables */
	SB_NODE_CITUS_WORKER,		/* a worker node of a Citus cluster */
	SB_NODE_CITUS_MANAGED,		/* a storagebox table is in Citus metadata */
	SB_NODE_LAYOUT_COORDINATOR, /* the distributed layout, on the coordinator */
	SB_NODE_LAYOUT_WORKER		/* the distributed layout, on a worker */
} SbNodeKind;

static SbNodeKind node_kind = SB_NODE_UNKNOWN;
static char managed_table[NAMEDATALEN];
static bool callback_registered = false;

/*
 * Counts relcache invalidations.  The check opens catalogs, which can
 * process an invalidation halfway through; an answer is kept only if none
 * arrived while it was computed.
 */
static uint64 invalidations = 0;

/* The tables whose rows storagebox reads and writes itself. */
static const char *const storagebox_tables[] = {
	"scope", "bank", "bank_progress", "item", "claim", "dispenser"
};

/* Any relcache invalidation may mean a change of node role or of metadata. */
static void
forget_node_kind(Datum arg, Oid relid)
{
	node_kind = SB_NODE_UNKNOWN;
	invalidations++;
	sb_layout_forget();
}

/*
 * Is Citus's library loaded in this backend?  Citus must be in
 * shared_preload_libraries, so the answer cannot change from false to true
 * during a session's life, except through LOAD, which Citus refuses.
 */
bool
sb_citus_library_loaded(void)
{
	return GetConfigOption("citus.node_conninfo", true, false) != NULL;
}

/* The group id in pg_dist_local_group: 0 on a coordinator (or lone node). */
static int32
local_group_id(void)
{
	Oid			relid = get_relname_relid("pg_dist_local_group", PG_CATALOG_NAMESPACE);
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tuple;
	int32		groupid = 0;

	if (!OidIsValid(relid))
		return 0;
	rel = table_open(relid, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		value = heap_getattr(tuple, 1, RelationGetDescr(rel), &isnull);

		if (!isnull)
			groupid = DatumGetInt32(value);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return groupid;
}

/* Does pg_dist_partition have a row for relid? */
static bool
in_citus_metadata(Relation dist_partition, Oid index_oid, Oid relid)
{
	ScanKeyData key;
	SysScanDesc scan;
	bool		found;

	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(dist_partition, index_oid, OidIsValid(index_oid),
							  NULL, 1, &key);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	return found;
}

/*
 * The first storagebox table found in Citus metadata, copied into
 * managed_table; false if none is.
 */
static bool
find_managed_table(void)
{
	Oid			partition_oid = get_relname_relid("pg_dist_partition",
												  PG_CATALOG_NAMESPACE);
	Oid			index_oid = get_relname_relid("pg_dist_partition_logical_relid_index",
											  PG_CATALOG_NAMESPACE);
	Oid			nspoid = get_namespace_oid("storagebox_data", true);
	Relation	rel;
	bool		found = false;

	if (!OidIsValid(partition_oid) || !OidIsValid(nspoid))
		return false;
	rel = table_open(partition_oid, AccessShareLock);
	for (size_t i = 0; i < lengthof(storagebox_tables) && !found; i++)
	{
		Oid			relid = get_relname_relid(storagebox_tables[i], nspoid);

		if (OidIsValid(relid) && in_citus_metadata(rel, index_oid, relid))
		{
			strlcpy(managed_table, storagebox_tables[i], sizeof(managed_table));
			found = true;
		}
	}
	table_close(rel, AccessShareLock);
	return found;
}

static SbNodeKind
check_node_kind(void)
{
	if (!sb_citus_library_loaded() || !OidIsValid(get_extension_oid("citus", true)))
		return SB_NODE_LOCAL;
	if (find_managed_table())
	{
		if (!sb_layout_matches())
			return SB_NODE_CITUS_MANAGED;
		return local_group_id() == 0 ? SB_NODE_LAYOUT_COORDINATOR : SB_NODE_LAYOUT_WORKER;
	}
	if (local_group_id() != 0)
		return SB_NODE_CITUS_WORKER;
	return SB_NODE_LOCAL;
}

/* What this node is; computed after an invalidation. */
static SbNodeKind
current_node_kind(void)
{
	if (node_kind == SB_NODE_LOCAL)
		return node_kind;
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(forget_node_kind, (Datum) 0);
		callback_registered = true;
	}
	while (node_kind == SB_NODE_UNKNOWN)
	{
		uint64		before = invalidations;
		SbNodeKind	found = check_node_kind();

		if (invalidations == before)
			node_kind = found;
	}
	return node_kind;
}

static void
refuse_managed(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("storagebox table \"storagebox_data.%s\" is managed by Citus",
					managed_table),
			 errdetail("The storagebox tables are in Citus metadata, but not in the layout storagebox supports."),
			 errhint("Only sql/citus/sb_distribute.sql distributes storagebox; README section \"Scaling out with Citus\" says what is supported.")));
}

/*
 * Raise 0A000 unless this node may run the dispensers and manage banks:
 * no Citus; a Citus coordinator whose storagebox tables are local; or the
 * coordinator of the distributed layout.  Call before reading or writing
 * anything.
 */
void
sb_require_local_node(void)
{
	switch (current_node_kind())
	{
		case SB_NODE_LOCAL:
		case SB_NODE_UNKNOWN:
		case SB_NODE_LAYOUT_COORDINATOR:
			return;
		case SB_NODE_CITUS_WORKER:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("storagebox runs on the Citus coordinator, not on a worker node"),
					 errdetail("Each Citus node has its own storagebox tables; only the coordinator's hold the banks and dispensers."),
					 errhint("Connect to the coordinator to call storagebox functions.")));
			break;
		case SB_NODE_LAYOUT_WORKER:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("this storagebox function runs on the Citus coordinator, not on a worker node"),
					 errdetail("In the distributed layout, workers serve the bank functions; dispensers and bank management stay on the coordinator."),
					 errhint("Connect to the coordinator to call it.")));
			break;
		case SB_NODE_CITUS_MANAGED:
			refuse_managed();
			break;
	}
}

/*
 * The same for the bank functions (fetch, hold, confirm, lookup, release,
 * the batch and the export), which the distributed layout serves on every
 * node.
 */
void
sb_require_bank_node(void)
{
	switch (current_node_kind())
	{
		case SB_NODE_LAYOUT_COORDINATOR:
		case SB_NODE_LAYOUT_WORKER:
			return;
		default:
			sb_require_local_node();
	}
}

/* Whether this node is the coordinator of the distributed layout. */
bool
sb_is_layout_coordinator(void)
{
	return current_node_kind() == SB_NODE_LAYOUT_COORDINATOR;
}

/* Whether the distributed layout is in place (after one of the above). */
bool
sb_in_citus_layout(void)
{
	SbNodeKind	kind = current_node_kind();

	return kind == SB_NODE_LAYOUT_COORDINATOR || kind == SB_NODE_LAYOUT_WORKER;
}
