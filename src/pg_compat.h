/*-------------------------------------------------------------------------
 *
 * pg_compat.h
 *	  Every difference between the PostgreSQL versions storagebox builds
 *	  against, in one place.  No other file tests PG_VERSION_NUM: a call
 *	  site uses the name defined here, which means the same on every
 *	  version.
 *
 * CI builds with -Werror and tests on 15, 17, 18 and 19 (README,
 * "Supported versions").  The branches for 14 are kept so that the code
 * still compiles there, but no CI run builds them.
 *
 * The definitions are macros, so this header needs none of the headers of
 * the functions they call: each call site includes those as before.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_PG_COMPAT_H
#define SB_PG_COMPAT_H

#include "postgres.h"

/*
 * SB_NORETURN, before a declaration: the function does not return.  18
 * replaced the attribute pg_attribute_noreturn(), written after the
 * declarator, by pg_noreturn, written before it; GCC and Clang take the
 * old attribute in front as well.
 */
#if PG_VERSION_NUM >= 180000
#define SB_NORETURN pg_noreturn
#else
#define SB_NORETURN pg_attribute_noreturn()
#endif

/* 15 renamed EmitWarningsOnPlaceholders, which also reserves the prefix. */
#if PG_VERSION_NUM < 150000
#define MarkGUCPrefixReserved(className) EmitWarningsOnPlaceholders(className)
#endif

/*
 * sb_insert_index_tuples: ExecInsertIndexTuples in 15's form.  16 added
 * onlySummarizing (false: every index gets the tuple); 19 takes the
 * booleans as flags and the arguments in another order.
 */
#if PG_VERSION_NUM >= 190000
#define sb_insert_index_tuples(rri, slot, estate, update, noDupErr, specConflict, arbiterIndexes) \
	ExecInsertIndexTuples(rri, estate, \
						  ((update) ? EIIT_IS_UPDATE : 0) | ((noDupErr) ? EIIT_NO_DUPE_ERROR : 0), \
						  slot, arbiterIndexes, specConflict)
#elif PG_VERSION_NUM >= 160000
#define sb_insert_index_tuples(rri, slot, estate, update, noDupErr, specConflict, arbiterIndexes) \
	ExecInsertIndexTuples(rri, slot, estate, update, noDupErr, specConflict, arbiterIndexes, false)
#else
#define sb_insert_index_tuples(rri, slot, estate, update, noDupErr, specConflict, arbiterIndexes) \
	ExecInsertIndexTuples(rri, slot, estate, update, noDupErr, specConflict, arbiterIndexes)
#endif

/*
 * sb_proc_aclcheck: the privilege check on a function (16 replaced
 * pg_proc_aclcheck by object_aclcheck; the caller includes
 * catalog/pg_proc.h and utils/acl.h).
 */
#if PG_VERSION_NUM >= 160000
#define sb_proc_aclcheck(proc, role, mode) object_aclcheck(ProcedureRelationId, proc, role, mode)
#else
#define sb_proc_aclcheck(proc, role, mode) pg_proc_aclcheck(proc, role, mode)
#endif

/*
 * SB_SEQUENCE_XLOG_H: the header of a sequence page's layout and WAL record
 * (xl_seq_rec, XLOG_SEQ_LOG, SEQ_MAGIC), which 19 moved out of
 * commands/sequence.h; its user writes #include SB_SEQUENCE_XLOG_H.
 */
#if PG_VERSION_NUM >= 190000
#define SB_SEQUENCE_XLOG_H "commands/sequence_xlog.h"
#else
#define SB_SEQUENCE_XLOG_H "commands/sequence.h"
#endif

/* sb_seq_rec_set_rel: the relation of a sequence's WAL record (16 renamed RelFileNode). */
#if PG_VERSION_NUM >= 160000
#define sb_seq_rec_set_rel(rec, rel) ((rec)->locator = (rel)->rd_locator)
#else
#define sb_seq_rec_set_rel(rec, rel) ((rec)->node = (rel)->rd_node)
#endif

/*
 * sb_relation_publications: the publications that name the relation (FOR
 * TABLE); 19 added EXCEPT TABLE and renamed the function for the
 * publications that include it.
 */
#if PG_VERSION_NUM >= 190000
#define sb_relation_publications(relid) GetRelationIncludedPublications(relid)
#else
#define sb_relation_publications(relid) GetRelationPublications(relid)
#endif

/*
 * sb_create_wait_event_set: a wait event set that lives until
 * FreeWaitEventSet.  17 takes the resource owner (none here) where 16 took
 * the memory context.
 */
#if PG_VERSION_NUM >= 170000
#define sb_create_wait_event_set(nevents) CreateWaitEventSet(NULL, nevents)
#else
#define sb_create_wait_event_set(nevents) CreateWaitEventSet(TopMemoryContext, nevents)
#endif

/*
 * sb_index_beginscan: index_beginscan without 18's instrumentation
 * argument (NULL: none) and 19's scan options (SO_NONE, from
 * access/tableam.h: no hint).
 */
#if PG_VERSION_NUM >= 190000
#define sb_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan(heap, index, snapshot, NULL, nkeys, norderbys, SO_NONE)
#elif PG_VERSION_NUM >= 180000
#define sb_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan(heap, index, snapshot, NULL, nkeys, norderbys)
#else
#define sb_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan(heap, index, snapshot, nkeys, norderbys)
#endif

/*
 * The ExecutorRun hook lost its execute_once argument in 18.  A hook is
 * declared
 *     f(QueryDesc *q, ScanDirection d, uint64 count SB_EXECUTE_ONCE_PARAM)
 * and passes the call on with
 *     prev(q, d, count SB_EXECUTE_ONCE_ARG)
 */
#if PG_VERSION_NUM >= 180000
#define SB_EXECUTE_ONCE_PARAM
#define SB_EXECUTE_ONCE_ARG
#else
#define SB_EXECUTE_ONCE_PARAM , bool execute_once
#define SB_EXECUTE_ONCE_ARG , execute_once
#endif

/*
 * The planner hook gained the EXPLAIN state in 19.  A hook is declared
 *     f(Query *parse, const char *text, int options, ParamListInfo bound
 *       SB_PLANNER_ES_PARAM)
 * and passes the call on with
 *     prev(parse, text, options, bound SB_PLANNER_ES_ARG)
 */
#if PG_VERSION_NUM >= 190000
#define SB_PLANNER_ES_PARAM , ExplainState *es
#define SB_PLANNER_ES_ARG , es
#else
#define SB_PLANNER_ES_PARAM
#define SB_PLANNER_ES_ARG
#endif

#endif							/* SB_PG_COMPAT_H */
