/*-------------------------------------------------------------------------
 *
 * dispenser.h
 *	  The dispensers' limit, set by storagebox.max_count (dispenser.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_DISPENSER_H
#define SB_DISPENSER_H

/* Largest count accepted by sb_next(dispenser, count). */
extern int	sb_max_count;

#endif							/* SB_DISPENSER_H */
