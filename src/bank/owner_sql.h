/*-------------------------------------------------------------------------
 *
 * owner_sql.h
 *	  Internal statements run as the owner of the tables (owner_sql.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_OWNER_SQL_H
#define SB_OWNER_SQL_H

#include "postgres.h"

#include "executor/spi.h"

#include "citus/placement.h"

extern SPIPlanPtr sb_prepare_as_owner(const char *sql, int nargs, Oid *argtypes);
extern void sb_cursor_move_to(Oid cursor_seq, int64 slot);
extern char *sb_statement_text(const char *sql, SbRelation table);
extern SPIPlanPtr sb_statement_plan(SPIPlanPtr *cached, const char *sql,
									SbRelation table, int nargs, Oid *argtypes);
extern int	sb_run_plan_as_owner(SPIPlanPtr plan, Datum *args);
extern int	sb_run_plan_as_owner_nulls(SPIPlanPtr plan, Datum *args,
									   const char *nulls);

#endif							/* SB_OWNER_SQL_H */
