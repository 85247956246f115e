/*-------------------------------------------------------------------------
 *
 * errors.c
 *	  Errors of internal statements, re-thrown as the caller's own.
 *
 * Design, lock order and the deadlock and liveness arguments:
 * docs/design.md.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/common.h"

/*
 * Re-throw the error being handled (call from PG_CATCH, in a memory context
 * that outlives it) without the text of our internal statements: the
 * context lines below the line that starts with our_prefix (SPI's "SQL
 * statement" lines) are dropped, and so is the internal query.
 */
void
sb_rethrow_without_internal_context(const char *our_prefix)
{
	ErrorData  *edata = CopyErrorData();
	char	   *ours;

	FlushErrorState();
	if (edata->context != NULL &&
		(ours = strstr(edata->context, our_prefix)) != NULL)
		edata->context = ours;
	edata->internalquery = NULL;
	edata->internalpos = 0;
	edata->cursorpos = 0;
	ReThrowError(edata);
}

