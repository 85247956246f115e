/*-------------------------------------------------------------------------
 *
 * settle.h
 *	  The slow path of a fetch (settle.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_SETTLE_H
#define SB_SETTLE_H

#include "bank/fetch_state.h"

extern void sb_survey_behind(FetchState *st, int64 slot, bool claimed_last_hole);
extern Datum sb_fetch_leftover(FetchState *st);

#endif							/* SB_SETTLE_H */
