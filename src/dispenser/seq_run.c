/*-------------------------------------------------------------------------
 *
 * seq_run.c
 *	  Hand out a contiguous run of numbers from a dispenser's sequence.
 *
 * A dispenser keeps its position in an ordinary CYCLE sequence that counts
 * by +1 (forward) or -1 (reverse) over [min, max].  PostgreSQL offers no way
 * to take N values of a sequence in one step, so sb_seq_take_run works on
 * the sequence's page directly, with the same on-disk state and the same WAL
 * record as nextval, so that crash recovery, standbys, pg_dump and ALTER
 * SEQUENCE keep working on it unchanged.
 *
 * The page.  A sequence relation has one block holding one tuple whose data
 * part is FormData_pg_sequence_data: last_value (the last number handed
 * out, or the next one when is_called is false) and log_cnt (how many
 * numbers past last_value the newest WAL record already covers).
 *
 * Positions.  We think of the range as a circle of R = max - min + 1
 * numbers and measure everything as an offset from the dispenser's start
 * (min for forward, max for reverse), in unsigned arithmetic: R may be 2^64,
 * which no int64 holds, and an offset never overflows where max - v might.
 *
 * Crash safety.  A run is never handed out unless a WAL record already
 * says the sequence is at or past its last number.  When the record we have
 * does not cover the run (log_cnt too small, the sequence never called, or
 * the page not logged since the last checkpoint, whose redo would start
 * after that record), we write a new one whose last_value lies AHEAD steps
 * past the end of the run, going round the circle if need be, and keep
 * AHEAD in log_cnt so that the following calls need no record.  Redo
 * restores that logged state, so after a crash or a promotion the
 * dispenser resumes just after it: the numbers in between are skipped (a
 * gap), and none is handed out again before its turn comes round.  AHEAD is
 *
 *		min(SEQ_AHEAD_PER_NUMBER * min(count, SEQ_AHEAD_COUNT_CAP),
 *			(R - 1) / SEQ_AHEAD_RANGE_DIVISOR)
 *
 * so it is always less than R: the logged position never laps the numbers
 * handed out since, and a crash skips at most AHEAD numbers (102,400 on a
 * large range, a sixteenth of a short one).  The old code stopped at the end
 * of the range instead of going round it, so on a short range every record
 * said "at the end" and redo started the range over.
 *
 * Before returning we flush the WAL up to the page's LSN.  nextval does not,
 * so a value it returns may be covered only by a record that never reached
 * disk (its transaction aborted); a crash would then hand it out again.
 *
 * Locking: the caller holds RowExclusiveLock on the sequence (as nextval
 * takes; it conflicts with ALTER SEQUENCE and DROP).  We then hold the
 * buffer's exclusive content lock from reading the tuple until the new state
 * is on the page and logged; that lock is what makes a run contiguous.
 * Nothing else is locked or waited for while it is held.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "access/xloginsert.h"
#include "catalog/pg_class.h"
#include "catalog/pg_sequence.h"
#include "commands/sequence.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "pg_compat.h"
#include "common/common.h"
#include "dispenser/seq_run.h"
#include SB_SEQUENCE_XLOG_H

/* Log-ahead: numbers per number of the run, runs counted up to this length. */
#define SEQ_AHEAD_PER_NUMBER	1024
#define SEQ_AHEAD_COUNT_CAP		100
/* ... and never more than this fraction of the range. */
#define SEQ_AHEAD_RANGE_DIVISOR	16

/* Every sequence page ends with this 4-byte marker in its special space. */
#define SEQ_PAGE_MARKER			0x1717

/* The shape of a dispenser's sequence, from pg_sequence. */
typedef struct DispenserShape
{
	bool		forward;		/* increment +1, else -1 */
	int64		first;			/* where a lap starts: min or max */
	int64		last;			/* where it ends: max or min */
	uint64		span;			/* R - 1 = max - min */
} DispenserShape;

/* The sequence's page, pinned and locked, and its state tuple. */
typedef struct SeqPageRef
{
	Buffer		buffer;
	Page		page;
	HeapTupleData tuple;		/* points into the page */
	Form_pg_sequence_data state;
} SeqPageRef;

/*
 * Fill *shape from pg_sequence; errors unless the sequence counts by 1 or
 * -1 and cycles, as sb_create_dispenser makes them.
 */
static void
load_shape(Relation rel, DispenserShape *shape)
{
	HeapTuple	tup;
	Form_pg_sequence seqform;
	int64		increment;
	bool		cycle;

	tup = SearchSysCache1(SEQRELID, ObjectIdGetDatum(RelationGetRelid(rel)));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "no pg_sequence row for relation %u", RelationGetRelid(rel));
	seqform = (Form_pg_sequence) GETSTRUCT(tup);
	increment = seqform->seqincrement;
	cycle = seqform->seqcycle;
	shape->forward = increment > 0;
	shape->first = shape->forward ? seqform->seqmin : seqform->seqmax;
	shape->last = shape->forward ? seqform->seqmax : seqform->seqmin;
	shape->span = (uint64) seqform->seqmax - (uint64) seqform->seqmin;
	ReleaseSysCache(tup);

	if ((increment != 1 && increment != -1) || !cycle)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("sequence \"%s\" is not shaped like a dispenser",
						RelationGetRelationName(rel)),
				 errdetail("A dispenser's sequence counts by 1 or -1 and cycles; this one has INCREMENT %lld and %s.",
						   (long long) increment, cycle ? "CYCLE" : "NO CYCLE")));
}

/* Offset of v from the start of the lap (0 .. span). */
static inline uint64
offset_of(const DispenserShape *shape, int64 v)
{
	return shape->forward ? (uint64) v - (uint64) shape->first
		: (uint64) shape->first - (uint64) v;
}

/* The number at offset off (0 .. span) from the start of the lap. */
static inline int64
value_at(const DispenserShape *shape, uint64 off)
{
	return (int64) (shape->forward ? (uint64) shape->first + off
					: (uint64) shape->first - off);
}

/* The number k steps after v round the circle; k <= span. */
static int64
steps_after(const DispenserShape *shape, int64 v, uint64 k)
{
	uint64		off = offset_of(shape, v);
	uint64		before_wrap = shape->span - off;

	if (k <= before_wrap)
		return value_at(shape, off + k);
	return value_at(shape, k - before_wrap - 1);
}

/* The number after v round the circle. */
static inline int64
next_after(const DispenserShape *shape, int64 v)
{
	if (v == shape->last)
		return shape->first;
	return shape->forward ? v + 1 : v - 1;
}

/* Whether count numbers fit in one lap (count <= R), overflow-safe. */
static inline bool
run_fits(const DispenserShape *shape, int count)
{
	return (uint64) (count - 1) <= shape->span;
}

/* How far past a run of count numbers to log (see the header). */
static uint64
log_ahead(const DispenserShape *shape, int count)
{
	uint64		by_count = (uint64) SEQ_AHEAD_PER_NUMBER *
		(uint64) Min(count, SEQ_AHEAD_COUNT_CAP);
	uint64		by_range = shape->span / SEQ_AHEAD_RANGE_DIVISOR;

	return Min(by_count, by_range);
}

/*
 * Pin block 0 of rel, lock it in mode and point ref at its state tuple.
 * The caller releases ref->buffer.
 */
static void
seq_page_lock(Relation rel, int mode, SeqPageRef *ref)
{
	ItemId		item;

	ref->buffer = ReadBuffer(rel, 0);
	LockBuffer(ref->buffer, mode);
	ref->page = BufferGetPage(ref->buffer);

	if (PageGetSpecialSize(ref->page) != MAXALIGN(sizeof(uint32)) ||
		*(uint32 *) PageGetSpecialPointer(ref->page) != SEQ_PAGE_MARKER ||
		PageGetMaxOffsetNumber(ref->page) < FirstOffsetNumber)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg_internal("page of sequence \"%s\" is not a sequence page",
								 RelationGetRelationName(rel))));
	item = PageGetItemId(ref->page, FirstOffsetNumber);
	if (!ItemIdIsNormal(item))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg_internal("sequence \"%s\" has no state tuple",
								 RelationGetRelationName(rel))));

	ref->tuple.t_data = (HeapTupleHeader) PageGetItem(ref->page, item);
	ref->tuple.t_len = ItemIdGetLength(item);
	ref->tuple.t_tableOid = RelationGetRelid(rel);
	ItemPointerSet(&ref->tuple.t_self, 0, FirstOffsetNumber);
	ref->state = (Form_pg_sequence_data) GETSTRUCT(&ref->tuple);
}

/* The number a call would hand out first, from the locked state. */
static inline int64
upcoming(const DispenserShape *shape, Form_pg_sequence_data state)
{
	return state->is_called ? next_after(shape, state->last_value)
		: state->last_value;
}

/*
 * Take count >= 1 consecutive numbers of the dispenser whose sequence is
 * seqoid into values[].  dispenser names it in messages.  The caller holds
 * RowExclusiveLock on the sequence and has checked privileges; must not run
 * in a read-only transaction or on a standby.  A count larger than the
 * range is refused (22023) before anything moves.
 */
void
sb_seq_take_run(Oid seqoid, const char *dispenser, int count, int64 *values)
{
	Relation	rel;
	DispenserShape shape;
	SeqPageRef	ref;
	int64		v;
	int64		run_end;
	bool		need_record;
	bool		wal;
	uint64		ahead = 0;
	char	   *image = NULL;
	XLogRecPtr	covered_by;

	Assert(count >= 1);

	rel = relation_open(seqoid, NoLock);
	if (rel->rd_rel->relkind != RELKIND_SEQUENCE)
		elog(ERROR, "relation \"%s\" of dispenser \"%s\" is not a sequence",
			 RelationGetRelationName(rel), dispenser);
	load_shape(rel, &shape);

	if (!run_fits(&shape, count))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("count must not exceed the size of the range of dispenser \"%s\"",
						dispenser),
				 errdetail("The count given was %d; the range %lld to %lld holds %llu numbers.",
						   count,
						   (long long) Min(shape.first, shape.last),
						   (long long) Max(shape.first, shape.last),
						   (unsigned long long) (shape.span + 1)),
				 errhint("Ask for at most %llu numbers in one call; every number of a batch is then different.",
						 (unsigned long long) (shape.span + 1))));

	wal = RelationNeedsWAL(rel);
	seq_page_lock(rel, BUFFER_LOCK_EXCLUSIVE, &ref);

	/* the run: contiguous round the circle, at most one lap long */
	v = upcoming(&shape, ref.state);
	for (int i = 0;; i++)
	{
		values[i] = v;
		if (i == count - 1)
			break;
		v = next_after(&shape, v);
	}
	run_end = v;

	need_record = wal &&
		(!ref.state->is_called ||
		 ref.state->log_cnt < count ||
		 PageGetLSN(ref.page) <= GetRedoRecPtr());

	if (need_record)
	{
		Form_pg_sequence_data logged;

		ahead = log_ahead(&shape, count);

		/*
		 * The image to log: the tuple as it will be once the ahead numbers
		 * are gone too.  Built outside the critical section (it allocates).
		 */
		image = palloc(ref.tuple.t_len);
		memcpy(image, ref.tuple.t_data, ref.tuple.t_len);
		logged = (Form_pg_sequence_data)
			(image + ((HeapTupleHeader) image)->t_hoff);
		logged->last_value = steps_after(&shape, run_end, ahead);
		logged->is_called = true;
		logged->log_cnt = 0;

		/*
		 * An xid makes our commit wait for synchronous standbys to have the
		 * record, as nextval's does.  Assign it before the critical section.
		 */
		(void) GetTopTransactionId();
	}

	START_CRIT_SECTION();

	ref.state->last_value = run_end;
	ref.state->is_called = true;
	if (need_record)
		ref.state->log_cnt = (int64) ahead;
	else if (wal)
		ref.state->log_cnt -= count;
	else
		ref.state->log_cnt = 0;
	MarkBufferDirty(ref.buffer);

	if (need_record)
	{
		xl_seq_rec	rec;
		XLogRecPtr	lsn;

		sb_seq_rec_set_rel(&rec, rel);
		XLogBeginInsert();
		/* redo rebuilds the page from the tuple: no full-page image needed */
		XLogRegisterBuffer(0, ref.buffer, REGBUF_WILL_INIT);
		XLogRegisterData((char *) &rec, sizeof(rec));
		XLogRegisterData(image, ref.tuple.t_len);
		lsn = XLogInsert(RM_SEQ_ID, XLOG_SEQ_LOG);
		PageSetLSN(ref.page, lsn);
	}

	END_CRIT_SECTION();

	covered_by = wal ? PageGetLSN(ref.page) : InvalidXLogRecPtr;
	UnlockReleaseBuffer(ref.buffer);
	relation_close(rel, NoLock);
	if (image)
		pfree(image);

	/* Whoever wrote the covering record, it must be on disk before we answer. */
	if (!XLogRecPtrIsInvalid(covered_by))
		XLogFlush(covered_by);
}

/*
 * The number the dispenser whose sequence is seqoid hands out next, read
 * without changing anything.  The caller has checked privileges.
 */
int64
sb_seq_peek_next(Oid seqoid)
{
	Relation	rel;
	DispenserShape shape;
	SeqPageRef	ref;
	int64		next;

	rel = relation_open(seqoid, AccessShareLock);
	if (rel->rd_rel->relkind != RELKIND_SEQUENCE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a sequence", RelationGetRelationName(rel))));
	load_shape(rel, &shape);
	seq_page_lock(rel, BUFFER_LOCK_SHARE, &ref);
	next = upcoming(&shape, ref.state);
	UnlockReleaseBuffer(ref.buffer);
	relation_close(rel, NoLock);
	return next;
}
