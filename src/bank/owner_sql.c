/*-------------------------------------------------------------------------
 *
 * owner_sql.c
 *	  Internal statements, prepared and run as the owner of the
 *	  storagebox_data tables, as security-restricted operations.
 *
 * Design, lock order and the deadlock and liveness arguments:
 * docs/design.md.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/sequence.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/ruleutils.h"

#include "bank/owner_sql.h"
#include "bank/probe.h"
#include "citus/placement.h"

/* Run as the owner of the tables, as a security-restricted operation. */
static void
become_owner(Oid *save_userid, int *save_sec_context)
{
	GetUserIdAndSecContext(save_userid, save_sec_context);
	SetUserIdAndSecContext(sb_data_owner(),
						   *save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
}

/*
 * Prepare and keep an SPI plan, parsed as the owner of the storagebox_data
 * tables (the caller may have no right even to look into the schema).  An
 * error leaves the user switched; the (sub)transaction abort restores it.
 */
SPIPlanPtr
sb_prepare_as_owner(const char *sql, int nargs, Oid *argtypes)
{
	Oid			save_userid;
	int			save_sec_context;
	SPIPlanPtr	plan;

	become_owner(&save_userid, &save_sec_context);
	/*
	 * A generic plan from the first call: the statements look rows up by
	 * key, so custom plans would only be planned again on each of a
	 * backend's first calls.
	 */
	plan = SPI_prepare_cursor(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for a storagebox statement: %s",
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed for a storagebox statement");
	return plan;
}

/*
 * Move a bank's cursor so that its next value is after slot (setval as the
 * owner of the tables; the caller may not have UPDATE on the sequence).
 */
void
sb_cursor_move_to(Oid cursor_seq, int64 slot)
{
	Oid			save_userid;
	int			save_sec_context;

	become_owner(&save_userid, &save_sec_context);
	DirectFunctionCall3(setval3_oid, ObjectIdGetDatum(cursor_seq),
						Int64GetDatum(slot), BoolGetDatum(true));
	SetUserIdAndSecContext(save_userid, save_sec_context);
}

/*
 * The text of an internal statement: sql is a format whose %1$s names the
 * relation that holds table's rows for the current scope (sb_relation_oid:
 * the local table, or its shard where the placement seam says so).
 */
char *
sb_statement_text(const char *sql, SbRelation table)
{
	Oid			relid = sb_relation_oid(table);

	return psprintf(sql, quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
													get_rel_name(relid)));
}

/* Plans of statements whose relations are not the local tables. */
typedef struct PlacedPlanKey
{
	const char *sql;			/* the format (a constant) */
	Oid			relid;			/* the relation it names */
} PlacedPlanKey;

typedef struct PlacedPlan
{
	PlacedPlanKey key;
	SPIPlanPtr	plan;
} PlacedPlan;

static HTAB *placed_plans = NULL;

/*
 * The plan of an internal statement (sql and table as for
 * sb_statement_text), prepared as the owner of the tables and kept: in
 * *cached where the relations are the local tables, else once per relation
 * that holds table's rows.  sql must be a constant: its address is part of
 * the key.
 */
SPIPlanPtr
sb_statement_plan(SPIPlanPtr *cached, const char *sql, SbRelation table,
				  int nargs, Oid *argtypes)
{
	SPIPlanPtr *slot = cached;

	if (sb_placement_is_distributed())
	{
		PlacedPlanKey key;
		PlacedPlan *entry;
		bool		found;

		if (placed_plans == NULL)
		{
			HASHCTL		ctl;

			ctl.keysize = sizeof(PlacedPlanKey);
			ctl.entrysize = sizeof(PlacedPlan);
			ctl.hcxt = TopMemoryContext;
			placed_plans = hash_create("storagebox placed statements", 64, &ctl,
									   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		}
		memset(&key, 0, sizeof(key));
		key.sql = sql;
		key.relid = sb_relation_oid(table);
		entry = hash_search(placed_plans, &key, HASH_ENTER, &found);
		if (!found)
			entry->plan = NULL;
		slot = &entry->plan;
	}
	if (*slot == NULL)
		*slot = sb_prepare_as_owner(sb_statement_text(sql, table), nargs, argtypes);
	return *slot;
}

/*
 * Execute a plan of sb_prepare_as_owner as the owner of the tables, and
 * return SPI's result code.  An error leaves the user switched; the
 * (sub)transaction abort restores it.
 */
int
sb_run_plan_as_owner(SPIPlanPtr plan, Datum *args)
{
	return sb_run_plan_as_owner_nulls(plan, args, NULL);
}

/* The same, with some arguments NULL (nulls as for SPI_execute_plan). */
int
sb_run_plan_as_owner_nulls(SPIPlanPtr plan, Datum *args, const char *nulls)
{
	Oid			save_userid;
	int			save_sec_context;
	int			rc;

	become_owner(&save_userid, &save_sec_context);
	rc = SPI_execute_plan(plan, args, nulls, false, 0);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	return rc;
}

