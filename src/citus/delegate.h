/*-------------------------------------------------------------------------
 *
 * delegate.h
 *	  Citus's delegation of whole-statement calls to the node of their
 *	  dedup scope (citus/delegate.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CITUS_DELEGATE_H
#define CITUS_DELEGATE_H

#include "citus/placement.h"

/* From _PG_init: the storagebox.delegate_fetch setting and the planner hook. */
extern void sb_delegation_init(SbBankScopeLookup bank_scope);

#endif							/* CITUS_DELEGATE_H */
