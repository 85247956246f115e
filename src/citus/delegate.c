/*-------------------------------------------------------------------------
 *
 * delegate.c
 *	  In storagebox's Citus layout, a call of a function of one dedup
 *	  scope (sb_fetch_item, sb_hold_item, sb_confirm, sb_lookup,
 *	  sb_release) made on the coordinator as a statement of its own is
 *	  sent by Citus, in one round trip, to the node that holds the bank's
 *	  dedup scope.  docs/design.md speaks of the fetch; the others are handled
 *	  alike, each through its own _in_scope form.
 *
 * Locks: the scope's shard lock, above, and none else.  The bank is looked
 * up in this backend's cache or with a probe under a snapshot.
 * sb_fetch_item takes its locks where it runs (bank/cache.c,
 * citus/layout.c).
 *
 * The design, the lock protocol and the global lock order:
 * docs/design.md, "Citus: delegation".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/params.h"
#include "optimizer/optimizer.h"
#include "optimizer/planner.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

#include "citus/delegate.h"
#include "citus/guard.h"
#include "citus/layout.h"
#include "pg_compat.h"

PG_FUNCTION_INFO_V1(sb_fetch_item_in_scope);
PG_FUNCTION_INFO_V1(sb_call_in_scope);

/* The cost given to a generic plan the plan cache is not to choose. */
#define SB_DISSUADING_COST	1.0e30

/*
 * The public functions the hook delegates: every one whose first argument
 * is a bank and that reads or writes one dedup scope's rows, called as
 * <name>(bank text, dedup_id text [, hold_for interval]), each with a form
 * <name>_in_scope(scope_id integer, ...) made by sb_distribute.sql.
 */
static const char *const delegated_functions[] = {
	"sb_fetch_item", "sb_hold_item", "sb_confirm", "sb_lookup", "sb_release"
};

#define SB_DELEGATED_FUNCTIONS	((int) lengthof(delegated_functions))

/* storagebox.delegate_fetch: whether the hook rewrites at all. */
static bool delegate_fetch = true;

/* The dedup scope of a bank, by name (bank/cache.c, given at _PG_init). */
static SbBankScopeLookup bank_scope_of = NULL;

static planner_hook_type prev_planner = NULL;
static ExecutorStart_hook_type prev_executor_start = NULL;

/*
 * The syscache hashes of the _in_scope forms that write, kept in the
 * invalidation items of every plan this backend rewrote to one of them
 * (0 until it did), and the public function each stands for.
 */
static uint32 writing_marks[SB_DELEGATED_FUNCTIONS];

/* What the hook did to a statement. */
typedef enum DelegationOutcome
{
	DELEGATION_NONE,			/* not a fetch it handles: left alone */
	DELEGATION_REWRITTEN,		/* now calls the function's _in_scope form */
	DELEGATION_DISSUADE			/* a generic plan of such a fetch */
} DelegationOutcome;

/* Parameters replaced by the values bound for a custom plan. */
typedef struct BindContext
{
	ParamListInfo params;
	bool		unbound;		/* a parameter had no constant value */
} BindContext;

/*
 * Which of delegated_functions funcid is, as storagebox's C function of
 * that name; -1 for any other function.  One syscache lookup.
 */
static int
delegated_function_index(Oid funcid)
{
	HeapTuple	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	Form_pg_proc proc;
	int			found = -1;

	if (!HeapTupleIsValid(tuple))
		return -1;
	proc = (Form_pg_proc) GETSTRUCT(tuple);
	if (proc->prolang == ClanguageId && proc->pronargs >= 2 && proc->pronargs <= 3)
	{
		bool		src_null;
		bool		bin_null;
		Datum		src = SysCacheGetAttr(PROCOID, tuple, Anum_pg_proc_prosrc, &src_null);
		Datum		bin = SysCacheGetAttr(PROCOID, tuple, Anum_pg_proc_probin, &bin_null);

		if (!src_null && !bin_null && strstr(TextDatumGetCString(bin), "storagebox") != NULL)
		{
			char	   *name = TextDatumGetCString(src);

			for (int i = 0; i < SB_DELEGATED_FUNCTIONS; i++)
				if (strcmp(name, delegated_functions[i]) == 0 &&
					strcmp(NameStr(proc->proname), name) == 0)
					found = i;
		}
	}
	ReleaseSysCache(tuple);
	return found;
}

/*
 * The _in_scope form of the public function funcid, delegated_functions
 * [which]: in its schema, named <name>_in_scope, with arguments (integer,
 * <funcid's arguments>); InvalidOid where sb_distribute.sql did not make it.
 */
static Oid
in_scope_function(Oid funcid, int which)
{
	Oid			argtypes[FUNC_MAX_ARGS];
	Oid		   *own;
	int			nargs;
	char	   *nspname = get_namespace_name(get_func_namespace(funcid));

	if (nspname == NULL)
		return InvalidOid;
	get_func_signature(funcid, &own, &nargs);
	argtypes[0] = INT4OID;
	memcpy(argtypes + 1, own, nargs * sizeof(Oid));
	return LookupFuncName(list_make2(makeString(nspname),
									 makeString(psprintf("%s_in_scope", delegated_functions[which]))),
						  nargs + 1, argtypes, true);
}

/*
 * A parameter, in an argument of the fetch, replaced by the constant
 * bound to it for a custom plan; cxt->unbound when there is none (a
 * generic plan).
 */
static Node *
bind_params(Node *node, BindContext *cxt)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXTERN)
	{
		Param	   *param = (Param *) node;
		ParamListInfo params = cxt->params;
		ParamExternData *prm = NULL;
		ParamExternData fetched;
		int16		typlen;
		bool		typbyval;

		if (params != NULL && param->paramid > 0 && param->paramid <= params->numParams)
			prm = params->paramFetch != NULL ?
				params->paramFetch(params, param->paramid, true, &fetched) :
				&params->params[param->paramid - 1];
		if (prm == NULL || !(prm->pflags & PARAM_FLAG_CONST) ||
			prm->ptype != param->paramtype)
		{
			cxt->unbound = true;
			return node;
		}
		get_typlenbyval(param->paramtype, &typlen, &typbyval);
		return (Node *) makeConst(param->paramtype, param->paramtypmod, param->paramcollid,
								  typlen,
								  prm->isnull ? (Datum) 0 : datumCopy(prm->value, typbyval, typlen),
								  prm->isnull, typbyval);
	}
	return expression_tree_mutator(node, bind_params, cxt);
}

/*
 * The call that is the whole of this statement, or NULL: a SELECT of one
 * target, a call of a function of two or three arguments (the caller
 * checks which), with nothing else in the query.
 */
static FuncExpr *
whole_statement_fetch(Query *parse)
{
	TargetEntry *target;
	FuncExpr   *call;

	if (parse->commandType != CMD_SELECT || parse->utilityStmt != NULL ||
		parse->rtable != NIL || parse->cteList != NIL || parse->hasSubLinks ||
		parse->hasAggs || parse->hasWindowFuncs || parse->hasTargetSRFs ||
		parse->groupClause != NIL || parse->havingQual != NULL ||
		parse->distinctClause != NIL ||
		parse->sortClause != NIL || parse->limitCount != NULL ||
		parse->limitOffset != NULL || parse->setOperations != NULL ||
		parse->rowMarks != NIL || parse->jointree == NULL ||
		parse->jointree->fromlist != NIL || parse->jointree->quals != NULL ||
		list_length(parse->targetList) != 1)
		return NULL;
	target = linitial_node(TargetEntry, parse->targetList);
	if (target->resjunk || !IsA(target->expr, FuncExpr))
		return NULL;
	call = (FuncExpr *) target->expr;
	if (list_length(call->args) < 2 || list_length(call->args) > 3 || call->funcretset)
		return NULL;
	return call;
}

/*
 * Rewrite a whole-statement call of one of delegated_functions for
 * delegation, when it is one and its bank's scope is elsewhere; see the
 * header comment.  *which is the function's index.
 */
static DelegationOutcome
delegate_whole_call(Query *parse, ParamListInfo bound, Oid *in_scope, int *which)
{
	FuncExpr   *call = whole_statement_fetch(parse);
	BindContext cxt = {bound, false};
	List	   *args;
	Node	   *bank;
	Oid			target;
	int32		scope_id;
	FuncExpr   *delegated;

	if (call == NULL || !sb_is_layout_coordinator() ||
		(*which = delegated_function_index(call->funcid)) < 0)
		return DELEGATION_NONE;
	args = (List *) bind_params((Node *) call->args, &cxt);
	if (cxt.unbound)
		return DELEGATION_DISSUADE; /* a generic plan: it cannot know the bank */
	bank = linitial(args);
	if (!IsA(bank, Const) || ((Const *) bank)->consttype != TEXTOID ||
		((Const *) bank)->constisnull || contain_volatile_functions((Node *) args))
		return DELEGATION_NONE;
	target = in_scope_function(call->funcid, *which);
	if (!OidIsValid(target) ||
		!bank_scope_of(DatumGetTextPP(((Const *) bank)->constvalue), &scope_id) ||
		sb_layout_enter_scope(scope_id))
		return DELEGATION_NONE;
	*in_scope = target;

	delegated = makeFuncExpr(target, TEXTOID,
							 lcons(makeConst(INT4OID, -1, InvalidOid, sizeof(int32),
											 Int32GetDatum(scope_id), false, true),
								   args),
							 call->funccollid, call->inputcollid, COERCE_EXPLICIT_CALL);
	delegated->location = call->location;
	linitial_node(TargetEntry, parse->targetList)->expr = (Expr *) delegated;
	return DELEGATION_REWRITTEN;
}

static PlannedStmt *
storagebox_planner(Query *parse, const char *query_string, int cursor_options,
				   ParamListInfo bound SB_PLANNER_ES_PARAM)
{
	DelegationOutcome outcome = DELEGATION_NONE;
	Oid			in_scope = InvalidOid;
	int			which = -1;
	PlannedStmt *plan;

	if (delegate_fetch)
		outcome = delegate_whole_call(parse, bound, &in_scope, &which);
	if (prev_planner != NULL)
		plan = prev_planner(parse, query_string, cursor_options, bound SB_PLANNER_ES_ARG);
	else
		plan = standard_planner(parse, query_string, cursor_options, bound SB_PLANNER_ES_ARG);
	if (outcome == DELEGATION_DISSUADE && plan->planTree != NULL)
		plan->planTree->total_cost = SB_DISSUADING_COST;

	/*
	 * Citus chose the node from the placement it knew; a cached plan must
	 * be made again when that changes.  Citus invalidates the relcache
	 * entry of a distributed table when a shard of it moves, so the plan
	 * depends on claim's.
	 */
	if (outcome == DELEGATION_REWRITTEN)
	{
		PlanInvalItem *calls = makeNode(PlanInvalItem);

		plan->relationOids = lappend_oid(plan->relationOids,
										 get_relname_relid("claim", get_namespace_oid("storagebox_data", false)));
		/*
		 * and on the _in_scope function, which marks it for the executor
		 * as a plan of that function's call
		 */
		calls->cacheId = PROCOID;
		calls->hashValue = GetSysCacheHashValue1(PROCOID, ObjectIdGetDatum(in_scope));
		plan->invalItems = lappend(plan->invalItems, calls);
		if (func_volatile(in_scope) == PROVOLATILE_VOLATILE)
			writing_marks[which] = calls->hashValue;
	}
	return plan;
}

/*
 * A plan this backend rewrote is executed on another node, which does not
 * know that this transaction is read-only (Citus passes only BEGIN ... READ
 * ONLY on): refuse here a function that writes, as it would.  At execution, because a
 * plan kept by the plan cache may have been made in a read-write
 * transaction.
 */
static void
storagebox_executor_start(QueryDesc *query, int eflags)
{
	if (XactReadOnly && !(eflags & EXEC_FLAG_EXPLAIN_ONLY))
	{
		ListCell   *lc;

		foreach(lc, query->plannedstmt->invalItems)
		{
			PlanInvalItem *item = lfirst_node(PlanInvalItem, lc);

			if (item->cacheId != PROCOID)
				continue;
			for (int i = 0; i < SB_DELEGATED_FUNCTIONS; i++)
				if (writing_marks[i] != 0 && item->hashValue == writing_marks[i])
					PreventCommandIfReadOnly(psprintf("%s()", delegated_functions[i]));
		}
	}
	if (prev_executor_start != NULL)
		prev_executor_start(query, eflags);
	else
		standard_ExecutorStart(query, eflags);
}

void
sb_delegation_init(SbBankScopeLookup bank_scope)
{
	bank_scope_of = bank_scope;
	DefineCustomBoolVariable("storagebox.delegate_fetch",
							 "In the Citus layout, has Citus send a fetch, hold, confirm, lookup or release that is a statement of its own to the node of its dedup scope.",
							 "Off, such a fetch runs where it arrives and is routed from there, as a nested distributed statement.",
							 &delegate_fetch,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	prev_planner = planner_hook;
	planner_hook = storagebox_planner;
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = storagebox_executor_start;

	/*
	 * Loaded in the middle of a session (at the first call of one of its
	 * functions) where Citus is loaded (its settings exist): plans made
	 * before had no hook, so they are made again at their next use.
	 */
	if (sb_citus_library_loaded())
		ResetPlanCache();
}

/*
 * <name>_in_scope(scope_id integer, bank text, dedup_id text [, hold_for
 *     interval]) returns text, for each name in delegated_functions
 *
 * <name>(bank, dedup_id [, hold_for]), the function of the same schema,
 * for a caller with EXECUTE on it.  scope_id only tells Citus where to
 * send the call (see above); it is not trusted.  Executable by PUBLIC: the
 * right checked is the public function's.  One C function for all five
 * (sb_fetch_item_in_scope keeps its own symbol, which the first version of
 * sb_distribute.sql named).
 */
Datum
sb_call_in_scope(PG_FUNCTION_ARGS)
{
	FmgrInfo   *target = (FmgrInfo *) fcinfo->flinfo->fn_extra;
	LOCAL_FCINFO(call, 3);
	int			nargs = PG_NARGS() - 1;
	Datum		result;

	if (target == NULL)
	{
		Oid			self = fcinfo->flinfo->fn_oid;
		char	   *name = get_func_name(self);
		size_t		len = name != NULL ? strlen(name) : 0;
		Oid		   *argtypes;
		int			self_nargs;
		Oid			target_oid = InvalidOid;

		if (len > strlen("_in_scope") && nargs >= 2 && nargs <= 3 &&
			strcmp(name + len - strlen("_in_scope"), "_in_scope") == 0)
		{
			char	   *nspname = get_namespace_name(get_func_namespace(self));
			char	   *public_name = pnstrdup(name, len - strlen("_in_scope"));

			get_func_signature(self, &argtypes, &self_nargs);
			for (int i = 0; i < SB_DELEGATED_FUNCTIONS; i++)
				if (strcmp(public_name, delegated_functions[i]) == 0)
					target_oid = LookupFuncName(list_make2(makeString(nspname),
														   makeString(public_name)),
												nargs, argtypes + 1, true);
		}
		if (!OidIsValid(target_oid) || delegated_function_index(target_oid) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_FUNCTION_DEFINITION),
					 errmsg("function %s is not a delegated form of a storagebox function",
							format_procedure(self)),
					 errhint("Create it with sql/citus/sb_distribute.sql.")));
		target = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(FmgrInfo));
		fmgr_info_cxt(target_oid, target, fcinfo->flinfo->fn_mcxt);
		fcinfo->flinfo->fn_extra = target;
	}
	if (sb_proc_aclcheck(target->fn_oid, GetUserId(), ACL_EXECUTE) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_FUNCTION, get_func_name(target->fn_oid));

	InitFunctionCallInfoData(*call, target, nargs, PG_GET_COLLATION(), NULL, NULL);
	for (int i = 0; i < nargs; i++)
		call->args[i] = fcinfo->args[i + 1];	/* with its null flag */
	result = FunctionCallInvoke(call);
	fcinfo->isnull = call->isnull;
	return result;
}

/* sb_fetch_item_in_scope(scope_id integer, bank text, dedup_id text) */
Datum
sb_fetch_item_in_scope(PG_FUNCTION_ARGS)
{
	return sb_call_in_scope(fcinfo);
}
