/*-------------------------------------------------------------------------
 *
 * guard.h
 *	  The refusal to run where storagebox's tables are not local
 *	  (citus/guard.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CITUS_GUARD_H
#define CITUS_GUARD_H

extern void sb_require_local_node(void);
extern void sb_require_bank_node(void);
extern bool sb_in_citus_layout(void);
extern bool sb_is_layout_coordinator(void);

/* Whether Citus's library is loaded in this backend (it cannot be later). */
extern bool sb_citus_library_loaded(void);

#endif							/* CITUS_GUARD_H */
