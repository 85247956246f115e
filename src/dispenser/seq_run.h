/*-------------------------------------------------------------------------
 *
 * seq_run.h
 *	  Contiguous runs of values from a sequence, and its next value
 *	  (seq_run.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_SEQ_RUN_H
#define SB_SEQ_RUN_H

#include "postgres.h"

extern void sb_seq_take_run(Oid seqoid, const char *dispenser, int count,
							int64 *values);
extern int64 sb_seq_peek_next(Oid seqoid);

#endif							/* SB_SEQ_RUN_H */
