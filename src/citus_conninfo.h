/*-------------------------------------------------------------------------
 *
 * citus_conninfo.h
 *	  The options of a direct connection to a Citus node, as Citus's own
 *	  connections to it have them (citus_conninfo.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CITUS_CONNINFO_H
#define CITUS_CONNINFO_H

/* The most options taken from Citus's settings and catalogs. */
#define SB_NODE_OPTIONS_MAX		40

typedef struct NodeConnectionOptions
{
	bool		node_conninfo_has_host; /* the node's name goes as hostaddr */
	int			count;
	const char *keywords[SB_NODE_OPTIONS_MAX];
	const char *values[SB_NODE_OPTIONS_MAX];
} NodeConnectionOptions;

/*
 * Fill options with citus.node_conninfo's options, then pg_dist_authinfo's
 * for role's connections to the node of Citus's nodeid node_id (palloc'd):
 * its row for that node, else its row for every node.  False when
 * pg_dist_poolinfo puts a pooler in front of that node: no direct
 * connection is to be made there.
 */
extern bool sb_node_connection_options(int32 node_id, const char *role,
									   NodeConnectionOptions *options);

#endif							/* CITUS_CONNINFO_H */
