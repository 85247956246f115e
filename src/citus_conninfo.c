/*-------------------------------------------------------------------------
 *
 * citus_conninfo.c
 *	  The connection options of a direct call (citus_direct.c) to a Citus
 *	  node, taken from where Citus takes those of its own connections to
 *	  that node, so that a direct connection authenticates as Citus's does:
 *	    citus.node_conninfo   options of every connection to a node (TLS);
 *	    pg_dist_authinfo      options of one role's connections, to one node
 *	                          (its nodeid) or, failing that, to every node
 *	                          (nodeid 0): a password, a client certificate;
 *	    pg_dist_poolinfo      a pooler in front of a node.  Citus connects
 *	                          to the pooler; a direct call, whose prepared
 *	                          statement a pooler in transaction mode would
 *	                          not keep, does not go to such a node at all.
 *
 * pg_dist_authinfo and pg_dist_poolinfo are read with a catalog scan,
 * without the privilege check a query would make: they are closed to
 * PUBLIC, and Citus reads them the same way for any role.  What they give
 * is used only for the connection of the role it names, and never shown:
 * it holds passwords.  They are keyed by the node's nodeid, which the
 * layout map reads with the node's name and port (citus_layout.c).
 *
 * Both are small (a row per node, or per role and node), so they are
 * scanned whole, once per connection opened (not per call); a kept
 * connection is opened again after citus.max_cached_connection_lifetime,
 * as Citus's are (citus_direct.c), so a change to them takes effect
 * within that time.
 *
 * As Citus does, a host among citus.node_conninfo's options is kept (for
 * TLS verify-full and Kerberos), and the node's name is then given as
 * hostaddr (citus_direct.c).
 *
 * Locks: AccessShareLock on pg_dist_authinfo and pg_dist_poolinfo while
 * each is scanned.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_namespace.h"
#include "libpq-fe.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "citus_conninfo.h"

/* Citus's nodeid of an authinfo row for every node. */
#define AUTHINFO_ANY_NODE	0

/* A column of a Citus catalog, by name; error if the catalog has none. */
static AttrNumber
catalog_column(Relation rel, const char *column)
{
	AttrNumber	attnum = get_attnum(RelationGetRelid(rel), column);

	if (attnum == InvalidAttrNumber)
		elog(ERROR, "storagebox: Citus's catalog %s has no column %s",
			 RelationGetRelationName(rel), column);
	return attnum;
}

/* A Citus catalog in pg_catalog, opened for reading; NULL if there is none. */
static Relation
open_citus_catalog(const char *name)
{
	Oid			relid = get_relname_relid(name, PG_CATALOG_NAMESPACE);

	return OidIsValid(relid) ? table_open(relid, AccessShareLock) : NULL;
}

/*
 * pg_dist_authinfo's options for role's connections to node_id: its row
 * for that node, else its row for every node, else NULL.
 */
static char *
authinfo_of(int32 node_id, const char *role)
{
	Relation	rel = open_citus_catalog("pg_dist_authinfo");
	SysScanDesc scan;
	HeapTuple	tuple;
	AttrNumber	id_col, role_col, info_col;
	char	   *for_node = NULL;
	char	   *for_any = NULL;

	if (rel == NULL)
		return NULL;
	id_col = catalog_column(rel, "nodeid");
	role_col = catalog_column(rel, "rolename");
	info_col = catalog_column(rel, "authinfo");
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (for_node == NULL && HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		bool		null_id, null_role, null_info;
		Datum		id = heap_getattr(tuple, id_col, RelationGetDescr(rel), &null_id);
		Datum		rolename = heap_getattr(tuple, role_col, RelationGetDescr(rel), &null_role);
		Datum		info = heap_getattr(tuple, info_col, RelationGetDescr(rel), &null_info);

		if (null_id || null_role || null_info ||
			strcmp(NameStr(*DatumGetName(rolename)), role) != 0)
			continue;
		if (DatumGetInt32(id) == node_id)
			for_node = TextDatumGetCString(info);
		else if (DatumGetInt32(id) == AUTHINFO_ANY_NODE && for_any == NULL)
			for_any = TextDatumGetCString(info);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return for_node != NULL ? for_node : for_any;
}

/* Whether pg_dist_poolinfo puts a pooler in front of node_id. */
static bool
has_pooler(int32 node_id)
{
	Relation	rel = open_citus_catalog("pg_dist_poolinfo");
	SysScanDesc scan;
	HeapTuple	tuple;
	AttrNumber	id_col;
	bool		found = false;

	if (rel == NULL)
		return false;
	id_col = catalog_column(rel, "nodeid");
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (!found && HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		id = heap_getattr(tuple, id_col, RelationGetDescr(rel), &isnull);

		found = !isnull && DatumGetInt32(id) == node_id;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * Append conninfo's options to options, as far as there is room; true if
 * one of them is host.
 */
static bool
add_options(NodeConnectionOptions *options, const char *conninfo)
{
	bool		has_host = false;

	char	   *error = NULL;
	PQconninfoOption *parsed;

	if (conninfo == NULL || conninfo[0] == '\0')
		return false;
	parsed = PQconninfoParse(conninfo, &error);
	if (error != NULL)
		PQfreemem(error);
	if (parsed == NULL)
		return false;
	for (PQconninfoOption *o = parsed; o->keyword != NULL; o++)
		if (o->val != NULL && o->val[0] != '\0' && options->count < SB_NODE_OPTIONS_MAX)
		{
			options->keywords[options->count] = pstrdup(o->keyword);
			options->values[options->count++] = pstrdup(o->val);
			has_host |= strcmp(o->keyword, "host") == 0;
		}
	PQconninfoFree(parsed);
	return has_host;
}

bool
sb_node_connection_options(int32 node_id, const char *role, NodeConnectionOptions *options)
{
	options->count = 0;
	if (has_pooler(node_id))
		return false;
	options->node_conninfo_has_host =
		add_options(options, GetConfigOption("citus.node_conninfo", true, false));
	(void) add_options(options, authinfo_of(node_id, role));
	return true;
}
