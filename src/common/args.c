/*-------------------------------------------------------------------------
 *
 * args.c
 *	  Argument checks shared by every storagebox entry point.
 *
 * Bad input is rejected before anything is read or written, with the most
 * specific SQLSTATE: 22004 for a NULL, 22023 for an empty string, 22001 for
 * a value longer than the limit.  Names and items are data: they are only
 * ever passed as query parameters, never spliced into SQL.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "citus/placement.h"
#include "common/common.h"

PG_FUNCTION_INFO_V1(sb_check_name);
PG_FUNCTION_INFO_V1(sb_check_items);

/* Raise 22004 if an argument that must be given is NULL. */
void
sb_require_arg(const char *what, bool isnull)
{
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
}

/* Raise 22023 for an empty value and 22001 for one longer than max_bytes. */
void
sb_require_text(const char *what, text *value, int max_bytes)
{
	int			len = VARSIZE_ANY_EXHDR(value);

	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", what)));
	if (len > max_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("%s is too long", what),
				 errdetail("The value is %d bytes long; the limit is %d bytes.",
						   len, max_bytes)));
}

/* The byte limit for a named kind of argument. */
static int
limit_for(const char *what)
{
	if (strcmp(what, "dedup_id") == 0)
		return SB_DEDUP_ID_MAX_BYTES;
	if (strcmp(what, "item") == 0)
		return SB_ITEM_MAX_BYTES;
	return SB_NAME_MAX_BYTES;
}

/*
 * checked_name(what text, value text) returns text: checks a bank, scope or
 * dispenser name or a dedup_id for the PL/pgSQL functions and hands the
 * value back, so that they call it as a simple expression (an error then
 * shows their own line, not the text of an internal statement).  Every
 * PL/pgSQL function of the API checks a name first, so this is also where
 * they refuse to run on a node whose storagebox tables are not local
 * (citus/guard.c).  1.0 and 1.1 declared the same C function as
 * check_name(...) returns void.
 */
Datum
sb_check_name(PG_FUNCTION_ARGS)
{
	char	   *what;

	if (PG_ARGISNULL(0))
		elog(ERROR, "check_name called without a kind");
	what = text_to_cstring(PG_GETARG_TEXT_PP(0));
	sb_require_arg(what, PG_ARGISNULL(1));
	sb_require_text(what, PG_GETARG_TEXT_PP(1), limit_for(what));
	sb_placement_require_local_node();
	PG_RETURN_DATUM(PG_GETARG_DATUM(1));
}

/*
 * checked_items(items text[]) returns text[]: no NULL array, no NULL, empty
 * or long items; hands the array back (as checked_name does).
 */
Datum
sb_check_items(PG_FUNCTION_ARGS)
{
	ArrayType  *items;
	ArrayIterator it;
	Datum		value;
	bool		isnull;
	int			position = 0;

	sb_require_arg("items", PG_ARGISNULL(0));
	items = PG_GETARG_ARRAYTYPE_P(0);

	it = array_create_iterator(items, 0, NULL);
	while (array_iterate(it, &value, &isnull))
	{
		text	   *item;
		int			len;

		position++;
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("items must not contain null"),
					 errdetail("Element %d is null.", position)));
		item = DatumGetTextPP(value);
		len = VARSIZE_ANY_EXHDR(item);
		if (len == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("items must not contain an empty string"),
					 errdetail("Element %d is empty.", position)));
		if (len > SB_ITEM_MAX_BYTES)
			ereport(ERROR,
					(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
					 errmsg("item is too long"),
					 errdetail("Element %d is %d bytes long; the limit is %d bytes.",
							   position, len, SB_ITEM_MAX_BYTES)));
	}
	array_free_iterator(it);
	PG_RETURN_DATUM(PG_GETARG_DATUM(0));
}
