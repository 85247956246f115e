/*-------------------------------------------------------------------------
 *
 * citus_direct.c
 *	  Direct calls: on the coordinator of storagebox's Citus layout, a
 *	  client's whole-statement call of one dedup scope's function
 *	  (sb_fetch_item, sb_hold_item, sb_confirm, sb_lookup, sb_release),
 *	  outside a transaction block, sent over a connection of storagebox's
 *	  own to the node that holds the scope, as a prepared statement,
 *	  instead of through Citus's planner and executor.  Off unless
 *	  storagebox.citus_direct is on.
 *
 * Why.  A call that Citus delegates (citus_delegate.c) costs the
 * coordinator Citus's planning of the function call and its adaptive
 * executor, and costs the node Citus's text statement, parsed and planned
 * anew each time; a direct call costs the coordinator one exchange on a
 * kept connection and the node what a client's prepared call costs it
 * (README, "Scaling out with Citus", has the figures).
 *
 * When.  The planner hook (citus_delegate.c) marks, instead of rewriting,
 * the plan of a statement
 *     SELECT f(<bank>, <dedup_id> [, <hold_for>])
 * that it would have had Citus delegate, when this setting is on and the
 * statement is a client's own (not run by a function, a procedure or a DO
 * block) outside a transaction block.  Such a plan calls f on the
 * coordinator: f finds the bank and its scope, takes the scope's shard
 * lock and, the scope being elsewhere, routes itself (sb_layout_route),
 * which asks sb_direct_allowed.  That is true only while the executor
 * runs a marked plan at the top level, for no function, procedure or DO
 * block (a client's EXECUTE of a prepared statement counts as the top
 * level), outside a transaction block: so a call whose effects could be
 * rolled back after the node committed them never goes direct, and a
 * marked plan kept by the plan cache and run where that does not hold
 * routes as any call does (Citus's nested path).
 *
 * The call.  One libpq connection per backend, per node and role, kept
 * between calls: to Citus's name and port of the node, the same
 * database, as the current role, with the options Citus's own connection
 * to that node would have (citus_conninfo.c: citus.node_conninfo, so TLS
 * where Citus uses it, and the role's pg_dist_authinfo), none to a node
 * that pg_dist_poolinfo puts behind a pooler (its calls go through
 * Citus); opened again, like Citus's, once older than
 * citus.max_cached_connection_lifetime.  On it, the node runs
 * SELECT f($1, $2 [, $3]),
 * prepared once, and commits it on its own, as it does a call Citus
 * delegates outside a transaction block.  The node's error is raised here
 * with its SQLSTATE, message, detail and hint.  Where no connection can be
 * opened, the call routes through Citus instead, and the node is not tried
 * again for SB_DIRECT_RETRY_SECS.  An interrupt while waiting (a cancel,
 * statement_timeout) cancels the statement on the node and closes the
 * connection.  A connection lost once the call was sent raises 08006: the
 * call may have committed there, and repeating it with the same dedup_id
 * answers what it did.
 *
 * Moves.  The shard lock f took on the coordinator before routing keeps a
 * block_writes move of the scope out until this statement's transaction
 * ends, after the node answered; the node takes it again, as an arrival
 * (citus_delegate.c says why no cycle can form).
 *
 * Locks: none beyond those f takes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <poll.h>

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "executor/executor.h"
#include "libpq-fe.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "citus_conninfo.h"
#include "citus_direct.h"
#include "citus_guard.h"
#include "pg_compat.h"

/* Connections kept by one backend (nodes times roles). */
#define SB_DIRECT_CONNECTIONS	16

/* Statements prepared on one connection (one per function). */
#define SB_DIRECT_STATEMENTS	8

/* Seconds a node that refused a connection is left alone. */
#define SB_DIRECT_RETRY_SECS	10

/*
 * The mark of a plan whose call may go direct: an invalidation item of
 * pg_proc with this hash.  A function whose hash it happens to be only
 * makes such a plan be made again when it changes.
 */
#define SB_DIRECT_MARK			0x5b0d1ec7u

/* The options a direct connection sets itself, after Citus's (citus_conninfo.c). */
#define SB_DIRECT_OWN_OPTIONS	6

/* One kept connection. */
typedef struct DirectConnection
{
	char	   *host;			/* in TopMemoryContext; NULL: a free slot */
	int			port;
	int32		node_id;		/* Citus's nodeid of host:port */
	Oid			role;
	PGconn	   *conn;			/* NULL: none open */
	WaitEventSet *waits;		/* the latch, postmaster death, conn's socket */
	TimestampTz retry_after;	/* after a failed connection attempt */
	TimestampTz expires_at;		/* conn's end: citus.max_cached_connection_lifetime
								 * after it was made; 0: none */
	int			nprepared;
	Oid			prepared[SB_DIRECT_STATEMENTS]; /* as "sb_direct_<oid>" */
} DirectConnection;

/* storagebox.citus_direct */
static bool citus_direct = false;

static DirectConnection connections[SB_DIRECT_CONNECTIONS];
static bool exit_callback_registered = false;

/* Executor and utility nesting of this backend, and whether a marked plan runs. */
static int	run_depth = 0;
static int	utility_depth = 0;
static bool direct_run = false;

/* The result being collected, cleared if an error interrupts. */
static PGresult *pending = NULL;

static ExecutorRun_hook_type prev_executor_run = NULL;
static ProcessUtility_hook_type prev_process_utility = NULL;

/*
 * Loaded by a call in the middle of a statement (a session's first call of
 * one of the library's functions): the executor and utility levels
 * entered before are not counted, so nothing goes direct until that
 * transaction ends.
 */
static bool loaded_in_this_transaction = false;

/* A statement the client sent itself, not one a function, procedure or DO runs. */
static bool
at_client_level(void)
{
	return !loaded_in_this_transaction && run_depth == 0 && utility_depth == 0;
}

static void
end_of_loading_transaction(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
		loaded_in_this_transaction = false;
}

bool
sb_direct_wanted(void)
{
	return citus_direct && at_client_level() && !IsTransactionBlock();
}

void
sb_direct_mark_plan(PlannedStmt *plan)
{
	PlanInvalItem *mark = makeNode(PlanInvalItem);

	mark->cacheId = PROCOID;
	mark->hashValue = SB_DIRECT_MARK;
	plan->invalItems = lappend(plan->invalItems, mark);
}

static bool
plan_is_marked(PlannedStmt *plan)
{
	ListCell   *lc;

	foreach(lc, plan->invalItems)
	{
		PlanInvalItem *item = lfirst_node(PlanInvalItem, lc);

		if (item->cacheId == PROCOID && item->hashValue == SB_DIRECT_MARK)
			return true;
	}
	return false;
}

bool
sb_direct_allowed(void)
{
	return direct_run && !loaded_in_this_transaction && run_depth == 1 && utility_depth == 0;
}

static void
direct_executor_run(QueryDesc *query, ScanDirection direction, uint64 count
					SB_EXECUTE_ONCE_PARAM)
{
	bool		was_direct = direct_run;

	if (at_client_level())
		direct_run = citus_direct && !IsTransactionBlock() &&
			plan_is_marked(query->plannedstmt);
	run_depth++;
	PG_TRY();
	{
		if (prev_executor_run != NULL)
			prev_executor_run(query, direction, count SB_EXECUTE_ONCE_ARG);
		else
			standard_ExecutorRun(query, direction, count SB_EXECUTE_ONCE_ARG);
	}
	PG_FINALLY();
	{
		run_depth--;
		direct_run = was_direct;
	}
	PG_END_TRY();
}

static void
direct_process_utility(PlannedStmt *pstmt, const char *query_string,
					   bool read_only_tree, ProcessUtilityContext context,
					   ParamListInfo params, QueryEnvironment *query_env,
					   DestReceiver *dest, QueryCompletion *qc)
{
	/* a client's EXECUTE of a prepared statement is its own statement */
	volatile bool counts = !(context == PROCESS_UTILITY_TOPLEVEL &&
							 IsA(pstmt->utilityStmt, ExecuteStmt));

	if (counts)
		utility_depth++;
	PG_TRY();
	{
		if (prev_process_utility != NULL)
			prev_process_utility(pstmt, query_string, read_only_tree, context,
								 params, query_env, dest, qc);
		else
			standard_ProcessUtility(pstmt, query_string, read_only_tree, context,
									params, query_env, dest, qc);
	}
	PG_FINALLY();
	{
		if (counts)
			utility_depth--;
	}
	PG_END_TRY();
}

/* Plans made under the other value were chosen for it: make them again. */
static void
citus_direct_assign(bool newval, void *extra)
{
	if (newval != citus_direct)
		ResetPlanCache();
}

/* Close conn, cancelling first what it runs when cancel is set. */
static void
drop_connection(DirectConnection *dc, bool cancel)
{
	if (dc->conn == NULL)
		return;
	if (cancel && PQtransactionStatus(dc->conn) == PQTRANS_ACTIVE)
	{
		PGcancel   *request = PQgetCancel(dc->conn);
		char		errbuf[256];

		if (request != NULL)
		{
			(void) PQcancel(request, errbuf, sizeof(errbuf));
			PQfreeCancel(request);
		}
	}
	if (dc->waits != NULL)
		FreeWaitEventSet(dc->waits);
	dc->waits = NULL;
	PQfinish(dc->conn);
	dc->conn = NULL;
	dc->nprepared = 0;
}

static void
close_all_connections(int code, Datum arg)
{
	for (int i = 0; i < SB_DIRECT_CONNECTIONS; i++)
		drop_connection(&connections[i], false);
}

/* The slot of host:port (nodeid node_id) for the current role, taken or made. */
static pg_noinline DirectConnection *
connection_slot(const char *host, int port, int32 node_id)
{
	Oid			role = GetUserId();
	DirectConnection *free_slot = NULL;

	for (int i = 0; i < SB_DIRECT_CONNECTIONS; i++)
	{
		DirectConnection *dc = &connections[i];

		if (dc->host == NULL)
		{
			if (free_slot == NULL)
				free_slot = dc;
			continue;
		}
		if (dc->port == port && dc->role == role && strcmp(dc->host, host) == 0)
		{
			dc->node_id = node_id;
			return dc;
		}
	}
	if (free_slot == NULL)
	{
		/* all taken: give up the first */
		free_slot = &connections[0];
		drop_connection(free_slot, false);
		pfree(free_slot->host);
	}
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->host = MemoryContextStrdup(TopMemoryContext, host);
	free_slot->port = port;
	free_slot->node_id = node_id;
	free_slot->role = role;
	return free_slot;
}

/*
 * While connecting: wait until conn's socket is ready for events, or the
 * latch is set (then serve interrupts), for at most timeout_ms.  Returns
 * what happened (WL_*): only a socket event lets libpq go on, since
 * PQconnectPoll takes being called for readiness.  (libpq may change the
 * socket until the connection is made, so no set is kept for it.)
 */
static int
wait_connecting(PGconn *conn, int events, long timeout_ms)
{
	int			rc = WaitLatchOrSocket(MyLatch,
									   WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | events | WL_TIMEOUT,
									   PQsocket(conn), timeout_ms, PG_WAIT_EXTENSION);

	if (rc & WL_LATCH_SET)
	{
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	return rc;
}

/*
 * The wait of every call on an open connection: its socket, the latch and
 * postmaster death, in one set made when it opened, not the epoll set
 * that WaitLatchOrSocket makes and closes again on every wait.
 */
static WaitEventSet *
make_wait_set(PGconn *conn)
{
	WaitEventSet *volatile set = sb_create_wait_event_set(3);

	PG_TRY();
	{
		AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
		AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
		AddWaitEventToSet(set, WL_SOCKET_READABLE, PQsocket(conn), NULL, NULL);
	}
	PG_CATCH();
	{
		FreeWaitEventSet(set);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return set;
}

/* Wait until dc's socket is readable, serving interrupts meanwhile. */
static void
wait_readable(DirectConnection *dc)
{
	WaitEvent	event;

	if (WaitEventSetWait(dc->waits, -1, &event, 1, PG_WAIT_EXTENSION) == 1 &&
		(event.events & WL_LATCH_SET))
	{
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Open dc's connection, waiting interruptibly, within Citus's
 * citus.node_connection_timeout (or 30 s).  False, logged, when it fails.
 */
static bool
open_connection(DirectConnection *dc)
{
	const char *keywords[SB_NODE_OPTIONS_MAX + SB_DIRECT_OWN_OPTIONS + 1];
	const char *values[SB_NODE_OPTIONS_MAX + SB_DIRECT_OWN_OPTIONS + 1];
	int			n = 0;
	NodeConnectionOptions options;
	char	   *role = GetUserNameFromId(dc->role, false);
	const char *timeout_setting = GetConfigOption("citus.node_connection_timeout", true, false);
	const char *lifetime_setting = GetConfigOption("citus.max_cached_connection_lifetime", true, false);
	long		timeout_ms = timeout_setting != NULL ? atol(timeout_setting) : 30000;
	TimestampTz deadline;
	PostgresPollingStatusType status = PGRES_POLLING_WRITING;
	char		port[16];
	PGconn	   *volatile conn;
	WaitEventSet *volatile waits = NULL;

	if (!sb_node_connection_options(dc->node_id, role, &options))
	{
		/* a pooler in front of the node: calls to it go through Citus */
		dc->retry_after = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													  SB_DIRECT_RETRY_SECS * 1000);
		return false;
	}
	for (; n < options.count; n++)
	{
		keywords[n] = options.keywords[n];
		values[n] = options.values[n];
	}
	snprintf(port, sizeof(port), "%d", dc->port);
	/* as Citus does: a host of citus.node_conninfo stays, for TLS and Kerberos */
	keywords[n] = options.node_conninfo_has_host ? "hostaddr" : "host";
	values[n++] = dc->host;
	keywords[n] = "port";
	values[n++] = port;
	keywords[n] = "dbname";
	values[n++] = get_database_name(MyDatabaseId);
	keywords[n] = "user";
	values[n++] = role;
	keywords[n] = "application_name";
	values[n++] = "storagebox direct";
	keywords[n] = "client_encoding";
	values[n++] = GetDatabaseEncodingName();
	keywords[n] = NULL;
	values[n] = NULL;

	conn = PQconnectStartParams(keywords, values, false);
	if (conn == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	PG_TRY();
	{
		while (PQstatus(conn) != CONNECTION_BAD &&
			   status != PGRES_POLLING_OK && status != PGRES_POLLING_FAILED)
		{
			long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
			int			wanted = status == PGRES_POLLING_READING ?
				WL_SOCKET_READABLE : WL_SOCKET_WRITEABLE;
			int			rc;

			if (left <= 0)
				break;
			rc = wait_connecting(conn, wanted, left);
			if (rc & WL_TIMEOUT)
				break;
			if (rc & wanted)
				status = PQconnectPoll(conn);
		}
	}
	PG_CATCH();
	{
		PQfinish(conn);
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (PQstatus(conn) != CONNECTION_OK)
	{
		ereport(LOG,
				(errmsg("storagebox could not open a direct connection to node %s:%d",
						dc->host, dc->port),
				 errdetail_internal("%s", pchomp(PQerrorMessage(conn))),
				 errhint("Calls go through Citus for %d seconds before storagebox tries again.",
						 SB_DIRECT_RETRY_SECS)));
		PQfinish(conn);
		dc->retry_after = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													  SB_DIRECT_RETRY_SECS * 1000);
		return false;
	}
	PG_TRY();
	{
		waits = make_wait_set(conn);
		if (!exit_callback_registered)
		{
			on_proc_exit(close_all_connections, (Datum) 0);
			exit_callback_registered = true;
		}
	}
	PG_CATCH();
	{
		PQfinish(conn);
		PG_RE_THROW();
	}
	PG_END_TRY();
	dc->conn = conn;
	dc->waits = waits;
	dc->nprepared = 0;
	dc->expires_at = 0;
	if (lifetime_setting != NULL && atol(lifetime_setting) >= 0)
		dc->expires_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													 atol(lifetime_setting));
	return true;
}

/*
 * Whether the node sent anything on an idle connection: it sends nothing
 * there unasked but the message and the end of a connection it closes (a
 * shutdown, pg_terminate_backend, idle_session_timeout).
 */
static bool
closed_while_idle(PGconn *conn)
{
	struct pollfd pfd;

	pfd.fd = PQsocket(conn);
	pfd.events = POLLIN;
	pfd.revents = 0;
	return pfd.fd < 0 || poll(&pfd, 1, 0) != 0;
}

/*
 * Whether dc's connection has lived out citus.max_cached_connection_lifetime
 * (as it was when the connection opened), after which Citus closes its own
 * kept connections (and reads pg_dist_authinfo and pg_dist_poolinfo again
 * when it opens the next).
 */
static bool
past_lifetime(DirectConnection *dc)
{
	return dc->expires_at != 0 && GetCurrentTimestamp() >= dc->expires_at;
}

/*
 * dc's connection, open and idle, or false when none can be had.  A kept
 * connection the node has closed, or one past its lifetime, is opened
 * again: nothing was sent on it.
 */
static bool
ready_connection(DirectConnection *dc)
{
	if (dc->conn != NULL &&
		(PQstatus(dc->conn) != CONNECTION_OK ||
		 PQtransactionStatus(dc->conn) != PQTRANS_IDLE || closed_while_idle(dc->conn) ||
		 past_lifetime(dc)))
		drop_connection(dc, false);
	if (dc->conn != NULL)
		return true;
	if (dc->retry_after != 0 && GetCurrentTimestamp() < dc->retry_after)
		return false;
	return open_connection(dc);
}

/* Raise the error the node answered, as it raised it. */
static void
raise_node_error(PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
	int			code = ERRCODE_INTERNAL_ERROR;
	char	   *message = pstrdup(primary != NULL ? primary : pchomp(PQresultErrorMessage(res)));
	char	   *detail_copy = detail != NULL ? pstrdup(detail) : NULL;
	char	   *hint_copy = hint != NULL ? pstrdup(hint) : NULL;

	if (state != NULL && strlen(state) == 5)
		code = MAKE_SQLSTATE(state[0], state[1], state[2], state[3], state[4]);
	PQclear(res);
	ereport(ERROR,
			(errcode(code),
			 errmsg_internal("%s", message),
			 detail_copy != NULL ? errdetail_internal("%s", detail_copy) : 0,
			 hint_copy != NULL ? errhint("%s", hint_copy) : 0));
}

static void
raise_connection_lost(DirectConnection *dc)
{
	char	   *why = pchomp(PQerrorMessage(dc->conn));

	ereport(ERROR,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("lost the connection to node %s:%d during the call", dc->host, dc->port),
			 errdetail("The call may have been committed there: %s", why),
			 errhint("Retry the call: a call with the same dedup_id answers what it did.")));
}

/*
 * The last result of what was sent on dc, waiting interruptibly; an error
 * result is raised.  If this throws, the caller drops the connection unless
 * it is idle (after the node's own error).
 */
static PGresult *
collect_result(DirectConnection *dc)
{
	PGresult   *res;

	for (;;)
	{
		while (PQisBusy(dc->conn))
		{
			wait_readable(dc);
			if (!PQconsumeInput(dc->conn))
				raise_connection_lost(dc);
		}
		res = PQgetResult(dc->conn);
		if (res == NULL)
			break;
		if (pending != NULL)
			PQclear(pending);
		pending = res;
	}
	res = pending;
	pending = NULL;
	if (res == NULL)
		raise_connection_lost(dc);
	if (PQresultStatus(res) == PGRES_FATAL_ERROR)
		raise_node_error(res);
	return res;
}

/* Prepare on dc, once, the statement that calls fn, named name. */
static void
prepare_statement(DirectConnection *dc, const char *name, Oid fn, int nargs,
				  const Oid *argtypes)
{
	StringInfoData sql;
	PGresult   *res;

	for (int i = 0; i < dc->nprepared; i++)
		if (dc->prepared[i] == fn)
			return;
	if (dc->nprepared == SB_DIRECT_STATEMENTS)
		elog(ERROR, "storagebox: too many statements prepared on a direct connection");

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s.%s(",
					 quote_identifier(get_namespace_name(get_func_namespace(fn))),
					 quote_identifier(get_func_name(fn)));
	for (int i = 0; i < nargs; i++)
		appendStringInfo(&sql, "%s$%d", i > 0 ? ", " : "", i + 1);
	appendStringInfoChar(&sql, ')');
	if (!PQsendPrepare(dc->conn, name, sql.data, nargs, argtypes))
		raise_connection_lost(dc);
	res = collect_result(dc);
	PQclear(res);
	dc->prepared[dc->nprepared++] = fn;
}

bool
sb_direct_call(FunctionCallInfo fcinfo, const char *host, int port, int32 node_id,
			   Datum *result)
{
	Oid			fn = fcinfo->flinfo->fn_oid;
	Oid		   *argtypes;
	int			nargs;
	Oid			rettype = get_func_signature(fn, &argtypes, &nargs);
	DirectConnection *volatile dc = connection_slot(host, port, node_id);
	const char *values[FUNC_MAX_ARGS];
	char		statement[32];
	PGresult   *volatile res = NULL;
	bool		isnull = true;

	if (nargs != PG_NARGS() || !ready_connection(dc))
		return false;
	for (int i = 0; i < nargs; i++)
	{
		Oid			out;
		bool		varlena;

		values[i] = NULL;
		if (!PG_ARGISNULL(i))
		{
			getTypeOutputInfo(argtypes[i], &out, &varlena);
			values[i] = OidOutputFunctionCall(out, PG_GETARG_DATUM(i));
		}
	}
	snprintf(statement, sizeof(statement), "sb_direct_%u", fn);
	PG_TRY();
	{
		prepare_statement(dc, statement, fn, nargs, argtypes);
		if (!PQsendQueryPrepared(dc->conn, statement, nargs, values, NULL, NULL, 0))
			raise_connection_lost(dc);
		res = collect_result(dc);
	}
	PG_CATCH();
	{
		if (pending != NULL)
		{
			PQclear(pending);
			pending = NULL;
		}
		/* kept after the node's own error, which left it idle */
		if (PQstatus(dc->conn) != CONNECTION_OK ||
			PQtransactionStatus(dc->conn) != PQTRANS_IDLE)
			drop_connection(dc, true);
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQnfields(res) != 1)
	{
		PQclear(res);
		drop_connection(dc, false);
		elog(ERROR, "storagebox: a direct call answered other than one value");
	}
	*result = (Datum) 0;
	if (!PQgetisnull(res, 0, 0))
	{
		Oid			in;
		Oid			ioparam;
		char	   *value = pstrdup(PQgetvalue(res, 0, 0));

		PQclear(res);
		getTypeInputInfo(rettype, &in, &ioparam);
		*result = OidInputFunctionCall(in, value, ioparam, -1);
		isnull = false;
	}
	else
		PQclear(res);
	fcinfo->isnull = isnull;
	return true;
}

void
sb_direct_init(void)
{
	DefineCustomBoolVariable("storagebox.citus_direct",
							 "In the Citus layout, sends a client's fetch, hold, confirm, lookup or release made on the coordinator outside a transaction block over storagebox's own connection to the node of its dedup scope.",
							 "Off, Citus delegates such a call (storagebox.delegate_fetch).",
							 &citus_direct,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, citus_direct_assign, NULL);

	/*
	 * Without Citus nothing can go direct: keep the executor and utility
	 * paths of a plain server, fetches included, free of these hooks.
	 */
	if (!sb_citus_library_loaded())
		return;
	loaded_in_this_transaction = IsTransactionState();
	RegisterXactCallback(end_of_loading_transaction, NULL);
	prev_executor_run = ExecutorRun_hook;
	ExecutorRun_hook = direct_executor_run;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = direct_process_utility;
}
