/*-------------------------------------------------------------------------
 *
 * released.h
 *	  Released items, taken again by new fetches (released.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_RELEASED_H
#define SB_RELEASED_H

#include "postgres.h"

#include "access/transam.h"
#include "utils/snapshot.h"

extern bool sb_has_released_item(int32 bank_id, Snapshot snap);
extern void sb_survey_released(int32 bank_id, TransactionId *pending, bool *relook);

#endif							/* SB_RELEASED_H */
