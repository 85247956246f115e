/*-------------------------------------------------------------------------
 *
 * storagebox.c
 *	  Module entry point: the magic block and the storagebox.* settings.
 *
 * _PG_init defines the settings and installs the hooks of the Citus side
 * through the placement seam (citus/placement.h), giving it the bank
 * cache's lookup of a bank's scope.  docs/design.md maps the other files.
 *
 * storagebox.max_count bounds the batch size of sb_next().  It protects the
 * server (one call builds an array of that many numbers), so only a
 * superuser, or a role granted SET on it, may change it (PGC_SUSET).  Once
 * this library is loaded in a session, PostgreSQL refuses an unprivileged
 * SET at SET time.  Before that, it cannot know the name and keeps the
 * value as a placeholder; defining the variable here re-checks the
 * placeholder against PGC_SUSET and drops it with a WARNING, so it never
 * takes effect.  session_preload_libraries makes every SET be refused at
 * once (README, Settings).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "bank/cache.h"
#include "citus/placement.h"
#include "common/common.h"
#include "dispenser/dispenser.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomIntVariable("storagebox.max_count",
							"Largest batch that sb_next(dispenser, count) hands out in one call.",
							"A count below 1 or above this limit is rejected.",
							&sb_max_count,
							100,
							1,
							1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	sb_placement_init(sb_bank_scope);

	MarkGUCPrefixReserved("storagebox");
}

